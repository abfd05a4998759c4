"""Staff hear of new work, assignments, residents' messages and due dates: at once, in
a daily digest, or only on their home page, as they choose; the messages carry procedure
names, receipt numbers and links, no resident's data. A failed e-mail is visible to the
unit's staff and can be sent again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from madoguchi.backoffice import services
from madoguchi.counter import services as counter
from madoguchi.counter.models import Application
from madoguchi.notifications.models import OutboundEmail, StaffNotice, StaffNotificationSetting
from madoguchi.notifications.services import (
    MAX_ATTEMPTS,
    deliver,
    deliver_due,
    send_daily_digests,
    set_staff_mode,
)

from ..backoffice.conftest import submit_dog
from ..conftest import login

pytestmark = pytest.mark.django_db

PERSONAL = ("山田", "花子", "中央一丁目", "090-1234-5678", "ポチ", "392140000123456")


def _staff_mail(user):
    return [m for m in mail.outbox if m.to == [user.email]]


def _no_personal_data(message):
    text = message.subject + message.body
    for value in PERSONAL:
        assert value not in text, value


def test_new_work_is_announced_once_to_the_units_case_workers(
    hanako, kankyo_staff, shimin_staff, django_capture_on_commit_callbacks
):
    items = [submit_dog(hanako) for _ in range(2)]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.announce_new_work() == 2
    [message] = _staff_mail(kankyo_staff)
    assert message.subject == "【新着】生活環境課に新しい申請が2件あります"
    for item in items:
        assert item.receipt_number in message.body
        assert f"/staff/applications/{item.pk}/" in message.body
    _no_personal_data(message)
    assert not _staff_mail(shimin_staff)  # 市民課 hears nothing of 生活環境課's work
    assert all(Application.objects.get(pk=i.pk).staff_notified_at for i in items)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.announce_new_work() == 0
    assert len(_staff_mail(kankyo_staff)) == 1


def test_assignments_and_residents_messages_reach_the_assignee(
    hanako, kankyo_staff, sample, django_capture_on_commit_callbacks
):
    from madoguchi.identity.models import User
    from madoguchi.organisation import services as organisation
    from madoguchi.organisation.models import Unit

    colleague = User.objects.create_user("kankyo.tanto2@aoba.example.jp", display_name="同僚")
    unit = Unit.objects.get(body__code="992011", code="seikatsu-kankyo")
    organisation.add_membership(actor=None, user=colleague, unit=unit, position="staff")
    organisation.set_roles(actor=None, user=colleague, unit=unit, roles=["case_worker"])
    application = submit_dog(hanako)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(application=application, staff=kankyo_staff, assignee_id=colleague.pk)
        counter.post_message(
            application=application, author=hanako, body="犬の写真も送れますか", from_staff=False
        )
    subjects = [m.subject for m in _staff_mail(colleague)]
    assert subjects == [
        f"【担当】犬の登録申請（{application.receipt_number}）の担当になりました",
        f"【メッセージ】犬の登録申請（{application.receipt_number}）に申請者からメッセージ",
    ]
    for message in _staff_mail(colleague):
        _no_personal_data(message)
        assert "犬の写真" not in message.body  # the message itself stays behind the log-in
    # Claiming one's own work sends nothing.
    mail.outbox.clear()
    services.claim(application=application, staff=kankyo_staff)
    assert not mail.outbox


def test_due_dates_are_reminded_to_the_assignee_or_the_unit(
    hanako, kankyo_staff, django_capture_on_commit_callbacks
):
    late, soon, later = (submit_dog(hanako) for _ in range(3))
    today = timezone.localdate()
    Application.objects.filter(pk=late.pk).update(due_date=today - dt.timedelta(days=3))
    Application.objects.filter(pk=soon.pk).update(due_date=today)
    Application.objects.filter(pk=later.pk).update(due_date=today + dt.timedelta(days=30))
    services.claim(application=late, staff=kankyo_staff)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.remind_due_dates(on=today)
    [message] = _staff_mail(kankyo_staff)
    assert message.subject == "【処理期限】期限切れ1件・期限間近1件"
    assert late.receipt_number in message.body and soon.receipt_number in message.body
    assert later.receipt_number not in message.body
    _no_personal_data(message)


def test_the_daily_digest(hanako, kankyo_staff, django_capture_on_commit_callbacks):
    set_staff_mode(user=kankyo_staff, mode=StaffNotificationSetting.Mode.DAILY)
    submit_dog(hanako)
    late = submit_dog(hanako)
    Application.objects.filter(pk=late.pk).update(due_date=timezone.localdate() - dt.timedelta(1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.announce_new_work()
        services.remind_due_dates()
    assert not _staff_mail(kankyo_staff)  # gathered, not sent
    assert StaffNotice.objects.filter(user=kankyo_staff, emailed_at__isnull=True).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests() == 1
        assert send_daily_digests() == 0
    [digest] = _staff_mail(kankyo_staff)
    assert digest.subject.startswith("【まとめ】") and "2件" in digest.subject
    assert "生活環境課に新しい申請 2件" in digest.body and "処理期限" in digest.body
    _no_personal_data(digest)


def test_off_means_only_the_home_page(hanako, kankyo_staff, django_capture_on_commit_callbacks):
    client = login(kankyo_staff)
    response = client.post(reverse("backoffice:notification_settings"), {"mode": "off"})
    assert response.status_code == 302
    submit_dog(hanako)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.announce_new_work()
        send_daily_digests()
    assert not _staff_mail(kankyo_staff)
    home = client.get(reverse("backoffice:home")).content.decode()
    assert "生活環境課に新しい申請 1件" in home
    # A mode that does not exist is refused with a message, the setting unchanged.
    response = client.post(reverse("backoffice:notification_settings"), {"mode": "hourly"})
    assert "受け取り方を選んでください。" in response.content.decode()


def test_the_command_runs_the_sweeps(hanako, kankyo_staff, django_capture_on_commit_callbacks):
    from io import StringIO

    submit_dog(hanako)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("notify_staff", stdout=out)
    assert "new work announced: 1 applications" in out.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("notify_staff", "--interval", "60", "--digests")


# --- the residents' e-mails -------------------------------------------------------------


def test_residents_hear_of_status_changes_and_corrections(hanako, kankyo_staff):
    application = submit_dog(hanako)
    services.start_review(application=application, staff=kankyo_staff)
    services.request_correction(
        application=application,
        staff=kankyo_staff,
        field_ids=["dog_name"],
        message="お名前の字を",
        reply_by=timezone.localdate() + dt.timedelta(days=7),
    )
    templates = list(
        OutboundEmail.objects.filter(related_id=str(application.pk))
        .order_by("pk")
        .values_list("template", flat=True)
    )
    assert templates == ["application_submitted", "status_changed", "correction_requested"]
    for email in OutboundEmail.objects.filter(related_id=str(application.pk)):
        assert email.to_address == "hanako@example.jp"
        for value in PERSONAL:
            assert value not in email.subject + email.body_text


# --- a visible failure, and sending again ------------------------------------------------


def test_a_failed_email_is_shown_to_the_unit_and_sent_again(
    smtp_server, hanako, kankyo_staff, shimin_staff
):
    smtp_server.stop()
    application = submit_dog(hanako)
    email = OutboundEmail.objects.get(related_id=str(application.pk))
    for _attempt in range(MAX_ATTEMPTS):
        OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        deliver_due()
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED and email.last_error
    client = login(kankyo_staff)
    page = client.get(reverse("backoffice:outbox")).content.decode()
    assert application.receipt_number in page and email.last_error in page
    assert "hanako@example.jp" not in page
    # Another unit's staff neither see nor resend it.
    other = login(shimin_staff)
    assert (
        application.receipt_number not in other.get(reverse("backoffice:outbox")).content.decode()
    )
    retry = reverse("backoffice:outbox_retry", args=[email.pk])
    assert other.post(retry).status_code == 404
    smtp_server.start()
    assert client.post(retry).status_code == 302
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmail.Status.PENDING, 0)
    assert deliver(email.pk) == "sent"
    assert len(smtp_server.messages) == 1
    detail = client.get(reverse("backoffice:detail", args=[application.pk])).content.decode()
    assert "送信済み" in detail
