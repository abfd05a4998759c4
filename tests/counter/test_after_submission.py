"""After submission: withdrawal (取下げ), discarding drafts, messages, and the 補正 cycle."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from madoguchi.counter import services
from madoguchi.counter.models import Application, CorrectionRequest, Message, State
from madoguchi.ledger.models import Event
from madoguchi.notifications.models import OutboundEmail

from ..conftest import login
from .helpers import (
    application_id_from,
    fill_dog_registration,
    fill_parking,
    form_values,
    start,
    submit,
)
from .uploads import pdf, png, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(hanako_client, django_capture_on_commit_callbacks):
    application_id = fill_dog_registration(hanako_client)
    with django_capture_on_commit_callbacks(execute=True):
        submit(hanako_client, application_id)
    mail.outbox.clear()
    return application_id


def _messages_of(response) -> str:
    return response.content.decode()


# --- 取下げ --------------------------------------------------------------------------------


def test_withdrawal(hanako_client, submitted, kankyo_staff):
    detail = hanako_client.get(reverse("counter:detail", args=[submitted])).content.decode()
    withdraw_url = reverse("counter:withdraw", args=[submitted])
    assert withdraw_url in detail
    page = hanako_client.get(withdraw_url)
    assert page.status_code == 200 and "この申請を取り下げますか" in page.content.decode()
    response = hanako_client.post(withdraw_url, {"reason": "引っ越しのため"})
    assert response.status_code == 302
    shown = hanako_client.get(response["Location"]).content.decode()
    assert "申請を取り下げました。" in shown and "取下げ" in shown
    application = Application.objects.get(pk=submitted)
    assert application.state == State.WITHDRAWN and application.withdrawn_at is not None
    assert Message.objects.get(application=application).body == "取下げの理由: 引っ越しのため"
    assert (
        Event.objects.filter(event_type="application.withdrawn", subject_id=submitted).count() == 1
    )
    assert withdraw_url not in shown  # no second withdrawal offered
    again = hanako_client.get(withdraw_url)
    assert again.status_code == 302
    assert "この申請は取り下げられません。" in hanako_client.get(again["Location"]).content.decode()
    # Sending the form twice changes nothing more.
    hanako_client.post(withdraw_url, {"reason": "二度目"})
    assert Event.objects.filter(event_type="application.withdrawn").count() == 1
    # Staff can no longer act on it.
    staff = login(kankyo_staff)
    response = staff.post(reverse("backoffice:act", args=[submitted]), {"action": "start_review"})
    assert response.status_code == 409
    assert "この状態の申請にはこの操作はできません。" in response.content.decode()
    assert Application.objects.get(pk=submitted).state == State.WITHDRAWN


def test_a_decided_application_cannot_be_withdrawn(hanako, hanako_client, submitted, kankyo_staff):
    application = Application.objects.get(pk=submitted)
    services.staff_transition(application=application, staff=kankyo_staff, name="start_review")
    services.staff_transition(application=application, staff=kankyo_staff, name="approve")
    response = hanako_client.post(reverse("counter:withdraw", args=[submitted]), {"reason": "x"})
    assert response.status_code == 302
    shown = hanako_client.get(response["Location"]).content.decode()
    assert "この申請は既に処理が終わっているため取り下げられません。" in shown
    assert Application.objects.get(pk=submitted).state == State.APPROVED


def test_withdrawing_a_draft_is_refused(hanako_client):
    draft = application_id_from(start(hanako_client, "992011", "dog-registration"))
    response = hanako_client.post(reverse("counter:withdraw", args=[draft]), {"reason": "x"})
    assert response.status_code == 302
    assert Application.objects.get(pk=draft).state == State.DRAFT


# --- 下書きの削除 ------------------------------------------------------------------------------


def test_discarding_a_draft(hanako_client, submitted):
    draft = application_id_from(start(hanako_client, "992011", "dog-registration"))
    listing = hanako_client.get(reverse("counter:my_applications")).content.decode()
    assert reverse("counter:discard", args=[draft]) in listing
    response = hanako_client.post(reverse("counter:discard", args=[draft]))
    assert response["Location"] == reverse("counter:my_applications")
    assert "下書きを削除しました。" in hanako_client.get(response["Location"]).content.decode()
    assert not Application.objects.filter(pk=draft).exists()
    assert hanako_client.get(reverse("counter:page", args=[draft, "owner"])).status_code == 404
    # A submitted application is not a draft: refused, kept.
    response = hanako_client.post(reverse("counter:discard", args=[submitted]))
    assert "下書きだけを削除できます。" in hanako_client.get(response["Location"]).content.decode()
    assert Application.objects.filter(pk=submitted, state=State.SUBMITTED).exists()
    assert hanako_client.get(reverse("counter:discard", args=[draft])).status_code == 405


# --- メッセージ ----------------------------------------------------------------------------------


def test_messages_between_resident_and_staff(
    hanako_client, submitted, kankyo_staff, django_capture_on_commit_callbacks
):
    url = reverse("counter:post_message", args=[submitted])
    response = hanako_client.post(url, {"body": "鑑札はいつ届きますか。"})
    assert response["Location"] == reverse("counter:detail", args=[submitted]) + "#messages"
    detail = hanako_client.get(response["Location"]).content.decode()
    assert "メッセージを送信しました。" in detail and "鑑札はいつ届きますか。" in detail

    staff = login(kankyo_staff)
    staff_detail = staff.get(reverse("backoffice:detail", args=[submitted])).content.decode()
    assert "鑑札はいつ届きますか。" in staff_detail
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            reverse("backoffice:post_message", args=[submitted]),
            {"body": "来週発送します。"},
        )
    detail = hanako_client.get(reverse("counter:detail", args=[submitted])).content.decode()
    assert "来週発送します。" in detail and "担当課から" in detail
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["hanako@example.jp"]
    assert "来週発送します。" not in mail.outbox[0].body  # the text stays on the site
    assert OutboundEmail.objects.filter(template="message_from_staff").count() == 1
    assert [m.from_staff for m in Message.objects.order_by("created_at")] == [False, True]


def test_a_message_that_cannot_be_sent_is_not_lost(hanako_client, submitted):
    url = reverse("counter:post_message", args=[submitted])
    response = hanako_client.post(url, {"body": "   "})
    assert (
        "メッセージを入力してください。" in hanako_client.get(response["Location"]).content.decode()
    )
    long_text = "あ" * 4001
    response = hanako_client.post(url, {"body": long_text})
    page = hanako_client.get(response["Location"])
    assert "メッセージは4000文字以内で入力してください。" in page.content.decode()
    assert form_values(page)["body"] == long_text[:4000]
    response = hanako_client.post(url, {"body": "制御\x00文字"})
    page = hanako_client.get(response["Location"])
    assert "使用できない制御文字が含まれています。" in page.content.decode()
    assert not Message.objects.exists()


def test_no_messages_on_a_draft(hanako_client):
    draft = application_id_from(start(hanako_client, "992011", "dog-registration"))
    hanako_client.post(reverse("counter:post_message", args=[draft]), {"body": "もしもし"})
    assert not Message.objects.exists()


# --- 補正 -----------------------------------------------------------------------------------------


def test_correction_cycle(
    hanako_client, submitted, kankyo_staff, django_capture_on_commit_callbacks
):
    staff = login(kankyo_staff)
    staff.post(reverse("backoffice:act", args=[submitted]), {"action": "start_review"})
    reply_by = timezone.localdate() + dt.timedelta(days=14)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("backoffice:request_correction", args=[submitted]),
            {
                "fields": ["vaccinated", "dog_name"],
                "message": "接種済みの場合は接種日と病院もご入力ください。",
                "reply_by": reply_by.isoformat(),
            },
        )
    assert "補正を依頼しました。" in staff.get(response["Location"]).content.decode()
    application = Application.objects.get(pk=submitted)
    assert application.state == State.CORRECTION_REQUESTED
    assert len(mail.outbox) == 1 and "補正" in mail.outbox[0].subject

    detail = hanako_client.get(reverse("counter:detail", args=[submitted])).content.decode()
    assert "補正のお願い" in detail and "接種済みの場合は接種日と病院もご入力ください。" in detail
    correction_url = reverse("counter:correction", args=[submitted])
    assert correction_url in detail
    # A page of the application leads to the correction, not to editing everything.
    page = hanako_client.get(reverse("counter:page", args=[submitted, "owner"]))
    assert page["Location"] == correction_url

    form = hanako_client.get(correction_url)
    assert form.status_code == 200
    values = form_values(form)
    # The named fields, and those that depend on them (接種日・病院), nothing else.
    assert values["f-vaccinated"] == "no" and values["f-dog_name"] == "ポチ"
    assert "f-vaccination_date-year" in values and "f-vaccination_clinic" in values
    for other in ("f-owner_phone", "f-breed", "f-delivery", "f-owner_name-family"):
        assert other not in values

    # Wrong or missing answers: 422, explained, kept.
    response = hanako_client.post(
        correction_url,
        {
            "f-vaccinated": "yes",
            "f-dog_name": "ポチ丸",
            "f-vaccination_date-year": "2100",
            "f-vaccination_date-month": "4",
            "f-vaccination_date-day": "20",
            "f-vaccination_clinic": "",
            "f-breed": "雑種",  # not asked for: ignored
            "action": "continue",
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "今日以前の日付を入力してください。" in body
    assert "接種した動物病院を入力してください。" in body
    assert form_values(response)["f-dog_name"] == "ポチ丸"
    assert Application.objects.get(pk=submitted).state == State.CORRECTION_REQUESTED

    response = hanako_client.post(
        correction_url,
        {
            "f-vaccinated": "yes",
            "f-dog_name": "ポチ丸",
            "f-vaccination_date-year": "令和8",
            "f-vaccination_date-month": "4",
            "f-vaccination_date-day": "20",
            "f-vaccination_clinic": "あおば動物病院",
            "f-breed": "雑種",
            "action": "continue",
        },
    )
    assert response.status_code == 302
    assert (
        "補正した内容を提出しました。" in hanako_client.get(response["Location"]).content.decode()
    )
    application = Application.objects.get(pk=submitted)
    assert application.state == State.RESUBMITTED
    assert application.answers["dog_name"] == "ポチ丸"
    assert application.answers["vaccination_date"] == "2026-04-20"
    assert application.answers["breed"] == "柴犬"  # unchanged: it was not asked for
    assert not application.procedure_version.spec.missing_answers(application.answers)

    correction = CorrectionRequest.objects.get(application=application)
    assert correction.answered_at is not None
    assert correction.changes == [
        {"field": "dog_name", "before": "ポチ", "after": "ポチ丸"},
        {"field": "vaccinated", "before": "no", "after": "yes"},
        {"field": "vaccination_date", "before": None, "after": "2026-04-20"},
        {"field": "vaccination_clinic", "before": None, "after": "あおば動物病院"},
    ]
    assert Event.objects.filter(event_type="application.resubmit", subject_id=submitted).exists()

    staff_detail = staff.get(reverse("backoffice:detail", args=[submitted])).content.decode()
    assert "申請者が変更した内容" in staff_detail
    assert "犬の名前: <del>ポチ</del> → <ins>ポチ丸</ins>" in staff_detail
    assert "接種日: <del>—</del> → <ins>令和8年4月20日</ins>" in staff_detail
    # The correction is answered: the form is gone, the status page says so.
    assert hanako_client.get(correction_url)["Location"] == reverse(
        "counter:detail", args=[submitted]
    )
    history = hanako_client.get(reverse("counter:detail", args=[submitted])).content.decode()
    assert "補正をお願いしました" in history and "補正後の申請を受け付けました" in history


def test_correction_requests_that_make_no_sense_are_refused(submitted, kankyo_staff):
    staff = login(kankyo_staff)
    url = reverse("backoffice:request_correction", args=[submitted])
    soon = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    far = (timezone.localdate() + dt.timedelta(days=400)).isoformat()
    for data, message in (
        ({"message": "直してください", "reply_by": soon}, "補正する項目を選んでください。"),
        (
            {"fields": ["no_such_field"], "message": "x", "reply_by": soon},
            "補正する項目を選んでください。",
        ),
        (
            {"fields": ["dog_name"], "message": "  ", "reply_by": soon},
            "補正の内容を入力してください。",
        ),
        ({"fields": ["dog_name"], "message": "x"}, "回答期限を入力してください。"),
        (
            {"fields": ["dog_name"], "message": "x", "reply_by": "2020-01-01"},
            "回答期限には今日以降の日付を指定してください。",
        ),
        (
            {"fields": ["dog_name"], "message": "x", "reply_by": far},
            "回答期限は1年以内の日付を指定してください。",
        ),
        (
            {"fields": ["dog_name"], "message": "x", "reply_by": "来週"},
            "回答期限は 2026-12-01 の形式で入力してください。",
        ),
    ):
        response = staff.post(url, data)
        # Refused where it was typed: the message at the top, the text kept in the form.
        assert response.status_code == 409, message
        body = response.content.decode()
        assert message in body and 'class="error-summary"' in body, message
        if data.get("message", "").strip():
            assert f">{data['message']}</textarea>" in body
    assert not CorrectionRequest.objects.exists()
    assert Application.objects.get(pk=submitted).state == State.SUBMITTED


def test_correcting_an_attachment(hanako, prefecture_staff, django_capture_on_commit_callbacks):
    client = login(hanako)
    application_id = fill_parking(client, [upload("古い手帳.png", png(100, 100))])
    submit(client, application_id)
    staff = login(prefecture_staff)
    staff.post(
        reverse("backoffice:request_correction", args=[application_id]),
        {
            "fields": ["evidence_files"],
            "message": "有効期限の見える面も添付してください。",
            "reply_by": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        },
    )
    url = reverse("counter:correction", args=[application_id])
    form = client.get(url).content.decode()
    assert 'enctype="multipart/form-data"' in form and "古い手帳.png" in form
    old_id = Application.objects.get(pk=application_id).answers["evidence_files"][0]["id"]
    # A bad file is refused and the attached one stays.
    response = client.post(
        url, {"f-evidence_files": upload("裏面.pdf", b"%PDF-1.4 broken"), "action": "continue"}
    )
    assert response.status_code == 422
    assert "裏面.pdf: PDFファイルが壊れているか、途中で切れています。" in response.content.decode()
    assert Application.objects.get(pk=application_id).state == State.CORRECTION_REQUESTED
    response = client.post(
        url, {"f-evidence_files": upload("裏面.pdf", pdf()), "action": "continue"}
    )
    assert response.status_code == 302
    application = Application.objects.get(pk=application_id)
    assert application.state == State.RESUBMITTED
    assert [f["name"] for f in application.answers["evidence_files"]] == [
        "古い手帳.png",
        "裏面.pdf",
    ]
    assert application.answers["evidence_files"][0]["id"] == old_id
    detail = staff.get(reverse("backoffice:detail", args=[application_id])).content.decode()
    assert "確認書類: <del>古い手帳.png</del> → <ins>古い手帳.png、裏面.pdf</ins>" in detail
    new_id = application.answers["evidence_files"][1]["id"]
    # The evidence is special personal data: the new file is stored encrypted too, and its
    # unit's handler opens it with a purpose and a recent second factor.
    from madoguchi.files.models import StoredFile

    assert StoredFile.objects.get(pk=new_id).encrypted
    session = staff.session
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time()}]
    session["account_authentication_methods_user"] = session["_auth_user_id"]
    session.save()
    opened = staff.get(
        reverse("backoffice:file", args=[application_id, new_id]), {"purpose": "correction"}
    )
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content).startswith(b"%PDF")
