"""Who may see and run counters (窓口) on the staff side: organisation roles, as for
applications. Seeing a counter's bookings needs applications.view in the unit that runs it
(or above); checking in, moving, cancelling and blocking need applications.process."""

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
