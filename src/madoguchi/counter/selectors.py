"""Read paths, each scoped to what the requester may see."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from madoguchi.ledger.services import events_for
from madoguchi.organisation.selectors import visible_units

from .models import Application, ApplicationFile, State


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def applications_for_resident(user) -> QuerySet[Application]:
    """The resident's own applications, and submitted ones made for them that they may see."""
    if not user.is_authenticated:
        return Application.objects.none()
    return (
        Application.objects.filter(
            Q(applicant=user) | (Q(subject_user=user) & ~Q(state=State.DRAFT))
        )
        .select_related("procedure_version", "body", "procedure")
        .order_by("-updated_at")
    )


def application_for_resident(user, application_id) -> Application | None:
    key = _uuid(application_id)
    if key is None:
        return None
    return applications_for_resident(user).filter(pk=key).first()


def applications_for_staff(user) -> QuerySet[Application]:
    """Submitted applications handled by the staff member's units (and units below them)."""
    return (
        Application.objects.filter(unit__in=visible_units(user))
        .exclude(state=State.DRAFT)
        .select_related("procedure_version", "body", "unit", "applicant")
        .order_by("-submitted_at")
    )


def application_for_staff(user, application_id) -> Application | None:
    key = _uuid(application_id)
    if key is None:
        return None
    return applications_for_staff(user).filter(pk=key).first()


def file_of_application(application: Application, file_id) -> ApplicationFile | None:
    key = _uuid(file_id)
    if key is None:
        return None
    return (
        ApplicationFile.objects.select_related("stored_file")
        .filter(application=application, stored_file_id=key)
        .first()
    )


def history(application: Application):
    return events_for(subject_type="application", subject_id=application.pk)


def counts_by_state(queryset: QuerySet[Application]) -> dict[str, int]:
    from django.db.models import Count

    return {
        row["state"]: row["n"]
        for row in queryset.order_by().values("state").annotate(n=Count("id"))
    }
