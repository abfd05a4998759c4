"""The staff side: daily totals by procedure and method, mismatches, the CSV export for
the accounting system, refunds (還付), receipts, and who may see what."""

from __future__ import annotations

import csv
import io
import subprocess
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.payments import services
from madoguchi.payments.models import Fee, Payment, Refund, Status
from tests.conftest import login

from .helpers import fill_certificate, return_path, session_id_of, start_payment
from .test_offline_and_review import submitted_certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def day_of_payments(certificate, stripe, hanako_client, taro_client, shimin_staff):
    """One card payment (paid before review) and one at the counter, both today."""
    application_id = fill_certificate(hanako_client)
    _status, location = stripe.pay(session_id_of(start_payment(hanako_client, application_id)))
    hanako_client.get(return_path(location))
    counter_application = submitted_certificate(taro_client)
    services.record_counter_payment(application=counter_application, staff=shimin_staff, amount=600)
    return Payment.objects.order_by("created_at")


def test_daily_totals_by_procedure_and_method(day_of_payments, shimin_staff):
    client = login(shimin_staff)
    response = client.get(reverse("payments_staff:home"))
    assert response.status_code == 200
    totals = response.context["totals"]
    assert {
        (row["identifier"], row["method_code"], row["count"], row["amount"]) for row in totals.rows
    } == {
        ("tax-certificate", "card", 1, 600),
        ("tax-certificate", "counter", 1, 600),
    }
    assert totals.total == 1200
    assert "1,200円" in response.content.decode()
    other_day = client.get(reverse("payments_staff:home") + "?day=2020-01-06")
    assert other_day.context["totals"].total == 0
    bad = client.get(reverse("payments_staff:home") + "?day=12月1日")
    assert bad.status_code == 200 and "日付は 2026-12-01 の形式で" in bad.content.decode()


def test_csv_export_for_the_accounting_system(day_of_payments, shimin_staff):
    client = login(shimin_staff)
    today = timezone.localdate().isoformat()
    response = client.get(reverse("payments_staff:export") + f"?from={today}&to={today}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["収納日", "団体コード", "歳入科目コード"]
    body = rows[1:]
    assert len(body) == 2
    assert {row[8] for row in body} == {"クレジットカード等", "窓口で支払う"}
    assert all(row[2] == "14-01-01" and row[10] == "600" for row in body)
    assert all(row[7].startswith("R") for row in body)  # 領収書番号


def test_the_export_neutralises_formulas_and_refuses_bad_ranges(shimin_staff, sample):
    from madoguchi.core.csvsafe import safe_cell as _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("-1") == "'-1"
    assert _cell("所得証明書") == "所得証明書"
    client = login(shimin_staff)
    for query in (
        "?from=2026-12-02&to=2026-12-01",
        "?from=x&to=y",
        "?from=2020-01-01&to=2026-01-01",
    ):
        response = client.get(reverse("payments_staff:export") + query, follow=True)
        assert "出力する期間を" in response.content.decode()


def test_mismatches_are_flagged_for_staff(
    certificate, stripe, hanako_client, shimin_staff, bank_settings
):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    _status, location = stripe.pay(session_id)
    stripe.tamper_amount(stripe.sessions[session_id]["payment_intent"], 1)
    hanako_client.get(return_path(location))
    import datetime as dt

    services.record_bank_statement(
        body=bank_settings,
        staff=shimin_staff,
        lines=[services.StatementLine(dt.date(2026, 12, 1), 3000, "ダレカ ワカラナイ")],
    )
    client = login(shimin_staff)
    page = client.get(reverse("payments_staff:home"))
    kinds = {item.kind for item in page.context["mismatches"]}
    assert {"amount_mismatch", "bank_unmatched"} <= kinds
    text = page.content.decode()
    assert "決済サービスの金額が手数料と一致しない" in text
    assert "該当する納付番号のない振込" in text


def test_a_full_and_a_partial_refund_at_the_provider(
    day_of_payments, stripe, shimin_staff, django_capture_on_commit_callbacks
):
    card = day_of_payments.get(method="card")
    client = login(shimin_staff)
    url = reverse("payments_staff:fee", args=[card.fee.application_id])
    too_much = client.post(
        url, {"action": "refund", "payment": card.pk, "amount": "700", "reason": "誤って二通分"}
    )
    assert too_much.status_code == 422
    text = too_much.content.decode()
    assert "還付額は1円以上600円以下で" in text and "誤って二通分" in text  # kept as typed
    # The refund is sent to the provider once the staff's transaction has committed.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url,
            {"action": "refund", "payment": card.pk, "amount": "300", "reason": "一通分の取消し"},
        )
    card.refresh_from_db()
    assert card.status == Status.PARTIALLY_REFUNDED and card.refunded_amount == 300
    (refund,) = stripe.refunds.values()
    assert refund["amount"] == 300 and refund["payment_intent"] == card.provider_payment_id
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url, {"action": "refund", "payment": card.pk, "amount": "300", "reason": "残り"}
        )
    card.refresh_from_db()
    assert card.status == Status.REFUNDED and card.refunded_amount == 600
    assert len(stripe.refunds) == 2
    # Sending a refund again (a retry) does not refund twice.
    for refund in Refund.objects.all():
        services.send_refund(refund=refund)
    assert len(stripe.refunds) == 2
    assert Fee.objects.get(pk=card.fee_id).state == Fee.State.REFUNDED


def test_a_refund_left_pending_by_a_provider_timeout_is_sent_by_the_reconciliation(
    day_of_payments, stripe, shimin_staff, django_capture_on_commit_callbacks
):
    card = day_of_payments.get(method="card")
    stripe.fail_next(503)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_refund(payment=card, staff=shimin_staff, amount=600, reason="取下げ")
    assert Refund.objects.get().status == Refund.Status.PENDING
    services.reconcile()
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    card.refresh_from_db()
    assert card.status == Status.REFUNDED and len(stripe.refunds) == 1


def test_a_refund_of_a_counter_payment_is_completed_by_staff(day_of_payments, shimin_staff):
    counter = day_of_payments.get(method="counter")
    client = login(shimin_staff)
    url = reverse("payments_staff:fee", args=[counter.fee.application_id])
    client.post(
        url,
        {"action": "refund", "payment": counter.pk, "amount": "600", "reason": "取下げによる還付"},
    )
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING
    counter.refresh_from_db()
    assert counter.status == Status.PAID
    client.post(url, {"action": "refund_done", "payment": counter.pk, "refund": refund.pk})
    counter.refresh_from_db()
    assert counter.status == Status.REFUNDED
    day = client.get(reverse("payments_staff:home")).context["totals"]
    assert day.refunded == 600


def test_staff_record_a_counter_payment_from_the_page(
    certificate, no_card, hanako_client, shimin_staff
):
    application = submitted_certificate(hanako_client)
    client = login(shimin_staff)
    found = client.get(reverse("payments_staff:home") + f"?q={application.receipt_number}")
    assert reverse("payments_staff:fee", args=[application.pk]) in found.content.decode()
    url = reverse("payments_staff:fee", args=[application.pk])
    wrong = client.post(url, {"action": "record", "method": "counter", "amount": "６００円以上"})
    assert wrong.status_code == 422 and "金額は半角または全角の数字" in wrong.content.decode()
    ok = client.post(url, {"action": "record", "method": "counter", "amount": "６００"})
    assert ok.status_code == 302
    payment = Payment.objects.get()
    assert payment.status == Status.PAID
    pdf = client.get(reverse("payments_staff:receipt", args=[payment.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_receipt_pdf_embeds_the_fonts(day_of_payments, hanako_client, tmp_path):
    card = day_of_payments.get(method="card")
    response = hanako_client.get(reverse("payments:receipt", args=[card.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    path = tmp_path / "receipt.pdf"
    path.write_bytes(response.content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    # The issuance renderer's fonts (BIZ UDゴシック by file path), embedded as subsets.
    embedded = [line for line in fonts.stdout.splitlines() if "madoguchi-gothic" in line]
    assert embedded and all("TrueType" in line and " yes yes " in line for line in embedded)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "領 収 書" in text and "¥600" in text and card.receipt.number in text
    assert "あおば市長" in text


def test_units_and_residents_see_only_their_own(day_of_payments, kankyo_staff, taro_client):
    card = day_of_payments.get(method="card")
    other_unit = login(kankyo_staff)
    assert (
        other_unit.get(reverse("payments_staff:fee", args=[card.fee.application_id])).status_code
        == 404
    )
    assert other_unit.get(reverse("payments_staff:receipt", args=[card.pk])).status_code == 404
    assert other_unit.get(reverse("payments_staff:home")).context["totals"].total == 0
    today = timezone.localdate().isoformat()
    export = other_unit.get(reverse("payments_staff:export") + f"?from={today}&to={today}")
    assert len(b"".join(export.streaming_content).decode("utf-8-sig").splitlines()) == 1
    # Taro paid at the counter; Hanako's card payment is not his.
    assert taro_client.get(reverse("payments:receipt", args=[card.pk])).status_code == 404
    assert taro_client.get(reverse("payments:detail", args=[card.pk])).status_code == 404
    mine = taro_client.get(reverse("payments:mine"))
    assert [p.method for p in mine.context["payments"]] == ["counter"]


def test_residents_are_not_staff(day_of_payments, hanako_client):
    assert hanako_client.get(reverse("payments_staff:home")).status_code == 404
    assert hanako_client.get(reverse("payments_staff:bank")).status_code == 404


def test_bank_statement_upload_page(
    certificate, no_card, hanako_client, shimin_staff, bank_settings
):
    application = submitted_certificate(hanako_client)
    payment = services.start_payment(
        application=application,
        actor=application.applicant,
        method="bank_transfer",
        idempotency_key=uuid.uuid4(),
    )
    client = login(shimin_staff)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("meisai.csv", "入金日,金額\n".encode("cp932"), "text/csv")
    response = client.post(reverse("payments_staff:bank"), {"body": "992011", "statement": bad})
    assert response.status_code == 422 and "振込依頼人名" in response.content.decode()
    good = SimpleUploadedFile(
        "meisai.csv",
        f"入金日,金額,振込依頼人名\n2026-12-01,600,{payment.reference_number} ヤマダハナコ\n".encode(
            "cp932"
        ),
        "text/csv",
    )
    response = client.post(
        reverse("payments_staff:bank"), {"body": "992011", "statement": good}, follow=True
    )
    assert "消込 1件" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == Status.PAID
    by_hand = client.post(
        reverse("payments_staff:bank"),
        {"body": "992011", "received_on": "2026-12-01", "amount": "abc", "payer": "X"},
    )
    assert by_hand.status_code == 422 and 'value="abc"' in by_hand.content.decode()


def test_an_approver_sees_the_fee_but_cannot_record_or_refund(
    day_of_payments, certificate, no_card, hanako_client
):
    from madoguchi.identity.models import User

    approver = login(User.objects.get(email="shimin.kacho@aoba.example.jp"))
    counter_payment = day_of_payments.get(method="counter")
    url = reverse("payments_staff:fee", args=[counter_payment.fee.application_id])
    assert approver.get(url).status_code == 200
    refused = approver.post(
        url, {"action": "refund", "payment": counter_payment.pk, "amount": "600", "reason": "x"}
    )
    assert refused.status_code == 403 and "この操作の権限がありません" in refused.content.decode()
    assert not Refund.objects.exists()


def test_a_correction_that_changes_the_fee_after_payment_is_flagged(
    certificate, no_card, hanako_client, shimin_staff
):
    from madoguchi.counter import services as counter_services

    application = submitted_certificate(hanako_client)
    services.record_counter_payment(application=application, staff=shimin_staff, amount=600)
    counter_services.staff_transition(
        application=application, staff=shimin_staff, name="start_review"
    )
    counter_services.request_correction(
        application=application,
        staff=shimin_staff,
        field_ids=["copies"],
        message="通数をご確認ください。",
        reply_by=None,
    )
    response = hanako_client.post(
        reverse("counter:correction", args=[application.pk]),
        {"action": "continue", "f-copies": "3"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.fee_amount == 900
    page = login(shimin_staff).get(reverse("payments_staff:home"))
    changed = [m for m in page.context["mismatches"] if m.kind == "fee_changed"]
    assert len(changed) == 1 and changed[0].detail == "600円 / 900円"


def test_downloading_a_receipt_is_an_access_the_payer_sees(
    day_of_payments, hanako, hanako_client, shimin_staff, kankyo_staff
):
    from madoguchi.ledger.models import AccessLog

    card = day_of_payments.get(method="card")
    assert (
        login(kankyo_staff).get(reverse("payments_staff:receipt", args=[card.pk])).status_code
        == 404
    )
    assert not AccessLog.objects.exists()
    pdf = login(shimin_staff).get(reverse("payments_staff:receipt", args=[card.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    log = AccessLog.objects.get()
    assert (log.actor, log.subject_user, log.unit, log.what, log.purpose) == (
        shimin_staff,
        hanako,
        card.fee.unit,
        "document",
        "issuance",
    )
    assert (log.object_type, log.object_id) == ("receipt", str(card.receipt.pk))
    assert (log.event.event_type, log.event.subject_id) == ("access.logged", str(hanako.pk))
    mine = hanako_client.get(reverse("access_log:mine")).content.decode()
    assert "交付文書" in mine and "交付のため" in mine
