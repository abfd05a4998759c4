from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import Body, StaffMembership, Unit


def memberships_of(user) -> QuerySet[StaffMembership]:
    if not getattr(user, "is_authenticated", False):
        return StaffMembership.objects.none()
    return StaffMembership.objects.filter(user=user).select_related("unit", "unit__body")


def is_staff_member(user) -> bool:
    return memberships_of(user).exists()


def visible_units(user) -> QuerySet[Unit]:
    """Units whose work a staff member may see: their own units and every unit below them."""
    paths = list(memberships_of(user).values_list("unit__path", flat=True))
    if not paths:
        return Unit.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Unit.objects.filter(condition)


def body_by_code(code: str) -> Body | None:
    return Body.objects.filter(code=code).first()


def unit_by_code(body: Body, code: str) -> Unit | None:
    return Unit.objects.filter(body=body, code=code).first()
