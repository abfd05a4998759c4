from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.db import transaction

from madoguchi.core.crypto import decrypt_text, encrypt_text


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return True

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        # allauth asks again right after a log-in; a log-in a minute ago is proof enough,
        # but for a person with a second factor (all staff) only one that used it, as for
        # our own sensitive actions (services.require_recent_auth).
        from .services import had_second_factor_at_log_in, recently_authenticated

        request = context.request
        if request is not None and request.user.is_authenticated:
            strong = had_second_factor_at_log_in(request)
            if recently_authenticated(request, second_factor=strong):
                return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Through the outbox (decision 0008): a mail server that is down delays the
        # message instead of failing the sign-up with an error page.
        from madoguchi.notifications.services import queue_email

        message = self.render_mail(template_prefix, email, context)
        with transaction.atomic():
            queue_email(
                to=email,
                template="identity_message",
                context={"subject": message.subject, "body": message.body},
                related_type="account",
            )

    def format_email_subject(self, subject: str) -> str:
        return f"[{settings.MADOGUCHI_SITE_NAME}] {subject}"


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are encrypted at rest with the field keys, and
    staff cannot remove the last second factor they are required to have."""

    def encrypt(self, text: str) -> str:
        return encrypt_text(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_text(encrypted_text)

    def get_totp_issuer(self) -> str:
        return str(settings.MADOGUCHI_SITE_NAME)

    def can_delete_authenticator(self, authenticator) -> bool:
        from .services import may_remove_authenticator

        return may_remove_authenticator(authenticator)
