"""Paying at the counter or by bank transfer after submission; the fee gating the review;
waivers, exemptions and drafts with payments."""

from __future__ import annotations

import pytest
from django.urls import reverse

from madoguchi.counter import services as counter_services
from madoguchi.counter.models import Application, State
from madoguchi.ledger.models import Event
from madoguchi.payments import services
from madoguchi.payments.models import BankReceipt, Fee, Payment, Receipt, Status

from .definitions import PAGES
from .helpers import fill_certificate, form_key, session_id_of, start_payment

pytestmark = pytest.mark.django_db


def submitted_certificate(client, pages=None) -> Application:
    from tests.counter.helpers import submit

    application_id = fill_certificate(client, pages)
    submit(client, application_id)
    return Application.objects.get(pk=application_id)


def test_submit_now_pay_by_transfer_later(certificate, no_card, hanako_client):
    application_id = fill_certificate(hanako_client)
    page = hanako_client.get(reverse("counter:check", args=[application_id])).content.decode()
    # Without a card provider the resident submits and pays afterwards.
    assert "この内容で申請する" in page and "を支払って申請する" not in page
    from tests.counter.helpers import submit

    submit(hanako_client, application_id)
    application = Application.objects.get(pk=application_id)
    done = hanako_client.get(reverse("counter:done", args=[application.pk]))
    text = done.content.decode()
    assert "手数料の納付を確認してから審査を始めます" in text
    assert "銀行振込で支払う（振込先を表示）" in text and "窓口で支払う" in text
    response = start_payment(hanako_client, application.pk, "bank_transfer", key=form_key(done))
    payment = Payment.objects.get(fee__application=application)
    assert response["Location"] == reverse("payments:detail", args=[payment.pk])
    detail = hanako_client.get(response["Location"]).content.decode()
    assert services.is_valid_reference_number(payment.reference_number)
    assert payment.reference_number in detail and "あおば銀行 本店 普通 1234567" in detail
    assert payment.status == Status.PENDING and payment.method == "bank_transfer"


def test_the_review_waits_for_the_fee_and_starts_once_paid(
    certificate, no_card, hanako_client, shimin_staff
):
    application = submitted_certificate(hanako_client)
    with pytest.raises(services.PaymentRequired) as refused:
        counter_services.staff_transition(
            application=application, staff=shimin_staff, name="start_review"
        )
    assert "手数料の納付が確認できていない" in refused.value.ja
    assert Application.objects.get(pk=application.pk).state == State.SUBMITTED
    payment = services.record_counter_payment(
        application=application, staff=shimin_staff, amount=600
    )
    assert payment.status == Status.PAID and payment.recorded_by == shimin_staff
    counter_services.staff_transition(
        application=application, staff=shimin_staff, name="start_review"
    )
    assert Application.objects.get(pk=application.pk).state == State.UNDER_REVIEW


def test_a_fee_due_before_issuance_does_not_hold_the_review(
    certificate_before_issuance, hanako_client, shimin_staff
):
    application = submitted_certificate(hanako_client)
    counter_services.staff_transition(
        application=application, staff=shimin_staff, name="start_review"
    )
    assert Application.objects.get(pk=application.pk).state == State.UNDER_REVIEW
    assert not services.issuance_allowed(application)


def test_staff_must_record_the_exact_fee(certificate, no_card, hanako_client, shimin_staff):
    application = submitted_certificate(hanako_client)
    with pytest.raises(services.PaymentError) as wrong:
        services.record_counter_payment(application=application, staff=shimin_staff, amount=500)
    assert "一致しません" in wrong.value.ja
    assert not Payment.objects.filter(status=Status.PAID).exists()
    first = services.record_counter_payment(application=application, staff=shimin_staff, amount=600)
    with pytest.raises(services.PaymentError):
        services.record_counter_payment(application=application, staff=shimin_staff, amount=600)
    assert Payment.objects.filter(status=Status.PAID).count() == 1
    assert Receipt.objects.get(payment=first).number.endswith("-000001")


def test_receipt_numbers_are_consecutive_per_body(
    certificate, no_card, hanako_client, taro_client, shimin_staff
):
    numbers = []
    for client in (hanako_client, taro_client):
        application = submitted_certificate(client, PAGES)
        payment = services.record_counter_payment(
            application=application, staff=shimin_staff, amount=600
        )
        numbers.append(payment.receipt.number[-6:])
    assert numbers == ["000001", "000002"]


STATEMENT = "入金日,金額,振込依頼人名,取引番号\n{lines}"


def test_a_bank_statement_is_matched_by_reference_number(
    certificate, no_card, hanako_client, shimin_staff, bank_settings
):
    application = submitted_certificate(hanako_client)
    payment = services.start_payment(
        application=application,
        actor=application.applicant,
        method="bank_transfer",
        idempotency_key=__import__("uuid").uuid4(),
    )
    reference = payment.reference_number
    # Full-width digits as banks print them, with the payer's name after the number.
    wide = reference.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    csv_text = STATEMENT.format(
        lines=f"2026/12/1,600,{wide} ヤマダ ハナコ,T0001\n2026-12-01,4000,サトウ タロウ,T0002\n"
    )
    lines = services.parse_statement(csv_text.encode("cp932"))
    report = services.record_bank_statement(body=bank_settings, staff=shimin_staff, lines=lines)
    assert len(report.matched) == 1 and len(report.flagged) == 1
    payment.refresh_from_db()
    assert payment.status == Status.PAID and str(payment.paid_on) == "2026-12-01"
    assert Fee.objects.get(application=application).state == Fee.State.PAID
    assert BankReceipt.objects.get(transaction_number="T0002").match == "unmatched"
    # The same statement imported again records nothing twice.
    again = services.record_bank_statement(body=bank_settings, staff=shimin_staff, lines=lines)
    assert again.duplicates == 2 and not again.matched and not again.flagged
    assert BankReceipt.objects.count() == 2


def test_a_transfer_of_another_amount_is_flagged_not_booked(
    certificate, no_card, hanako_client, shimin_staff, bank_settings
):
    import uuid

    application = submitted_certificate(hanako_client)
    payment = services.start_payment(
        application=application,
        actor=application.applicant,
        method="bank_transfer",
        idempotency_key=uuid.uuid4(),
    )
    lines = [
        services.StatementLine(
            __import__("datetime").date(2026, 12, 1),
            500,
            f"{payment.reference_number} ヤマダハナコ",
        )
    ]
    report = services.record_bank_statement(body=bank_settings, staff=shimin_staff, lines=lines)
    assert report.flagged[0].match == "amount_mismatch"
    payment.refresh_from_db()
    assert payment.status == Status.PENDING and payment.attention == "amount_mismatch"


@pytest.mark.parametrize(
    ("text", "row", "ja"),
    [
        ("入金日,金額\n2026-12-01,600\n", 1, "見出しに「振込依頼人名」がありません。"),
        (
            "入金日,金額,振込依頼人名\n12月1日,600,ヤマダ\n",
            2,
            "入金日は 2026-12-01 の形式で書いてください。",
        ),
        (
            "入金日,金額,振込依頼人名\n2026-12-01,-600,ヤマダ\n",
            2,
            "金額は正の整数（円）で書いてください。",
        ),
        (
            "入金日,金額,振込依頼人名\n2026-12-01,600,ヤマダ\n2026-12-01,600,\n",
            3,
            "振込依頼人名がありません。",
        ),
    ],
)
def test_a_bad_statement_names_the_row_and_imports_nothing(text, row, ja, db):
    with pytest.raises(services.StatementError) as refused:
        services.parse_statement(text.encode())
    assert refused.value.problems[0][:2] == (row, ja)
    assert not BankReceipt.objects.exists()


def test_a_waiver_settles_the_fee_with_its_reason(
    certificate, no_card, hanako_client, shimin_staff
):
    application = submitted_certificate(hanako_client)
    with pytest.raises(services.PaymentError):
        services.waive_fee(application=application, staff=shimin_staff, reason="  ")
    fee = services.waive_fee(
        application=application, staff=shimin_staff, reason="災害による減免（条例第5条第4号）"
    )
    assert fee.state == Fee.State.WAIVED and services.settled(application)
    assert Event.objects.filter(event_type="fee.waived").count() == 1
    counter_services.staff_transition(
        application=application, staff=shimin_staff, name="start_review"
    )


def test_an_exemption_is_the_zero_fee_path(certificate, stripe, hanako_client, shimin_staff):
    pages = {**PAGES, "reductions": {**PAGES["reductions"], "f-welfare": "yes"}}
    application_id = fill_certificate(hanako_client, pages)
    page = hanako_client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert "生活保護の受給者" in page and "あおば市手数料条例第5条第1号" in page
    assert "お支払いは不要です" in page and "この内容で申請する" in page
    from tests.counter.helpers import submit

    submit(hanako_client, application_id)
    application = Application.objects.get(pk=application_id)
    assert application.fee_amount == 0
    counter_services.staff_transition(
        application=application, staff=shimin_staff, name="start_review"
    )
    assert not Payment.objects.exists() and not stripe.requests


def test_a_draft_with_a_payment_in_progress_is_not_discarded(certificate, stripe, hanako_client):
    application_id = fill_certificate(hanako_client)
    session_id_of(start_payment(hanako_client, application_id))
    response = hanako_client.post(reverse("counter:discard", args=[application_id]), follow=True)
    assert "お支払いの手続中のため" in response.content.decode()
    assert Application.objects.filter(pk=application_id).exists()
    payment = Payment.objects.get()
    hanako_client.post(reverse("payments:cancel", args=[payment.pk]))
    hanako_client.post(reverse("counter:discard", args=[application_id]))
    assert not Application.objects.filter(pk=application_id).exists()


def test_switching_from_transfer_to_the_counter_replaces_the_pending_payment(
    certificate, no_card, hanako_client
):
    import uuid

    application = submitted_certificate(hanako_client)
    first = services.start_payment(
        application=application,
        actor=application.applicant,
        method="bank_transfer",
        idempotency_key=uuid.uuid4(),
    )
    second = services.start_payment(
        application=application,
        actor=application.applicant,
        method="counter",
        idempotency_key=uuid.uuid4(),
    )
    first.refresh_from_db()
    assert first.status == Status.CANCELLED and second.status == Status.PENDING
    assert Payment.objects.filter(status=Status.PENDING).count() == 1


def test_a_paid_fee_is_not_paid_again(certificate, stripe, hanako_client, shimin_staff):
    application = submitted_certificate(hanako_client)
    services.record_counter_payment(application=application, staff=shimin_staff, amount=600)
    response = start_payment(hanako_client, application.pk, "card")
    page = hanako_client.get(response["Location"]).content.decode()
    assert "手数料は納付済みです" in page
    assert not stripe.requests


@pytest.fixture
def certificate_pdf_before_issuance(sample, bank_settings, tmp_path):
    """The certificate issued as a signed PDF, its fee due before issuance, decided
    directly (no approval route)."""
    from madoguchi.catalogue.selectors import procedure_by_identifier

    from .conftest import load_procedure
    from .definitions import CERTIFICATE_YAML, with_payment

    text = with_payment(CERTIFICATE_YAML, timing="before_issuance", methods=["counter"])
    text += "deliverable:\n  kind: pdf\n  name: 所得証明書\n  template: certificate\n"
    load_procedure(tmp_path, text)
    return procedure_by_identifier("992011", "tax-certificate")


@pytest.fixture
def shimin_kacho(sample):
    from madoguchi.identity.models import User

    return User.objects.get(email="shimin.kacho@aoba.example.jp")


def _approve(application, case_worker, approver) -> None:
    from madoguchi.backoffice import services as backoffice

    counter_services.staff_transition(
        application=application, staff=case_worker, name="start_review"
    )
    application.refresh_from_db()
    backoffice.decide(application=application, staff=approver, outcome="approve")


def test_a_document_due_after_the_fee_is_issued_once_it_is_paid(
    certificate_pdf_before_issuance,
    hanako_client,
    shimin_staff,
    shimin_kacho,
    django_capture_on_commit_callbacks,
):
    from madoguchi.issuance.models import DocumentState, IssuedDocument

    application = submitted_certificate(hanako_client)
    with django_capture_on_commit_callbacks(execute=True):
        _approve(application, shimin_staff, shimin_kacho)
    application.refresh_from_db()
    assert application.state == State.APPROVED
    # Approved, the fee not paid: nothing is issued, and the ledger says why.
    assert not IssuedDocument.objects.filter(application=application).exists()
    deferred = Event.objects.get(event_type="document.deferred", subject_id=str(application.pk))
    assert deferred.details == {"reason": "fee_unpaid"}

    with django_capture_on_commit_callbacks(execute=True):
        services.record_counter_payment(application=application, staff=shimin_staff, amount=600)
    document = IssuedDocument.objects.get(application=application)
    assert document.state == DocumentState.ISSUED, document.last_error

    # A second settlement-like event issues nothing more.
    from madoguchi.issuance import services as issuance

    with django_capture_on_commit_callbacks(execute=True):
        issuance.issue_when_settled(Application.objects.get(pk=application.pk))
    assert IssuedDocument.objects.filter(application=application).count() == 1


def test_the_sweep_issues_a_paid_document_whose_scheduling_was_lost(
    certificate_pdf_before_issuance, hanako_client, shimin_staff, shimin_kacho
):
    from madoguchi.issuance import services as issuance
    from madoguchi.issuance.models import DocumentState, IssuedDocument

    application = submitted_certificate(hanako_client)
    _approve(application, shimin_staff, shimin_kacho)
    # The on-commit callbacks are not run here: as if the process died after the payment.
    services.record_counter_payment(application=application, staff=shimin_staff, amount=600)
    assert not IssuedDocument.objects.filter(application=application).exists()
    results = issuance.issue_pending()
    assert results.get("scheduled") == 1
    document = IssuedDocument.objects.get(application=application)
    assert document.state == DocumentState.ISSUED, document.last_error
