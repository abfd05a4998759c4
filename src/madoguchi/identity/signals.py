from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from . import levels


@receiver(user_logged_in)
def set_identity_level(sender, request, user, **kwargs) -> None:
    # A password log-in proves control of the account, nothing more.
    if request is not None and hasattr(request, "session"):
        request.session[levels.SESSION_KEY] = levels.ACCOUNT
