from __future__ import annotations

import datetime as dt
import logging
import re

from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from . import templating
from .models import OutboundEmail, StaffNotice, StaffNotificationSetting

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def queue_email(
    *,
    to: str,
    template: str,
    context: dict,
    related_type: str = "",
    related_id: str = "",
    language: str = "ja",
    overrides: dict | None = None,
) -> OutboundEmail:
    """Writes an e-mail to the outbox and queues its delivery, which runs once the
    transaction has committed. `overrides` are a procedure's own texts for its messages
    (see templating.py); the default templates serve the others. `language` is the
    recipient's (`User.language`): the templates are rendered in it."""
    from django.conf import settings

    context = {"base_url": settings.MADOGUCHI_BASE_URL.rstrip("/"), **context}
    own = (overrides or {}).get(template)
    with translation.override(language):
        if own:
            # A procedure's own text, in English when it gives one (else its Japanese).
            english = language.startswith("en") and own.get("subject_en") and own.get("body_en")
            subject = templating.render(own["subject_en" if english else "subject"], context)
            body = templating.render(own["body_en" if english else "body"], context)
        else:
            subject = render_to_string(
                f"notifications/email/{template}.subject.txt", context
            ).strip()
            body = render_to_string(f"notifications/email/{template}.txt", context)
    email = OutboundEmail.objects.create(
        to_address=to,
        subject=" ".join(subject.split())[:200],
        body_text=body,
        template=template,
        related_type=related_type,
        related_id=str(related_id),
    )
    if _tasks_in_database():
        # The task row is written in this transaction: it commits, or rolls back, with the
        # e-mail, and costs no transaction of its own after the commit. The worker cannot
        # see it before the commit. (An error here is the database's and fails the whole
        # transaction, so it is not caught.)
        from .tasks import deliver_email

        deliver_email.enqueue(email.pk)
    else:
        # Any other backend (the immediate one runs the task at once) only after commit.
        transaction.on_commit(lambda: _enqueue(email.pk))
    return email


def _tasks_in_database() -> bool:
    from django.conf import settings

    return settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def _enqueue(email_id: int) -> None:
    from .tasks import deliver_email

    try:
        deliver_email.enqueue(email_id)
    except Exception:
        logger.exception("could not enqueue e-mail %s", email_id)


_ADDRESS = re.compile(r"[^\s'\"<>(),;:@]+@[^\s'\"<>(),;:@]+")


def _without_addresses(text: str) -> str:
    # SMTP errors quote the recipients (SMTPRecipientsRefused is a dict keyed by address).
    return _ADDRESS.sub("<address>", text)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def deliver(email_id: int) -> str:
    """Sends one e-mail if it is still due. Safe to call twice: a sent row is skipped."""
    with transaction.atomic():
        email = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status != OutboundEmail.Status.PENDING:
            return "skipped"
        message = EmailMessage(subject=email.subject, body=email.body_text, to=[email.to_address])
        try:
            message.send(fail_silently=False)
        except Exception as exc:
            email.attempts += 1
            # The error text is kept short and names no recipient: it is shown to staff.
            email.last_error = f"{type(exc).__name__}: {_without_addresses(str(exc))[:200]}"
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
            else:
                email.next_attempt_at = timezone.now() + backoff(email.attempts)
            email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning(
                "e-mail %s not sent (attempt %s): %s", email.pk, email.attempts, type(exc).__name__
            )
            return "retry" if email.status == OutboundEmail.Status.PENDING else "failed"
        email.status = OutboundEmail.Status.SENT
        email.sent_at = timezone.now()
        email.attempts += 1
        email.last_error = ""
        email.save(update_fields=["status", "sent_at", "attempts", "last_error"])
        return "sent"


def deliver_due(limit: int = 100) -> dict[str, int]:
    """Sends pending e-mails whose next attempt is due (run periodically by the worker)."""
    results: dict[str, int] = {}
    due = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:limit]
    for email_id in list(due):
        outcome = deliver(email_id)
        results[outcome] = results.get(outcome, 0) + 1
    return results


@transaction.atomic
def retry_email(*, email: OutboundEmail) -> OutboundEmail:
    """Sends a failed e-mail again (from the outbox page): it becomes pending with a fresh
    count of attempts."""
    email = OutboundEmail.objects.select_for_update().get(pk=email.pk)
    if email.status == OutboundEmail.Status.SENT:
        return email
    email.status = OutboundEmail.Status.PENDING
    email.attempts = 0
    email.next_attempt_at = timezone.now()
    email.save(update_fields=["status", "attempts", "next_attempt_at"])
    if _tasks_in_database():
        from .tasks import deliver_email

        deliver_email.enqueue(email.pk)
    else:
        transaction.on_commit(lambda: _enqueue(email.pk))
    return email


# --- staff notices ----------------------------------------------------------------------


def setting_of(user) -> str:
    found = StaffNotificationSetting.objects.filter(user=user).values_list("mode", flat=True)
    return next(iter(found), StaffNotificationSetting.Mode.IMMEDIATE)


@transaction.atomic
def set_staff_mode(*, user, mode: str) -> StaffNotificationSetting:
    if mode not in StaffNotificationSetting.Mode.values:
        raise ValueError(f"unknown mode {mode!r}")
    setting, _created = StaffNotificationSetting.objects.update_or_create(
        user=user, defaults={"mode": mode}
    )
    return setting


def notify_staff(
    *,
    users: list[int],
    kind: str,
    context: dict,
    related_type: str = "",
    related_id: str = "",
) -> list[StaffNotice]:
    """Tells staff members of something (template `staff_<kind>`): an e-mail now, a line
    in tomorrow's digest, or only the notice on their home page, by each one's setting.
    Must run in the transaction of the change it announces."""
    from django.contrib.auth import get_user_model

    if not users:
        return []
    recipients = (
        get_user_model()
        .objects.filter(pk__in=set(users), is_active=True)
        .select_related("notification_setting")
        .only("pk", "email", "notification_setting__mode")
    )
    notices = []
    for user in recipients:
        setting = getattr(user, "notification_setting", None)
        mode = setting.mode if setting else StaffNotificationSetting.Mode.IMMEDIATE
        notice = StaffNotice(
            user=user,
            kind=kind,
            context=context,
            related_type=related_type,
            related_id=str(related_id),
        )
        if mode == StaffNotificationSetting.Mode.IMMEDIATE:
            notice.email = queue_email(
                to=user.email,
                language=user.language,
                template=f"staff_{kind}",
                context=context,
                related_type=related_type,
                related_id=related_id,
            )
            notice.emailed_at = timezone.now()
        notices.append(notice)
    return StaffNotice.objects.bulk_create(notices)


def send_daily_digests(*, now: dt.datetime | None = None) -> int:
    """One e-mail per staff member who chose the daily digest and has notices since the
    last one. Each member's digest is its own transaction, and notices are locked while
    they are taken, so two runs at once send each notice once."""
    now = now or timezone.now()
    users = (
        StaffNotice.objects.filter(
            emailed_at__isnull=True,
            user__notification_setting__mode=StaffNotificationSetting.Mode.DAILY,
            created_at__lte=now,
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in list(users):
        with transaction.atomic():
            notices = list(
                StaffNotice.objects.select_for_update(skip_locked=True)
                .filter(user_id=user_id, emailed_at__isnull=True, created_at__lte=now)
                .select_related("user")
                .order_by("created_at", "id")
            )
            if not notices:
                continue
            email = queue_email(
                to=notices[0].user.email,
                language=notices[0].user.language,
                template="staff_digest",
                context={
                    "notices": [{"kind": n.kind, **n.context} for n in notices],
                    "count": len(notices),
                    "day": timezone.localdate(now),
                },
                related_type="staff_digest",
                related_id=str(user_id),
            )
            StaffNotice.objects.filter(pk__in=[n.pk for n in notices]).update(
                emailed_at=now, email=email
            )
            sent += 1
    return sent


def recent_notices(user, limit: int = 20):
    return StaffNotice.objects.filter(user=user).order_by("-created_at", "-id")[:limit]
