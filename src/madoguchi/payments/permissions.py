"""Who may see and handle fees on the staff side: organisation roles (organisation.roles),
the same rule as for the applications themselves. Seeing needs applications.view in the
fee's unit (or above it); recording, waiving and refunding need applications.process."""

from __future__ import annotations

from django.db.models import QuerySet

from madoguchi.organisation import roles
from madoguchi.organisation.models import Unit
from madoguchi.organisation.selectors import has_permission, units_for_role

VIEW = roles.VIEW_APPLICATIONS
PROCESS = roles.PROCESS_APPLICATIONS


def units_with(user, permission: str) -> QuerySet[Unit]:
    result = Unit.objects.none()
    for role in roles.roles_with(permission):
        result = result | units_for_role(user, role)
    return result.distinct()


def may(user, permission: str, unit) -> bool:
    return has_permission(user, permission, unit=unit)
