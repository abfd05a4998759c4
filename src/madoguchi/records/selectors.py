"""Read paths of the records register, each scoped to what the requester may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import DispositionProposal, FileState, ProposalState, Record, RecordFile


def _records_bodies(user):
    from madoguchi.organisation.models import Role
    from madoguchi.organisation.selectors import bodies_for_role

    return bodies_for_role(user, Role.RECORDS_OFFICER)


def files_for_staff(user) -> QuerySet[RecordFile]:
    """The register as staff see it: every file of the units they see, the public (公開)
    files of their bodies, and every file of the bodies where they are records officers.
    Opening a record checks more (services.access_refusal)."""
    from madoguchi.organisation.selectors import memberships_of, visible_units

    from .models import Confidentiality

    if not getattr(user, "is_authenticated", False):
        return RecordFile.objects.none()
    bodies = memberships_of(user).values("unit__body_id")
    return (
        RecordFile.objects.filter(
            Q(unit__in=visible_units(user))
            | Q(body__in=_records_bodies(user))
            | Q(body__in=bodies, confidentiality=Confidentiality.PUBLIC)
        )
        .select_related("body", "unit")
        .order_by("-fiscal_year", "classification_major", "classification_middle", "title")
    )


def file_for_staff(user, file_id) -> RecordFile | None:
    try:
        return files_for_staff(user).filter(pk=file_id).first()
    except (ValueError, TypeError):
        return None


def expired_in(bodies, *, today: dt.date | None = None) -> QuerySet[RecordFile]:
    """Files of these bodies whose retention has expired, not on hold, without an open
    proposal."""
    today = today or timezone.localdate()
    open_proposals = DispositionProposal.objects.filter(
        state__in=[ProposalState.IN_APPROVAL, ProposalState.APPROVED]
    ).values("file_id")
    return (
        RecordFile.objects.filter(
            body__in=bodies, state=FileState.ACTIVE, on_hold=False, expiry__lt=today
        )
        .exclude(pk__in=open_proposals)
        .select_related("body", "unit")
        .order_by("expiry", "title")
    )


def expired_files(user, *, today: dt.date | None = None) -> QuerySet[RecordFile]:
    """The expired files of the bodies where the user is a records officer."""
    return expired_in(_records_bodies(user), today=today)


def records_of(file: RecordFile) -> QuerySet[Record]:
    return file.records.select_related("procedure_version").order_by("created_on", "created_at")


def record_for_staff(user, record_id) -> Record | None:
    try:
        return (
            Record.objects.filter(file__in=files_for_staff(user), pk=record_id)
            .select_related(
                "file",
                "file__body",
                "file__unit",
                "procedure_version",
                "subject_user",
                "applied_for_user",
            )
            .first()
        )
    except (ValueError, TypeError):
        return None


def proposals_for(user) -> QuerySet[DispositionProposal]:
    return (
        DispositionProposal.objects.filter(file__body__in=_records_bodies(user))
        .select_related("file", "proposed_by")
        .order_by("-created_at")
    )


def proposal_for(user, proposal_id) -> DispositionProposal | None:
    try:
        return proposals_for(user).filter(pk=proposal_id).first()
    except (ValueError, TypeError):
        return None


def public_register(body) -> QuerySet[RecordFile]:
    """The register in the form the body publishes: file-level fields only."""
    return (
        RecordFile.objects.filter(body=body)
        .select_related("unit")
        .order_by("-fiscal_year", "classification_major", "classification_middle", "title")
    )


def search(queryset: QuerySet[RecordFile], params) -> QuerySet[RecordFile]:
    """Filters of the register's search form (all optional)."""
    text = (params.get("q") or "").strip()[:100]
    if text:
        for word in text.split():
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(classification_major__icontains=word)
                | Q(classification_middle__icontains=word)
                | Q(classification_minor__icontains=word)
            )
    year = params.get("year") or ""
    if str(year).isdigit():
        queryset = queryset.filter(fiscal_year=int(year))
    state = params.get("state") or ""
    if state in FileState.values:
        queryset = queryset.filter(state=state)
    retention_class = params.get("retention") or ""
    if retention_class:
        queryset = queryset.filter(retention_class=retention_class)
    unit = params.get("unit") or ""
    if unit:
        queryset = queryset.filter(unit__code=unit)
    return queryset
