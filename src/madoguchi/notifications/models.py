from __future__ import annotations

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
