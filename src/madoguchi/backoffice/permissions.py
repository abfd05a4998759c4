"""Who may do what to an application on the staff side.

Roles and their reach come from the organisation (`organisation.roles`, the subtree rule
in `organisation.selectors`): a case worker's role in a unit reaches that unit and the
units below it. On top of that, the approval route gives the people it asks (a step, a
合議 unit, a deputy) the item it asks them about, and nothing else of the unit.
"""

from __future__ import annotations

from django.db.models import QuerySet

from madoguchi.counter import routing
from madoguchi.counter.models import Application
from madoguchi.organisation import roles
from madoguchi.organisation.models import Unit
from madoguchi.organisation.selectors import has_permission, units_for_role

VIEW = roles.VIEW_APPLICATIONS
PROCESS = roles.PROCESS_APPLICATIONS
DECIDE = roles.DECIDE
SPECIAL = roles.VIEW_SPECIAL_PERSONAL_DATA


def units_with(user, permission: str) -> QuerySet[Unit]:
    """The units where the user holds a role with that permission (and those below)."""
    result = Unit.objects.none()
    for role in roles.roles_with(permission):
        result = result | units_for_role(user, role)
    return result.distinct()


def unit_ids_with(user, permission: str) -> list[int]:
    return list(units_with(user, permission).values_list("pk", flat=True))


def can(user, permission: str, application: Application) -> bool:
    return has_permission(user, permission, unit=application.unit)


def can_view(user, application: Application) -> bool:
    return can(user, VIEW, application) or routing.may_view(user=user, application=application)


def can_view_special(user, application: Application) -> bool:
    """My Number in clear and `sensitive` answers and attachments: the explicit role in
    the application's unit, on top of seeing the application."""
    return can(user, SPECIAL, application) and can_view(user, application)
