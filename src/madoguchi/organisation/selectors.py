"""Read paths of the organisation: units, positions, roles and delegations.

The subtree rule: whatever a person holds in a unit (membership, unit-scoped role) reaches
that unit and every unit below it — a 課長 of 市民課 sees the 証明係 under it, the 証明係長
does not see 市民課. Body-wide roles (records officer, procedure author, administrator)
reach every unit of their body. Nothing reaches another body.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import roles as role_specs
from .models import Body, Delegation, Position, RoleGrant, StaffMembership, Unit


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


# --- units ------------------------------------------------------------------------------


def memberships_of(user) -> QuerySet[StaffMembership]:
    if not _authenticated(user):
        return StaffMembership.objects.none()
    return StaffMembership.objects.filter(user=user).select_related(
        "unit", "unit__body", "position"
    )


def is_staff_member(user) -> bool:
    return memberships_of(user).exists()


def _subtrees(paths: list[str]) -> QuerySet[Unit]:
    if not paths:
        return Unit.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Unit.objects.filter(condition)


def visible_units(user) -> QuerySet[Unit]:
    """Units whose work a staff member may see: their own units and every unit below them."""
    return _subtrees(list(memberships_of(user).values_list("unit__path", flat=True)))


def body_by_code(code: str) -> Body | None:
    return Body.objects.filter(code=code).first()


def unit_by_code(body: Body, code: str) -> Unit | None:
    return Unit.objects.filter(body=body, code=code).first()


def units_of_body(body: Body, *, active_only: bool = False) -> QuerySet[Unit]:
    queryset = Unit.objects.filter(body=body)
    return queryset.filter(is_active=True) if active_only else queryset


def subtree(unit: Unit) -> QuerySet[Unit]:
    """The unit and every unit below it."""
    return Unit.objects.filter(path__startswith=unit.path)


def ancestors(unit: Unit) -> list[Unit]:
    """The unit and the units above it, nearest first (係 → 課 → 部)."""
    prefixes = []
    parts = unit.path.strip("/").split("/")
    for end in range(len(parts), 1, -1):
        prefixes.append("/" + "/".join(parts[:end]) + "/")
    found = {u.path: u for u in Unit.objects.filter(body_id=unit.body_id, path__in=prefixes)}
    return [found[prefix] for prefix in prefixes if prefix in found]


def unit_covers(outer: Unit, inner: Unit) -> bool:
    return inner.path.startswith(outer.path)


# --- positions --------------------------------------------------------------------------


def positions() -> QuerySet[Position]:
    return Position.objects.all()


def position_by_code(code: str) -> Position | None:
    return Position.objects.filter(code=code).first()


def position_by_text(text: str) -> Position | None:
    """A position from its code or its Japanese or English name (for CSV files)."""
    cleaned = text.strip()
    if not cleaned:
        return None
    return Position.objects.filter(
        Q(code=cleaned) | Q(name=cleaned) | Q(name_en__iexact=cleaned)
    ).first()


def position_rank(code: str) -> int | None:
    return Position.objects.filter(code=code).values_list("rank", flat=True).first()


def position_in(user, unit: Unit) -> Position | None:
    membership = (
        StaffMembership.objects.filter(user=user, unit=unit).select_related("position").first()
    )
    return membership.position if membership else None


# --- roles ------------------------------------------------------------------------------


def active_grants(
    *, user=None, unit: Unit | None = None, role: str | None = None
) -> QuerySet[RoleGrant]:
    queryset = RoleGrant.objects.filter(revoked_at__isnull=True).select_related(
        "unit", "unit__body", "user"
    )
    if user is not None:
        if not _authenticated(user):
            return RoleGrant.objects.none()
        queryset = queryset.filter(user=user)
    if unit is not None:
        queryset = queryset.filter(unit=unit)
    if role is not None:
        queryset = queryset.filter(role=role)
    return queryset


def grant_history(*, body: Body, user=None) -> QuerySet[RoleGrant]:
    """Every grant of the body's units, revoked ones included, newest first."""
    queryset = RoleGrant.objects.filter(unit__body=body).select_related(
        "unit", "user", "granted_by", "revoked_by"
    )
    return queryset.filter(user=user) if user is not None else queryset


def _grant_covers(grant: RoleGrant, unit: Unit) -> bool:
    if role_specs.spec(grant.role).scope == role_specs.BODY:
        return grant.unit.body_id == unit.body_id
    return unit_covers(grant.unit, unit)


def has_role(user, role: str, *, unit: Unit | None = None) -> bool:
    """Whether the user holds `role` now; with `unit`, whether the role reaches that unit
    (held there or above it, or anywhere in its body for a body-wide role)."""
    role_specs.spec(role)  # an unknown role is a programming error, not a False
    grants = list(active_grants(user=user, role=role))
    if unit is None:
        return bool(grants)
    return any(_grant_covers(grant, unit) for grant in grants)


def has_permission(user, permission: str, *, unit: Unit | None = None) -> bool:
    return any(has_role(user, role, unit=unit) for role in role_specs.roles_with(permission))


def units_for_role(user, role: str) -> QuerySet[Unit]:
    """The units a role of the user reaches (see the subtree rule above)."""
    grants = list(active_grants(user=user, role=role))
    if not grants:
        return Unit.objects.none()
    if role_specs.spec(role).scope == role_specs.BODY:
        return Unit.objects.filter(body_id__in={grant.unit.body_id for grant in grants})
    return _subtrees([grant.unit.path for grant in grants])


def bodies_for_role(user, role: str) -> QuerySet[Body]:
    body_ids = {grant.unit.body_id for grant in active_grants(user=user, role=role)}
    return Body.objects.filter(pk__in=body_ids)


def holders(unit: Unit, *, position: str | None = None, role: str | None = None):
    """The people in `unit` itself with that position and/or holding that role there."""
    users = get_user_model().objects.filter(is_active=True)
    if position:
        users = users.filter(memberships__unit=unit, memberships__position_id=position)
    if role:
        users = users.filter(
            role_grants__unit=unit, role_grants__role=role, role_grants__revoked_at__isnull=True
        )
    return users.distinct().order_by("pk")


def members_of(unit: Unit) -> QuerySet[StaffMembership]:
    return (
        StaffMembership.objects.filter(unit=unit)
        .select_related("user", "position")
        .order_by("-position__rank", "user__display_name", "user__email")
    )


# --- delegation (代決) -------------------------------------------------------------------


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


def delegations_received(user, at: dt.datetime | None = None) -> QuerySet[Delegation]:
    """The delegations that let `user` act for someone at `at` (now by default)."""
    if not _authenticated(user):
        return Delegation.objects.none()
    moment = _now(at)
    return Delegation.objects.filter(
        deputy=user, cancelled_at__isnull=True, starts_at__lte=moment, ends_at__gt=moment
    ).select_related("principal", "unit")


def acting_for(user, at: dt.datetime | None = None) -> list:
    """The people `user` may act for at `at` (their 代決者 is `user`). One level only: a
    deputy's own deputy does not inherit the delegation."""
    seen: dict[int, object] = {}
    for delegation in delegations_received(user, at):
        seen.setdefault(delegation.principal_id, delegation.principal)
    return list(seen.values())


def delegation_between(
    principal, deputy, *, unit: Unit | None = None, at: dt.datetime | None = None
) -> Delegation | None:
    """The active delegation from `principal` to `deputy` that reaches `unit`, if any."""
    for delegation in delegations_received(deputy, at).filter(principal=principal):
        if delegation.unit is None or unit is None or unit_covers(delegation.unit, unit):
            return delegation
    return None


def delegations_given(user) -> QuerySet[Delegation]:
    return Delegation.objects.filter(principal=user).select_related("deputy", "unit")


def delegations_of_body(body: Body) -> QuerySet[Delegation]:
    return Delegation.objects.filter(body=body).select_related(
        "principal", "deputy", "unit", "created_by"
    )


def current_deputies(user, at: dt.datetime | None = None) -> QuerySet[Delegation]:
    moment = _now(at)
    return delegations_given(user).filter(
        cancelled_at__isnull=True, starts_at__lte=moment, ends_at__gt=moment
    )
