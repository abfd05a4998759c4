"""Changes to the organisation: units, memberships, positions, role grants, delegations.

Every change writes its ledger event in the same transaction (issue 6 asks that every
grant and revocation be ledgered). `actor=None` means the system (the CLI, the sample);
otherwise the actor must be an administrator of the body, except that an approver may
name their own deputy.
"""

from __future__ import annotations

import datetime as dt
import re
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from madoguchi.ledger.services import person, record_event

from . import roles as role_specs
from . import selectors
from .models import (
    DEFAULT_POSITIONS,
    Body,
    Delegation,
    Position,
    RoleGrant,
    StaffMembership,
    Unit,
)

MAX_DELEGATION_DAYS = 366
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_POSITION_CODE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


class OrganisationError(Exception):
    """A refusal with a message for staff (Japanese) and for the API and CLI (English)."""

    code = "refused"
    status = 409

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(ja)
        self.ja = ja
        self.en = en


class NotPermitted(OrganisationError):
    code = "forbidden"
    status = 403


class InvalidValue(OrganisationError):
    code = "invalid"
    status = 422

    def __init__(self, ja: str, en: str, *, field: str = "") -> None:
        super().__init__(ja, en)
        self.field = field


def _actor_kind(actor) -> str:
    return "system" if actor is None else "staff"


def _event(
    event_type: str, *, actor, subject_type: str, subject_id, body_id: int, details: dict
) -> None:
    record_event(
        event_type=f"organisation.{event_type}",
        actor_kind=_actor_kind(actor),
        actor_id=None if actor is None else actor.pk,
        subject_type=subject_type,
        subject_id=subject_id,
        body_id=body_id,
        details=details,
    )


# (actor id, body id) pairs already checked by an import that runs many services at once.
_checked: ContextVar[frozenset[tuple[int, int]]] = ContextVar(
    "organisation_checked", default=frozenset()
)


def check_administrator(actor, body: Body) -> None:
    """Refuses unless `actor` administers `body` (None, the system, always may)."""
    if actor is None or (actor.pk, body.pk) in _checked.get():
        return
    if not any(
        grant.unit.body_id == body.pk
        for grant in selectors.active_grants(user=actor, role=role_specs.Role.ADMINISTRATOR)
    ):
        raise NotPermitted(
            "この団体の組織を管理する権限（システム管理者）がありません。",
            "You are not an administrator of this body.",
        )


def _text(value: str, *, field: str, label: str, max_length: int, required: bool = True) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise InvalidValue(f"{label}を入力してください。", f"Enter the {field}.", field=field)
    if len(cleaned) > max_length:
        raise InvalidValue(
            f"{label}は{max_length}文字以内で入力してください。",
            f"The {field} must be at most {max_length} characters.",
            field=field,
        )
    if any(ord(ch) < 32 for ch in cleaned):
        raise InvalidValue(
            f"{label}に使用できない制御文字が含まれています。",
            f"The {field} contains control characters.",
            field=field,
        )
    return cleaned


# --- units ------------------------------------------------------------------------------

UNIT_KINDS = {kind.value for kind in Unit.Kind}


def _check_parent(body: Body, parent: Unit | None, unit: Unit | None = None) -> None:
    if parent is None:
        return
    if parent.body_id != body.pk:
        raise InvalidValue(
            "上位組織は同じ団体の組織を選んでください。",
            "The parent unit must belong to the same body.",
            field="parent",
        )
    if unit is not None and unit.pk and selectors.unit_covers(unit, parent):
        raise InvalidValue(
            "組織を自分自身やその下位の組織の下に移すことはできません。",
            "A unit cannot be moved below itself.",
            field="parent",
        )


@transaction.atomic
def create_unit(
    *,
    actor,
    body: Body,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None = None,
    name_en: str = "",
    document_symbol: str = "",
    email: str = "",
    phone: str = "",
) -> Unit:
    check_administrator(actor, body)
    code = (code or "").strip()
    if not _CODE.match(code):
        raise InvalidValue(
            "組織コードは英小文字・数字・ハイフン・アンダースコアで50文字以内にしてください。",
            "The unit code must be lower-case letters, digits, '-' or '_' (at most 50).",
            field="code",
        )
    if kind not in UNIT_KINDS:
        raise InvalidValue(
            "種別は 部・課・係 のいずれかを選んでください。",
            "The kind must be department, division or section.",
            field="kind",
        )
    if Unit.objects.filter(body=body, code=code).exists():
        raise InvalidValue(
            f"組織コード「{code}」は既に使われています。",
            f"The unit code '{code}' is already used.",
            field="code",
        )
    _check_parent(body, parent)
    unit = Unit(
        body=body,
        code=code,
        kind=kind,
        parent=parent,
        name=_text(name, field="name", label="名称", max_length=100),
        name_en=_text(name_en, field="name_en", label="英語名称", max_length=200, required=False),
        document_symbol=_text(
            document_symbol,
            field="document_symbol",
            label="文書記号",
            max_length=20,
            required=False,
        ),
        email=(email or "").strip(),
        phone=(phone or "").strip()[:30],
    )
    unit.save()
    _event(
        "unit_created",
        actor=actor,
        subject_type="unit",
        subject_id=unit.pk,
        body_id=body.pk,
        details={"code": code, "kind": kind, "parent": parent.code if parent else None},
    )
    return unit


@transaction.atomic
def update_unit(*, actor, unit: Unit, **changes) -> Unit:
    """Changes the unit's name, texts or parent. Moving a unit moves its whole subtree."""
    unit = Unit.objects.select_for_update().select_related("body").get(pk=unit.pk)
    check_administrator(actor, unit.body)
    allowed = {"name", "name_en", "document_symbol", "email", "phone", "kind", "parent"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unknown unit fields: {sorted(unknown)}")
    changed: list[str] = []
    old_path = unit.path
    for field_name, value in changes.items():
        if field_name == "parent":
            _check_parent(unit.body, value, unit)
            if (value.pk if value else None) != unit.parent_id:
                unit.parent = value
                changed.append("parent")
            continue
        if field_name == "kind":
            if value not in UNIT_KINDS:
                raise InvalidValue(
                    "種別は 部・課・係 のいずれかを選んでください。",
                    "The kind must be department, division or section.",
                    field="kind",
                )
        elif field_name == "name":
            value = _text(value, field="name", label="名称", max_length=100)
        elif field_name == "name_en":
            value = _text(value, field="name_en", label="英語名称", max_length=200, required=False)
        elif field_name == "document_symbol":
            value = _text(
                value, field="document_symbol", label="文書記号", max_length=20, required=False
            )
        else:
            value = (value or "").strip()
        if getattr(unit, field_name) != value:
            setattr(unit, field_name, value)
            changed.append(field_name)
    if not changed:
        return unit
    unit.save()
    if unit.path != old_path:
        # The subtree's materialised paths follow the move in one statement.
        Unit.objects.filter(body=unit.body, path__startswith=old_path).exclude(pk=unit.pk).update(
            path=Concat(Value(unit.path), Substr(F("path"), len(old_path) + 1))
        )
    _event(
        "unit_updated",
        actor=actor,
        subject_type="unit",
        subject_id=unit.pk,
        body_id=unit.body_id,
        details={
            "code": unit.code,
            "changed": sorted(changed),
            "parent": unit.parent.code if unit.parent_id else None,
        },
    )
    return unit


@transaction.atomic
def set_unit_active(*, actor, unit: Unit, active: bool) -> Unit:
    unit = Unit.objects.select_for_update().select_related("body").get(pk=unit.pk)
    check_administrator(actor, unit.body)
    if unit.is_active == active:
        return unit
    if not active:
        if unit.children.filter(is_active=True).exists():
            raise OrganisationError(
                "使用中の下位組織があるため廃止できません。先に下位組織を廃止してください。",
                "The unit has active units below it; retire them first.",
            )
        if unit.memberships.exists():
            raise OrganisationError(
                "所属している職員がいるため廃止できません。先に所属を解除してください。",
                "Staff still belong to the unit; remove their memberships first.",
            )
    elif unit.parent_id and not unit.parent.is_active:
        raise OrganisationError(
            "上位組織が廃止されているため再開できません。", "The parent unit is retired."
        )
    unit.is_active = active
    unit.save(update_fields=["is_active"])
    _event(
        "unit_reactivated" if active else "unit_retired",
        actor=actor,
        subject_type="unit",
        subject_id=unit.pk,
        body_id=unit.body_id,
        details={"code": unit.code},
    )
    return unit


# --- staff accounts and memberships -------------------------------------------------------


def ensure_staff_user(*, email: str, name: str = ""):
    """The account of a staff member, created without a password when it is new (staff
    set one through the password reset, or sign in through the body's identity provider)."""
    User = get_user_model()
    address = (email or "").strip().lower()
    user = User.objects.filter(email__iexact=address).first()
    if user is None:
        user = User.objects.create_user(email=address, password=None, display_name=name.strip())
    elif name.strip() and user.display_name != name.strip():
        user.display_name = name.strip()
        user.save(update_fields=["display_name"])
    return user


def ensure_built_in_positions() -> None:
    """The built-in positions always exist (migration 0002 creates them; a test database
    flushed between transactional tests loses them, and this puts them back)."""
    for code, name, name_en, rank in DEFAULT_POSITIONS:
        Position.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "rank": rank}
        )


def _position(value: Position | str) -> Position:
    if isinstance(value, Position):
        return value
    found = selectors.position_by_code(value) or selectors.position_by_text(value)
    if found is None and value in {code for code, *_rest in DEFAULT_POSITIONS}:
        ensure_built_in_positions()
        found = selectors.position_by_code(value)
    if found is None:
        raise InvalidValue(
            f"職「{value}」は登録されていません。",
            f"The position '{value}' does not exist.",
            field="position",
        )
    return found


@transaction.atomic
def add_membership(
    *, actor, user, unit: Unit, position: Position | str, is_primary: bool | None = None
) -> StaffMembership:
    """Places a person in a unit with a position; an existing membership gets the position."""
    check_administrator(actor, unit.body)
    if not unit.is_active:
        raise OrganisationError("廃止された組織には所属できません。", "The unit is retired.")
    position = _position(position)
    membership = StaffMembership.objects.filter(user=user, unit=unit).first()
    if membership is not None:
        if membership.position_id != position.code:
            return change_position(actor=actor, membership=membership, position=position)
        return membership
    if is_primary is None:
        is_primary = not StaffMembership.objects.filter(user=user, is_primary=True).exists()
    if is_primary:
        StaffMembership.objects.filter(user=user, is_primary=True).update(is_primary=False)
    membership = StaffMembership.objects.create(
        user=user, unit=unit, position=position, is_primary=is_primary
    )
    _event(
        "membership_added",
        actor=actor,
        subject_type="staff_membership",
        subject_id=membership.pk,
        body_id=unit.body_id,
        details={
            "user": person("staff", user.pk),
            "unit": unit.code,
            "position": position.code,
            "primary": is_primary,
        },
    )
    return membership


@transaction.atomic
def change_position(*, actor, membership: StaffMembership, position: Position | str):
    membership = (
        StaffMembership.objects.select_for_update().select_related("unit").get(pk=membership.pk)
    )
    check_administrator(actor, membership.unit.body)
    position = _position(position)
    if membership.position_id == position.code:
        return membership
    previous = membership.position_id
    membership.position = position
    membership.save(update_fields=["position"])
    _event(
        "position_changed",
        actor=actor,
        subject_type="staff_membership",
        subject_id=membership.pk,
        body_id=membership.unit.body_id,
        details={
            "user": person("staff", membership.user_id),
            "unit": membership.unit.code,
            "from": previous,
            "to": position.code,
        },
    )
    return membership


@transaction.atomic
def remove_membership(*, actor, membership: StaffMembership) -> None:
    """Ends a membership and revokes the roles held in that unit (each revocation ledgered)."""
    membership = (
        StaffMembership.objects.select_for_update().select_related("unit").get(pk=membership.pk)
    )
    check_administrator(actor, membership.unit.body)
    for grant in selectors.active_grants(user=membership.user, unit=membership.unit):
        revoke_role(actor=actor, grant=grant)
    _event(
        "membership_removed",
        actor=actor,
        subject_type="staff_membership",
        subject_id=membership.pk,
        body_id=membership.unit.body_id,
        details={
            "user": person("staff", membership.user_id),
            "unit": membership.unit.code,
            "position": membership.position_id,
        },
    )
    user_id, was_primary = membership.user_id, membership.is_primary
    membership.delete()
    if was_primary:
        other = StaffMembership.objects.filter(user_id=user_id).order_by("pk").first()
        if other is not None:
            other.is_primary = True
            other.save(update_fields=["is_primary"])


# --- roles ------------------------------------------------------------------------------


@transaction.atomic
def grant_role(*, actor, user, unit: Unit, role: str) -> RoleGrant:
    """Grants `role` in `unit` to a member of that unit. Granting what is held does nothing."""
    check_administrator(actor, unit.body)
    try:
        role_specs.spec(role)
    except LookupError:
        raise InvalidValue(
            f"役割「{role}」はありません。", f"There is no role '{role}'.", field="role"
        ) from None
    if not StaffMembership.objects.filter(user=user, unit=unit).exists():
        raise OrganisationError(
            "役割はその組織に所属している職員にだけ付与できます。",
            "Roles are granted only to members of the unit.",
        )
    existing = RoleGrant.objects.filter(
        user=user, unit=unit, role=role, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    grant = RoleGrant.objects.create(user=user, unit=unit, role=role, granted_by=actor)
    _event(
        "role_granted",
        actor=actor,
        subject_type="role_grant",
        subject_id=grant.pk,
        body_id=unit.body_id,
        details={"user": person("staff", user.pk), "unit": unit.code, "role": role},
    )
    return grant


@transaction.atomic
def revoke_role(*, actor, grant: RoleGrant) -> RoleGrant:
    grant = RoleGrant.objects.select_for_update().select_related("unit").get(pk=grant.pk)
    check_administrator(actor, grant.unit.body)
    if grant.revoked_at is not None:
        return grant
    if (
        actor is not None
        and grant.role == role_specs.Role.ADMINISTRATOR
        and grant.user_id == actor.pk
        and selectors.active_grants(role=role_specs.Role.ADMINISTRATOR)
        .filter(unit__body_id=grant.unit.body_id)
        .count()
        == 1
    ):
        raise OrganisationError(
            "最後のシステム管理者の役割は外せません。先に別の職員を管理者にしてください。",
            "You are the body's last administrator; make someone else administrator first.",
        )
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.save(update_fields=["revoked_at", "revoked_by"])
    _event(
        "role_revoked",
        actor=actor,
        subject_type="role_grant",
        subject_id=grant.pk,
        body_id=grant.unit.body_id,
        details={
            "user": person("staff", grant.user_id),
            "unit": grant.unit.code,
            "role": grant.role,
        },
    )
    return grant


@transaction.atomic
def set_roles(*, actor, user, unit: Unit, roles: set[str] | list[str]) -> list[str]:
    """Makes the roles held in `unit` exactly `roles`, granting and revoking the difference."""
    wanted = set(roles)
    current = {grant.role: grant for grant in selectors.active_grants(user=user, unit=unit)}
    for role in sorted(wanted - set(current)):
        grant_role(actor=actor, user=user, unit=unit, role=role)
    for role in sorted(set(current) - wanted):
        revoke_role(actor=actor, grant=current[role])
    return sorted(wanted)


@transaction.atomic
def enrol_staff(
    *, actor, unit: Unit, email: str, name: str, position: Position | str, roles=()
) -> StaffMembership:
    """Adds a person (a new account when the address is new) to a unit with a position and
    roles: what the administration page's "add a member" form does."""
    check_administrator(actor, unit.body)
    address = (email or "").strip()
    try:
        from django.core.validators import validate_email

        validate_email(address)
    except Exception:
        raise InvalidValue(
            "メールアドレスの形式が正しくありません。", "Invalid e-mail address.", field="email"
        ) from None
    name = _text(name, field="name", label="氏名", max_length=100, required=False)
    user = ensure_staff_user(email=address, name=name)
    membership = add_membership(actor=actor, user=user, unit=unit, position=position)
    set_roles(actor=actor, user=user, unit=unit, roles=list(roles))
    return membership


@transaction.atomic
def update_membership(
    *, actor, membership: StaffMembership, position: Position | str, roles
) -> StaffMembership:
    """Sets a member's position and roles in the unit at once."""
    membership = change_position(actor=actor, membership=membership, position=position)
    set_roles(actor=actor, user=membership.user, unit=membership.unit, roles=list(roles))
    return membership


# --- positions --------------------------------------------------------------------------


def _rank(rank) -> int:
    if isinstance(rank, str) and rank.strip().isdigit():
        rank = int(rank.strip())
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= 999:
        raise InvalidValue(
            "順位は1から999までの整数で入力してください。",
            "The rank must be a whole number from 1 to 999.",
            field="rank",
        )
    return rank


@transaction.atomic
def create_position(
    *, actor, body: Body | None, code: str, name: str, rank: int, name_en: str = ""
) -> Position:
    """Adds a position. Positions are shared by the bodies of the deployment."""
    if body is not None:
        check_administrator(actor, body)
    elif actor is not None:
        raise NotPermitted("職を追加する権限がありません。", "You may not add positions.")
    code = (code or "").strip()
    if not _POSITION_CODE.match(code):
        raise InvalidValue(
            "職コードは英小文字で始まる英小文字・数字・アンダースコア（30文字以内）にしてください。",
            "The code must be lower-case letters, digits or '_', starting with a letter.",
            field="code",
        )
    if Position.objects.filter(code=code).exists():
        raise InvalidValue(
            f"職コード「{code}」は既に使われています。",
            f"The position code '{code}' is already used.",
            field="code",
        )
    name = _text(name, field="name", label="名称", max_length=50)
    if Position.objects.filter(name=name).exists():
        raise InvalidValue(
            f"職「{name}」は既にあります。", f"The position '{name}' exists.", field="name"
        )
    position = Position.objects.create(
        code=code,
        name=name,
        name_en=_text(name_en, field="name_en", label="英語名称", max_length=100, required=False),
        rank=_rank(rank),
    )
    _event(
        "position_created",
        actor=actor,
        subject_type="position",
        subject_id=position.pk,
        body_id=body.pk if body else None,
        details={"code": code, "rank": position.rank},
    )
    return position


@transaction.atomic
def update_position(
    *, actor, body: Body | None, position: Position, name: str, rank: int, name_en: str = ""
) -> Position:
    if body is not None:
        check_administrator(actor, body)
    elif actor is not None:
        raise NotPermitted("職を変更する権限がありません。", "You may not change positions.")
    position = Position.objects.select_for_update().get(pk=position.pk)
    name = _text(name, field="name", label="名称", max_length=50)
    if Position.objects.filter(name=name).exclude(pk=position.pk).exists():
        raise InvalidValue(
            f"職「{name}」は既にあります。", f"The position '{name}' exists.", field="name"
        )
    position.name = name
    position.name_en = _text(
        name_en, field="name_en", label="英語名称", max_length=100, required=False
    )
    old_rank, position.rank = position.rank, _rank(rank)
    position.save()
    _event(
        "position_updated",
        actor=actor,
        subject_type="position",
        subject_id=position.pk,
        body_id=body.pk if body else None,
        details={"code": position.code, "rank": position.rank, "old_rank": old_rank},
    )
    return position


# --- delegation (代決) -------------------------------------------------------------------


@transaction.atomic
def create_delegation(
    *,
    actor,
    principal,
    deputy,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    body: Body,
    unit: Unit | None = None,
) -> Delegation:
    """Names `deputy` to act for `principal` from `starts_at` until `ends_at` (代決).
    The principal may name their own deputy; an administrator may name anyone's."""
    if actor is not None and actor.pk != principal.pk:
        check_administrator(actor, body)
    if principal.pk == deputy.pk:
        raise InvalidValue(
            "自分自身を代決者にはできません。",
            "You cannot be your own deputy.",
            field="deputy",
        )
    principal_units = list(
        StaffMembership.objects.filter(user=principal, unit__body=body).values_list(
            "unit_id", flat=True
        )
    )
    if not principal_units:
        raise OrganisationError(
            "この団体に所属している職員だけが代決者を指定できます。",
            "Only staff of this body can name a deputy.",
        )
    if not StaffMembership.objects.filter(user=deputy, unit__body=body).exists():
        raise InvalidValue(
            "代決者には同じ団体の職員を指定してください。",
            "The deputy must be staff of the same body.",
            field="deputy",
        )
    if unit is not None and unit.pk not in principal_units:
        raise InvalidValue(
            "代決の範囲には、指定する方が所属する組織を選んでください。",
            "The unit must be one the principal belongs to.",
            field="unit",
        )
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise InvalidValue(
            "終了日時は開始日時より後にしてください。",
            "The end must be after the start.",
            field="ends_at",
        )
    if ends_at <= timezone.now():
        raise InvalidValue(
            "終了日時が過ぎています。これからの期間を指定してください。",
            "The period has already ended.",
            field="ends_at",
        )
    if ends_at - starts_at > dt.timedelta(days=MAX_DELEGATION_DAYS):
        raise InvalidValue(
            f"代決の期間は{MAX_DELEGATION_DAYS}日以内にしてください。",
            f"A delegation lasts at most {MAX_DELEGATION_DAYS} days.",
            field="ends_at",
        )
    delegation = Delegation.objects.create(
        body=body,
        principal=principal,
        deputy=deputy,
        unit=unit,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
    )
    _event(
        "delegation_created",
        actor=actor,
        subject_type="delegation",
        subject_id=delegation.pk,
        body_id=body.pk,
        details={
            "principal": person("staff", principal.pk),
            "deputy": person("staff", deputy.pk),
            "unit": unit.code if unit else None,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
        },
    )
    return delegation


@transaction.atomic
def cancel_delegation(*, actor, delegation: Delegation) -> Delegation:
    delegation = Delegation.objects.select_for_update().select_related("body").get(pk=delegation.pk)
    if actor is not None and actor.pk != delegation.principal_id:
        check_administrator(actor, delegation.body)
    if delegation.cancelled_at is not None:
        return delegation
    delegation.cancelled_at = timezone.now()
    delegation.cancelled_by = actor
    delegation.save(update_fields=["cancelled_at", "cancelled_by"])
    _event(
        "delegation_cancelled",
        actor=actor,
        subject_type="delegation",
        subject_id=delegation.pk,
        body_id=delegation.body_id,
        details={
            "principal": person("staff", delegation.principal_id),
            "deputy": person("staff", delegation.deputy_id),
        },
    )
    return delegation


# --- CSV import ---------------------------------------------------------------------------


class ImportRejected(OrganisationError):
    """The files have problems; nothing was imported. `problems` lists them by row."""

    code = "import_rejected"
    status = 422

    def __init__(self, problems: list) -> None:
        super().__init__(
            f"{len(problems)}件の問題があるため、何も取り込みませんでした。",
            f"Nothing was imported: {len(problems)} problem(s).",
        )
        self.problems = problems


@dataclass
class ImportReport:
    dry_run: bool = False
    units_created: int = 0
    units_updated: int = 0
    units_unchanged: int = 0
    accounts_created: int = 0
    memberships_added: int = 0
    positions_changed: int = 0
    memberships_removed: int = 0
    roles_granted: int = 0
    roles_revoked: int = 0
    rows: int = 0


class _DryRun(Exception):
    pass


def _position_names() -> dict[str, str]:
    ensure_built_in_positions()
    names: dict[str, str] = {}
    for position in Position.objects.all():
        names[position.code] = position.code
        names[position.name] = position.code
        if position.name_en:
            names[position.name_en] = position.code
    return names


def _cross_problems(body: Body, units, staff, units_file: str, staff_file: str) -> list:
    from .csvimport import STAFF_COLUMNS, UNIT_COLUMNS, ImportProblem

    problems = []
    existing = {unit.code: unit for unit in Unit.objects.filter(body=body)}
    in_file = {row.code: row for row in units}
    for row in units:
        if row.parent and row.parent not in in_file and row.parent not in existing:
            problems.append(
                ImportProblem(
                    units_file,
                    row.row,
                    UNIT_COLUMNS["parent"][0],
                    f"上位組織「{row.parent}」がファイルにも登録済みの組織にもありません。",
                    f"The parent unit '{row.parent}' does not exist.",
                )
            )
            continue
        seen = {row.code}
        parent = row.parent
        while parent in in_file:
            if parent in seen:
                problems.append(
                    ImportProblem(
                        units_file,
                        row.row,
                        UNIT_COLUMNS["parent"][0],
                        "上位組織の指定が循環しています。",
                        "The parent units form a cycle.",
                    )
                )
                break
            seen.add(parent)
            parent = in_file[parent].parent
        if row.code in existing and row.parent not in in_file:
            current = existing[row.code]
            moved_below = (
                row.parent
                and existing.get(row.parent) is not None
                and selectors.unit_covers(current, existing[row.parent])
            )
            if moved_below:
                problems.append(
                    ImportProblem(
                        units_file,
                        row.row,
                        UNIT_COLUMNS["parent"][0],
                        "組織を自分の下位の組織の下に移すことはできません。",
                        "A unit cannot be moved below itself.",
                    )
                )
    for row in staff:
        unit = existing.get(row.unit)
        if row.unit not in in_file and (unit is None or not unit.is_active):
            problems.append(
                ImportProblem(
                    staff_file,
                    row.row,
                    STAFF_COLUMNS["unit"][0],
                    f"組織「{row.unit}」がファイルにも登録済みの組織（使用中）にもありません。",
                    f"The unit '{row.unit}' does not exist or is retired.",
                )
            )
    return problems


def _depth(row, in_file) -> int:
    depth, parent, guard = 0, row.parent, 0
    while parent in in_file and guard < len(in_file):
        depth, parent, guard = depth + 1, in_file[parent].parent, guard + 1
    return depth


def import_organisation(
    *,
    actor,
    body: Body,
    units_csv: bytes | None = None,
    staff_csv: bytes | None = None,
    remove_missing: bool = False,
    dry_run: bool = False,
    units_name: str = "units.csv",
    staff_name: str = "staff.csv",
) -> ImportReport:
    """Imports units and staff from CSV: every row or, if any row has a problem, none.

    Units are matched by 組織コード and staff memberships by (メールアドレス, 組織コード); the
    roles of a row become the member's roles in that unit. With `remove_missing`, the
    body's memberships that the staff file does not list end (人事異動). A dry run reports
    what would change and changes nothing. Every change is ledgered like a change made
    on the administration pages.
    """
    from .csvimport import parse_staff, parse_units

    check_administrator(actor, body)
    units, problems = parse_units(units_csv, file=units_name) if units_csv is not None else ([], [])
    staff: list = []
    if staff_csv is not None:
        staff, staff_problems = parse_staff(staff_csv, positions=_position_names(), file=staff_name)
        problems.extend(staff_problems)
    if remove_missing and staff_csv is None:
        raise InvalidValue(
            "所属を解除するには職員のファイルも指定してください。",
            "Removing memberships needs the staff file.",
            field="staff",
        )
    if not problems:
        problems = _cross_problems(body, units, staff, units_name, staff_name)
    if problems:
        raise ImportRejected(problems)
    report = ImportReport(dry_run=dry_run, rows=len(units) + len(staff))
    # Checked once above for the whole import (the services would check every row).
    token = _checked.set(_checked.get() | ({(actor.pk, body.pk)} if actor else set()))
    try:
        with transaction.atomic():
            _apply_import(actor, body, units, staff, remove_missing, report)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        _checked.reset(token)
    return report


def _import_staff(actor, body: Body, staff, units: dict[str, Unit], report: ImportReport):
    """The staff rows, with what they touch loaded once: thousands of rows must not cost
    a dozen queries each. The changes and their events are those of the services
    (`add_membership`, `change_position`, `grant_role`, `revoke_role`)."""
    User = get_user_model()
    emails = {row.email for row in staff}
    users = {user.email.lower(): user for user in User.objects.filter(email__in=emails)}
    positions = {position.code: position for position in Position.objects.all()}
    memberships: dict[tuple[int, int], StaffMembership] = {}
    has_primary: set[int] = set()
    for membership in StaffMembership.objects.filter(user__in=list(users.values())):
        memberships[(membership.user_id, membership.unit_id)] = membership
        if membership.is_primary:
            has_primary.add(membership.user_id)
    grants: dict[tuple[int, int], dict[str, RoleGrant]] = {}
    for grant in RoleGrant.objects.filter(unit__body=body, revoked_at__isnull=True):
        grants.setdefault((grant.user_id, grant.unit_id), {})[grant.role] = grant
    listed: set[tuple[int, int]] = set()
    now = timezone.now()
    for row in staff:
        user = users.get(row.email)
        if user is None:
            user = User.objects.create_user(email=row.email, password=None, display_name=row.name)
            users[row.email] = user
            report.accounts_created += 1
        elif row.name and user.display_name != row.name:
            user.display_name = row.name
            user.save(update_fields=["display_name"])
        unit, position = units[row.unit], positions[row.position]
        key = (user.pk, unit.pk)
        membership = memberships.get(key)
        if membership is None:
            primary = row.primary if row.primary is not None else user.pk not in has_primary
            if primary and user.pk in has_primary:
                StaffMembership.objects.filter(user=user, is_primary=True).update(is_primary=False)
            membership = StaffMembership.objects.create(
                user=user, unit=unit, position=position, is_primary=primary
            )
            memberships[key] = membership
            if primary:
                has_primary.add(user.pk)
            _event(
                "membership_added",
                actor=actor,
                subject_type="staff_membership",
                subject_id=membership.pk,
                body_id=body.pk,
                details={
                    "user": person("staff", user.pk),
                    "unit": unit.code,
                    "position": position.code,
                    "primary": primary,
                },
            )
            report.memberships_added += 1
        else:
            if membership.position_id != position.code:
                previous = membership.position_id
                membership.position = position
                membership.save(update_fields=["position"])
                _event(
                    "position_changed",
                    actor=actor,
                    subject_type="staff_membership",
                    subject_id=membership.pk,
                    body_id=body.pk,
                    details={
                        "user": person("staff", user.pk),
                        "unit": unit.code,
                        "from": previous,
                        "to": position.code,
                    },
                )
                report.positions_changed += 1
            if row.primary and not membership.is_primary:
                StaffMembership.objects.filter(user=user, is_primary=True).update(is_primary=False)
                StaffMembership.objects.filter(pk=membership.pk).update(is_primary=True)
        held = grants.get(key, {})
        for role in sorted(set(row.roles) - set(held)):
            grant = RoleGrant.objects.create(
                user=user, unit=unit, role=role, granted_by=actor, granted_at=now
            )
            _event(
                "role_granted",
                actor=actor,
                subject_type="role_grant",
                subject_id=grant.pk,
                body_id=body.pk,
                details={"user": person("staff", user.pk), "unit": unit.code, "role": role},
            )
            report.roles_granted += 1
        for role in sorted(set(held) - set(row.roles)):
            revoke_role(actor=actor, grant=held[role])
            report.roles_revoked += 1
        listed.add(key)
    return listed


def _apply_import(actor, body: Body, units, staff, remove_missing: bool, report: ImportReport):
    in_file = {row.code: row for row in units}
    existing = {unit.code: unit for unit in Unit.objects.filter(body=body)}
    for row in sorted(units, key=lambda item: _depth(item, in_file)):
        parent = existing.get(row.parent) if row.parent else None
        current = existing.get(row.code)
        if current is None:
            existing[row.code] = create_unit(
                actor=actor,
                body=body,
                code=row.code,
                name=row.name,
                kind=row.kind,
                parent=parent,
                name_en=row.name_en,
                document_symbol=row.document_symbol,
                email=row.email,
                phone=row.phone,
            )
            report.units_created += 1
            continue
        changes = {
            key: value
            for key, value in {
                "name": row.name,
                "kind": row.kind,
                "name_en": row.name_en,
                "document_symbol": row.document_symbol,
                "email": row.email,
                "phone": row.phone,
            }.items()
            if getattr(current, key) != value
        }
        if (parent.pk if parent else None) != current.parent_id:
            changes["parent"] = parent
        if changes:
            existing[row.code] = update_unit(actor=actor, unit=current, **changes)
            # Units below a moved unit have new paths.
            existing.update({unit.code: unit for unit in Unit.objects.filter(body=body)})
            report.units_updated += 1
        else:
            report.units_unchanged += 1
    listed = _import_staff(actor, body, staff, existing, report)
    if remove_missing:
        for membership in StaffMembership.objects.filter(unit__body=body).select_related("unit"):
            if (membership.user_id, membership.unit_id) not in listed:
                remove_membership(actor=actor, membership=membership)
                report.memberships_removed += 1
