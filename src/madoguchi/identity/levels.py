"""Identity assurance levels, from how the person logged in during this session."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACCOUNT = "account"
MFA = "mfa"
MYNUMBER_CARD = "mynumber_card"

ORDER = {ACCOUNT: 1, MFA: 2, MYNUMBER_CARD: 3}
LABELS = {
    ACCOUNT: _("メールアドレスとパスワード"),
    MFA: _("2段階認証"),
    MYNUMBER_CARD: _("マイナンバーカード"),
}
SESSION_KEY = "madoguchi_identity_level"


def satisfies(actual: str | None, required: str) -> bool:
    return ORDER.get(actual or "", 0) >= ORDER[required]


def session_level(request) -> str | None:
    if not request.user.is_authenticated:
        return None
    return request.session.get(SESSION_KEY, ACCOUNT)


def raise_session_level(request, level: str) -> None:
    current = request.session.get(SESSION_KEY, ACCOUNT)
    if ORDER[level] > ORDER.get(current, 0):
        # A new session key on privilege change, against session fixation.
        request.session.cycle_key()
        request.session[SESSION_KEY] = level
