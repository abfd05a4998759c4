"""allauth's passkey form with Japanese labels (its catalogue has none for these)."""

from __future__ import annotations

from allauth.mfa.webauthn.forms import AddWebAuthnForm
from django.utils.translation import gettext_lazy as _


class AddPasskeyForm(AddWebAuthnForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].label = _("名前（どの端末のパスキーか分かるように）")
        if "passwordless" in self.fields:
            self.fields["passwordless"].label = _("パスワードの代わりにこのパスキーでログインする")
            self.fields["passwordless"].help_text = _(
                "指紋・顔認証・PINで本人確認をする端末（スマートフォンなど）のときに選んでください。"
            )
