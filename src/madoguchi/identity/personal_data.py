"""The person's own data: the download (JSON and CSV) and the deletion of the account.

Identity's own part (account, profile, log-ins) is here; the applications and messages
come from the counter, the access log from the ledger, through the registry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.ledger.services import record_event

from . import services
from .models import ApiToken, IdentityLink, ResidentProfile, User
from .registry import Kept, PersonalData, personal_data_source, personal_data_sources


def _date(value) -> str:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def _profile_rows(user: User) -> Iterable[dict[str, Any]]:
    profile = ResidentProfile.objects.filter(user=user).first()
    if profile is None:
        return
    for key in services.PROFILE_FIELDS:
        value = getattr(profile, key)
        if value in ("", None):
            continue
        source = services.value_source(profile, key)
        yield {
            "item": key,
            "value": _date(value),
            "source": source.get("provider") or source.get("by", ""),
            "verified": bool(source.get("verified")),
            "recorded_at": source.get("at", ""),
        }


def _login_rows(user: User) -> Iterable[dict[str, Any]]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    for address in EmailAddress.objects.filter(user=user):
        yield {
            "kind": "email",
            "name": address.email,
            "detail": "verified" if address.verified else "unverified",
            "created_at": "",
            "last_used_at": "",
        }
    for link in IdentityLink.objects.filter(user=user):
        yield {
            "kind": "provider",
            "name": link.provider,
            "detail": "",
            "created_at": _date(link.created_at),
            "last_used_at": _date(link.last_login_at),
        }
    for authenticator in Authenticator.objects.filter(user=user):
        yield {
            "kind": f"second_factor:{authenticator.type}",
            "name": (authenticator.data or {}).get("name", "")
            if authenticator.type == Authenticator.Type.WEBAUTHN
            else "",
            "detail": "",
            "created_at": _date(authenticator.created_at),
            "last_used_at": _date(authenticator.last_used_at),
        }
    for token in ApiToken.objects.filter(user=user):
        yield {
            "kind": "api_token",
            "name": token.name,
            "detail": token.prefix,
            "created_at": _date(token.created_at),
            "last_used_at": "",
        }


ACCESS_LOG_COLUMNS = (
    "accessed_at",
    "body",
    "unit",
    "position",
    "roles",
    "staff",
    "what",
    "purpose",
)


def _access_log_rows(user: User) -> Iterable[dict[str, Any]]:
    """Staff accesses to the person's data, from the ledger's access log; staff names only
    where the body's policy discloses them (as on the access-log page)."""
    from madoguchi.ledger.selectors import accesses_to, names_disclosed

    for access in accesses_to(user).iterator(chunk_size=200):
        body = access.unit.body
        yield {
            "accessed_at": _date(access.at),
            "body": body.name,
            "unit": access.unit.name,
            "position": access.position,
            "roles": " ".join(access.roles or []),
            "staff": str(access.actor) if names_disclosed(body.code) else "",
            "what": access.get_what_display(),
            "purpose": access.get_purpose_display() if access.purpose else "",
        }


_OWN = [
    PersonalData(
        name="profile",
        label="登録情報",
        columns=("item", "value", "source", "verified", "recorded_at"),
        rows=_profile_rows,
    ),
    PersonalData(
        name="logins",
        label="ログインの方法",
        columns=("kind", "name", "detail", "created_at", "last_used_at"),
        rows=_login_rows,
    ),
    PersonalData(
        name="access_log",
        label="職員による閲覧の記録",
        columns=ACCESS_LOG_COLUMNS,
        rows=_access_log_rows,
    ),
]


def sources_for_download() -> list[PersonalData]:
    return [*_OWN, *personal_data_sources()]


def source(name: str) -> PersonalData | None:
    own = next((item for item in _OWN if item.name == name), None)
    return own or personal_data_source(name)


def export(user: User) -> dict[str, Any]:
    """Everything the person may download about themselves, as one JSON document."""
    return {
        "format": "madoguchi-my-data/1",
        "exported_at": _date(timezone.now()),
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "language": user.language,
            "joined_at": _date(user.date_joined),
            "last_login_at": _date(user.last_login),
        },
        **{item.name: list(item.rows(user)) for item in sources_for_download()},
    }


# --- deletion ---------------------------------------------------------------------------


@dataclass
class DeletionReport:
    kept: list[Kept] = field(default_factory=list)
    erased: dict[str, int] = field(default_factory=dict)


def deletion_preview(user: User) -> list[Kept]:
    kept: list[Kept] = []
    for item in personal_data_sources():
        if item.preview is not None:
            kept.extend(item.preview(user))
    return kept


@transaction.atomic
def delete_account(*, user: User) -> DeletionReport:
    """Deletes the account and what may be deleted; keeps what the law requires (submitted
    applications until their retention period ends) and says what and why. The user row
    stays, emptied, as the applicant those kept records point to."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    if services.is_staff_member(user):
        raise services.NotPermitted(
            _("職員のアカウントは、所属の管理者が所属を外してから削除します。"),
            "Staff accounts are removed by an administrator.",
        )
    user = User.objects.select_for_update().get(pk=user.pk)
    report = DeletionReport()
    for item in personal_data_sources():
        if item.erase is not None:
            report.kept.extend(item.erase(user))
    report.erased["profile"] = ResidentProfile.objects.filter(user=user).delete()[0]
    report.erased["links"] = IdentityLink.objects.filter(user=user).delete()[0]
    report.erased["second_factors"] = Authenticator.objects.filter(user=user).delete()[0]
    report.erased["api_tokens"] = ApiToken.objects.filter(user=user).delete()[0]
    report.erased["emails"] = EmailAddress.objects.filter(user=user).delete()[0]
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session._session_store().delete(session.session_key)
    report.erased["sessions"] = UserSession.objects.filter(user=user).delete()[0]
    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.display_name = ""
    user.first_name = user.last_name = ""
    # A new unusable password also ends every other session (their hash no longer matches).
    user.set_unusable_password()
    user.is_active = False
    user.deleted_at = timezone.now()
    user.save()
    record_event(
        event_type="account.deleted",
        actor_kind="resident",
        actor_id=user.pk,
        subject_type="person",
        subject_id=user.pk,
        details={"kept": len(report.kept), "erased": report.erased},
    )
    return report
