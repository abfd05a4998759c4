"""Read paths, each scoped to what the requester may see."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from madoguchi.ledger.services import events_for
from madoguchi.organisation.selectors import visible_units

from .models import Application, ApplicationFile, Channel, State


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
        # A draft staff are entering at the counter (書かない窓口) is theirs until the
        # resident confirms it there.
        .exclude(state=State.DRAFT, channel=Channel.COUNTER)
        .select_related("procedure_version", "body", "procedure")
        .order_by("-updated_at")
    )


def application_for_resident(user, application_id) -> Application | None:
    key = _uuid(application_id)
    if key is None:
        return None
    return applications_for_resident(user).filter(pk=key).first()


def assisted_draft(user, application_id) -> Application | None:
    """A draft the staff member is entering with a resident at the counter (書かない窓口):
    only its pages and its check page, until the resident confirms it."""
    key = _uuid(application_id)
    if key is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        Application.objects.filter(
            pk=key, state=State.DRAFT, channel=Channel.COUNTER, entered_by=user
        )
        .select_related("procedure_version", "body", "procedure")
        .first()
    )


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


def data_subjects(application: Application) -> list:
    """Whose personal data an application is: the applicant and, for one made for someone
    else (法定代理人, 委任状), that person when they have an account that may see it
    (`subject_user`). Staff opening the application or what it led to (its documents,
    its booking) is logged for each of them."""
    subjects = [application.applicant]
    if application.subject_user_id and application.subject_user_id != application.applicant_id:
        subjects.append(application.subject_user)
    return subjects


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


# The office's internal steps: never in what the resident reads (pages, API, e-mail).
INTERNAL_EVENTS = frozenset(
    {
        "application.note_added",
        "application.assigned",
        "application.propose_decision",
        "application.route_send_back",
        "application.recall_decision",
        "application.assisted_started",
    }
)


def history_for_resident(application: Application):
    """The application's events the resident sees: what happened to it, not the office's
    internal steps (staff notes, assignments, drafts in the approval route)."""
    return history(application).exclude(event_type__in=INTERNAL_EVENTS)


def counts_by_state(queryset: QuerySet[Application]) -> dict[str, int]:
    from django.db.models import Count

    return {
        row["state"]: row["n"]
        for row in queryset.order_by().values("state").annotate(n=Count("id"))
    }


def application_counts() -> dict[str, int]:
    """Applications of every body by state (monitoring); drafts included."""
    return counts_by_state(Application.objects.all())
