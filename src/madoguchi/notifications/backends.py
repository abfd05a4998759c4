from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend


class UnconfiguredBackend(BaseEmailBackend):
    """Used with DEBUG off when no SMTP server is configured: sending fails loudly and the
    message stays in the outbox until EMAIL_HOST is set."""

    def send_messages(self, email_messages):
        raise ConnectionError("EMAIL_HOST is not configured")
