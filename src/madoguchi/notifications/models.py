from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboundEmail(models.Model):
    """An e-mail to send, written in the transaction of the change it announces.

    Sending happens after commit in a task; a failure leaves the row pending with a
    next attempt time, so that nothing is lost when the mail server is away.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("送信待ち")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗")

    to_address = models.EmailField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    template = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    related_type = models.CharField(max_length=40, blank=True)
    related_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]
        verbose_name = _("送信メール")

    def __str__(self) -> str:
        return f"{self.template} → {self.status}"


class StaffNotificationSetting(models.Model):
    """How a staff member wants to hear of new work: each time, once a day, or only on
    the back office's home page."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", _("その都度メールで受け取る")
        DAILY = "daily", _("1日1回まとめて受け取る（ダイジェスト）")
        OFF = "off", _("メールでは受け取らない（職員用トップでのみ確認）")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_setting"
    )
    mode = models.CharField(_("通知の受け取り方"), max_length=10, choices=Mode.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("職員の通知設定")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.mode}"


class StaffNotice(models.Model):
    """One thing a staff member should know (new work, an assignment, a due date). Sent
    at once, gathered into the daily digest, or only listed, by their setting. The context
    holds what the message shows: procedure names, receipt numbers, links, dates — no
    resident's name, address or answers."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    context = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email = models.ForeignKey(
        OutboundEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    related_type = models.CharField(max_length=40, blank=True)
    related_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "created_at"], name="staff_notice_user_idx"),
            models.Index(
                fields=["created_at"],
                name="staff_notice_digest_idx",
                condition=models.Q(emailed_at__isnull=True),
            ),
        ]
        ordering = ["-created_at", "-id"]
        verbose_name = _("職員へのお知らせ")

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"
