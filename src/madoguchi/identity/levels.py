"""Identity assurance levels, from how the person logged in during this session.

`account`: e-mail address and password (or an external log-in that proves no more);
`mfa`: a second factor (TOTP, a passkey) or a provider that says it used one;
`mynumber_card`: My Number Card authentication through the Digital Agency's app.
"""

from __future__ import annotations

import time

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
# When a passkey was last used in this session (a body may require passkeys of its staff).
PASSKEY_KEY = "madoguchi_passkey_at"


def satisfies(actual: str | None, required: str) -> bool:
    return ORDER.get(actual or "", 0) >= ORDER[required]


def session_level(request) -> str | None:
    if not request.user.is_authenticated:
        return None
    return request.session.get(SESSION_KEY, ACCOUNT)


def level_from_records(records: list[dict]) -> str:
    """The level a log-in reached, from allauth's record of the steps it took."""
    if any(record.get("method") == "mfa" for record in records):
        return MFA
    return ACCOUNT


def used_passkey(records: list[dict]) -> bool:
    return any(r.get("method") == "mfa" and r.get("type") == "webauthn" for r in records)


def mark_passkey(request) -> None:
    request.session[PASSKEY_KEY] = time.time()


def raise_session_level(request, level: str) -> None:
    current = request.session.get(SESSION_KEY, ACCOUNT)
    if ORDER[level] > ORDER.get(current, 0):
        # A new session key on privilege change, against session fixation.
        cycle_session_key(request)
        request.session[SESSION_KEY] = level


def cycle_session_key(request) -> None:
    old_key = request.session.session_key
    request.session.cycle_key()
    if old_key:
        # The account's list of sessions follows its session to the new key.
        from allauth.usersessions.models import UserSession

        UserSession.objects.filter(session_key=old_key).update(
            session_key=request.session.session_key
        )
