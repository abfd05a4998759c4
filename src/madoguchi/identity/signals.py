"""Receivers of Django's and allauth's authentication signals (allauth's own extension
points; madoguchi's capabilities talk through registries, decision 0009)."""

from __future__ import annotations

from allauth.account.signals import authentication_step_completed
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import levels, services


@receiver(user_logged_in)
def set_identity_level(sender, request, user, **kwargs) -> None:
    """A password log-in proves control of the account; with a second factor (or a passkey
    alone, which checks the person too) it reaches `mfa`. Log-ins at a provider set their
    own level after this."""
    if request is None or not hasattr(request, "session"):
        return
    from allauth.account.internal.flows.login import get_authentication_records

    records = get_authentication_records(request, user)
    request.session[levels.SESSION_KEY] = levels.level_from_records(records)
    request.session.pop(levels.PASSKEY_KEY, None)
    if levels.used_passkey(records):
        levels.mark_passkey(request)
    services.start_session(request, user)
    # The language chosen before signing in is the one the person reads: e-mails follow.
    services.remember_language(user, request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))


@receiver(authentication_step_completed)
def second_factor_in_session(sender, request, method, user, **kwargs) -> None:
    """A second factor used while logged in (re-authentication, the staff step-up) raises
    the session to `mfa`; during a log-in the receiver above does it."""
    if method != "mfa" or request is None:
        return
    current = getattr(request, "user", None)
    if current is None or not current.is_authenticated or current.pk != user.pk:
        return
    levels.raise_session_level(request, levels.MFA)
    if kwargs.get("type") == "webauthn":
        levels.mark_passkey(request)


@receiver(authenticator_added)
def second_factor_added(sender, request, user, authenticator, **kwargs) -> None:
    # Setting up a factor means using it once: the code or the passkey was just checked.
    services.record_authenticator_change(user=user, authenticator=authenticator, added=True)
    if request is not None and getattr(request, "user", None) == user:
        if authenticator.type != "recovery_codes":
            levels.raise_session_level(request, levels.MFA)
        if authenticator.type == "webauthn":
            levels.mark_passkey(request)


@receiver(authenticator_removed)
def second_factor_removed(sender, request, user, authenticator, **kwargs) -> None:
    services.record_authenticator_change(user=user, authenticator=authenticator, added=False)
