"""Read paths of the approval engine, each scoped to what the requester may see or do.

Who may act on a step: a person who holds the step's position and/or role in the step's
unit itself (not above it: a 課長 does not act on the 係長's step), or their deputy while a
delegation (代決) from them reaches that unit. Four-eyes: never the drafter, and never
someone whose approval already counts at another stage of the instance (as approver or
as the person a deputy acted for).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone

from madoguchi.ledger.services import events_for
from madoguchi.organisation import selectors as organisation
from madoguchi.organisation.models import RoleGrant, StaffMembership

from . import registry
from .models import (
    ApprovalInstance,
    ApprovalStep,
    DocumentState,
    InstanceState,
    InternalDocument,
    Route,
    RouteVersion,
    StepState,
)


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


# --- routes -----------------------------------------------------------------------------


def route_for(body, identifier: str) -> RouteVersion | None:
    """The current version of a body's route (`approval_route` of a procedure names it)."""
    route = (
        Route.objects.filter(body=body, identifier=identifier)
        .select_related("current_version")
        .first()
    )
    return route.current_version if route else None


def routes_of_body(body) -> QuerySet[Route]:
    return Route.objects.filter(body=body, current_version__isnull=False).select_related(
        "current_version", "body"
    )


def routes_for_kind(body, kind: str) -> list[Route]:
    """Routes a subject of `kind` may take: those listing it in `subjects`, or listing none."""
    return [
        route
        for route in routes_of_body(body)
        if not route.current_version.subjects or kind in route.current_version.subjects
    ]


# --- who may act ------------------------------------------------------------------------


@dataclass
class _Capacity:
    """What one person holds, unit by unit: position there, roles there."""

    positions: dict[int, str] = field(default_factory=dict)
    roles: dict[int, set[str]] = field(default_factory=dict)

    def holds(self, step: ApprovalStep) -> bool:
        if step.position and self.positions.get(step.unit_id) != step.position:
            return False
        if step.role and step.role not in self.roles.get(step.unit_id, set()):
            return False
        return bool(step.position or step.role)


def _capacities(user_ids: list[int]) -> dict[int, _Capacity]:
    result = {user_id: _Capacity() for user_id in user_ids}
    for user_id, unit_id, position in StaffMembership.objects.filter(
        user_id__in=user_ids
    ).values_list("user_id", "unit_id", "position_id"):
        result[user_id].positions[unit_id] = position
    for user_id, unit_id, role in RoleGrant.objects.filter(
        user_id__in=user_ids, revoked_at__isnull=True
    ).values_list("user_id", "unit_id", "role"):
        result[user_id].roles.setdefault(unit_id, set()).add(role)
    return result


@dataclass(frozen=True)
class Authority:
    """Whether a person may act on a step now, and for whom (None: in their own right)."""

    allowed: bool
    on_behalf_of: object | None = None
    reason_ja: str = ""
    reason_en: str = ""


NOT_YOURS = Authority(
    False,
    reason_ja="この段階を処理する権限がありません（職・役割・代決の指定をご確認ください）。",
    reason_en="You may not act on this step (check your position, role or delegation).",
)
DRAFTER = Authority(
    False,
    reason_ja="起案者は自分の起案を承認・差戻しできません（四つの目の原則）。",
    reason_en="The drafter cannot approve or return their own draft (four-eyes rule).",
)
EARLIER = Authority(
    False,
    reason_ja="別の段階で承認した方は、この段階を承認できません（四つの目の原則）。",
    reason_en="Someone who approved another stage cannot approve this one (four-eyes rule).",
)


def _approvers_elsewhere(instance: ApprovalInstance, stage: int) -> set[int]:
    """People whose approval counts at another stage of the instance."""
    people: set[int] = set()
    for acted_by, acted_for in (
        instance.steps.filter(state=StepState.APPROVED, superseded_at__isnull=True)
        .exclude(stage=stage)
        .values_list("acted_by_id", "acted_for_id")
    ):
        people.update(person for person in (acted_by, acted_for) if person)
    return people


def authority(
    user,
    step: ApprovalStep,
    *,
    on_behalf_of=None,
    at: dt.datetime | None = None,
    approving: bool = True,
) -> Authority:
    """May `user` act on `step` now? `on_behalf_of` asks for 代決 for that person; without
    it the user acts in their own right if they can, else for someone who delegated to them."""
    if not getattr(user, "is_authenticated", False):
        return NOT_YOURS
    instance = step.instance
    if user.pk == instance.drafter_id:
        return DRAFTER
    candidates: list = []
    if on_behalf_of is None or on_behalf_of.pk == user.pk:
        candidates.append(None)
    if on_behalf_of is None or on_behalf_of.pk != user.pk:
        for principal in organisation.acting_for(user, at):
            if on_behalf_of is not None and principal.pk != on_behalf_of.pk:
                continue
            if organisation.delegation_between(principal, user, unit=step.unit, at=at):
                candidates.append(principal)
    if not candidates:
        return NOT_YOURS
    people = [user.pk, *(principal.pk for principal in candidates if principal is not None)]
    capacities = _capacities(people)
    elsewhere = _approvers_elsewhere(instance, step.stage) if approving else set()
    refusal = NOT_YOURS
    for principal in candidates:
        holder = user if principal is None else principal
        if not capacities[holder.pk].holds(step):
            continue
        if principal is not None and principal.pk == instance.drafter_id:
            refusal = DRAFTER
            continue
        if user.pk in elsewhere or (principal is not None and principal.pk in elsewhere):
            refusal = EARLIER
            continue
        return Authority(True, on_behalf_of=principal)
    return refusal


@dataclass(frozen=True)
class Actionable:
    step: ApprovalStep
    on_behalf_of: object | None

    @property
    def instance(self) -> ApprovalInstance:
        return self.step.instance


def _open_steps() -> QuerySet[ApprovalStep]:
    return ApprovalStep.objects.filter(
        state=StepState.PENDING,
        superseded_at__isnull=True,
        instance__state=InstanceState.IN_PROGRESS,
    ).select_related("instance", "instance__drafter_unit", "instance__drafter", "unit")


def actionable_steps(user, at: dt.datetime | None = None) -> list[Actionable]:
    """The steps `user` can act on now, directly or as a deputy, oldest first."""
    if not getattr(user, "is_authenticated", False):
        return []
    moment = at or timezone.now()
    principals = organisation.acting_for(user, moment)
    delegations = {
        delegation.principal_id: delegation
        for delegation in organisation.delegations_received(user, moment)
    }
    people = [user.pk, *(principal.pk for principal in principals)]
    capacities = _capacities(people)
    unit_ids: set[int] = set()
    for capacity in capacities.values():
        unit_ids |= set(capacity.positions) | set(capacity.roles)
    steps = list(_open_steps().filter(unit_id__in=unit_ids).order_by("activated_at", "pk"))
    if not steps:
        return []
    elsewhere: dict[tuple, set[int]] = {}
    for instance_id, stage, acted_by, acted_for in ApprovalStep.objects.filter(
        instance_id__in={step.instance_id for step in steps},
        state=StepState.APPROVED,
        superseded_at__isnull=True,
    ).values_list("instance_id", "stage", "acted_by_id", "acted_for_id"):
        elsewhere.setdefault((instance_id, stage), set()).update(
            person for person in (acted_by, acted_for) if person
        )
    by_pk = {principal.pk: principal for principal in principals}
    result: list[Actionable] = []
    for step in steps:
        drafter = step.instance.drafter_id
        if drafter == user.pk:
            continue
        approved_elsewhere = set().union(
            *(
                people_
                for (instance_id, stage), people_ in elsewhere.items()
                if instance_id == step.instance_id and stage != step.stage
            )
        )
        if user.pk in approved_elsewhere:
            continue
        if capacities[user.pk].holds(step):
            result.append(Actionable(step, None))
            continue
        for principal_id in people[1:]:
            delegation = delegations.get(principal_id)
            reaches = delegation is not None and (
                delegation.unit is None or organisation.unit_covers(delegation.unit, step.unit)
            )
            if (
                reaches
                and principal_id != drafter
                and principal_id not in approved_elsewhere
                and capacities[principal_id].holds(step)
            ):
                result.append(Actionable(step, by_pk[principal_id]))
                break
    return result


def actionable_step(user, step_id, at: dt.datetime | None = None) -> Actionable | None:
    for item in actionable_steps(user, at):
        if str(item.step.pk) == str(step_id):
            return item
    return None


# --- instances --------------------------------------------------------------------------


def instances_of(kind: str, subject_id) -> QuerySet[ApprovalInstance]:
    """Every instance of a subject, newest first (a subject may have run a route twice)."""
    return ApprovalInstance.objects.filter(kind=kind, subject_id=str(subject_id)).select_related(
        "route_version", "drafter", "drafter_unit"
    )


def open_instance_of(kind: str, subject_id) -> ApprovalInstance | None:
    return (
        instances_of(kind, subject_id)
        .filter(
            state__in=[InstanceState.IN_PROGRESS, InstanceState.RETURNED, InstanceState.RECALLED]
        )
        .first()
    )


def can_view(user, instance: ApprovalInstance) -> bool:
    """The drafter; the drafting unit and the units above it; every unit a step of the
    instance was given to (合議 units see what they are asked about) and the units above
    them; whoever acted or can act now (deputies included); and what the kind allows."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.pk == instance.drafter_id:
        return True
    units = organisation.visible_units(user)
    if units.filter(pk=instance.drafter_unit_id).exists():
        return True
    steps = instance.steps.all()
    if steps.filter(Q(unit__in=units) | Q(acted_by=user) | Q(acted_for=user)).exists():
        return True
    for step in steps.filter(state=StepState.PENDING, superseded_at__isnull=True):
        step.instance = instance
        if authority(user, step, approving=False).allowed:
            return True
    if registry.is_registered(instance.kind):
        hook = registry.get_kind(instance.kind).can_view
        if hook is not None and hook(user, instance):
            return True
    return False


def may_view_subject(*, user, kind: str, subject_id) -> bool:
    """Whether any instance of the subject may be seen by `user` (see `can_view`)."""
    return any(can_view(user, instance) for instance in instances_of(kind, subject_id))


def instance_for(user, instance_id) -> ApprovalInstance | None:
    key = _uuid(instance_id)
    if key is None:
        return None
    instance = (
        ApprovalInstance.objects.filter(pk=key)
        .select_related("route_version", "drafter", "drafter_unit", "body")
        .first()
    )
    if instance is None or not can_view(user, instance):
        return None
    return instance


def visible_instances(user) -> QuerySet[ApprovalInstance]:
    """Instances drafted in, or given to, the user's units and the units below them."""
    if not getattr(user, "is_authenticated", False):
        return ApprovalInstance.objects.none()
    units = organisation.visible_units(user)
    return (
        ApprovalInstance.objects.filter(
            Q(drafter=user)
            | Q(drafter_unit__in=units)
            | Q(steps__unit__in=units)
            | Q(steps__acted_by=user)
            | Q(steps__acted_for=user)
        )
        .distinct()
        .select_related("route_version", "drafter", "drafter_unit")
    )


def participating_subject_ids(user, kind: str) -> QuerySet:
    """Subject ids of `kind` that a route gives to the user's units (as values for an
    `__in` filter): the back office shows these applications to 合議 units."""
    return visible_instances(user).filter(kind=kind).order_by().values_list("subject_id", flat=True)


def drafted_by(user) -> QuerySet[ApprovalInstance]:
    return ApprovalInstance.objects.filter(drafter=user).select_related(
        "route_version", "drafter_unit"
    )


def steps_of(instance: ApprovalInstance) -> QuerySet[ApprovalStep]:
    return instance.steps.select_related("unit", "acted_by", "acted_for").order_by(
        "round", "stage", "pk"
    )


def current_steps(instance: ApprovalInstance) -> QuerySet[ApprovalStep]:
    return steps_of(instance).filter(
        round=instance.round, stage=instance.current_stage, superseded_at__isnull=True
    )


def history(instance: ApprovalInstance):
    return events_for(subject_type="approval", subject_id=instance.pk)


def deputy_actions(principal, *, since: dt.datetime | None = None) -> QuerySet[ApprovalStep]:
    """What deputies did for `principal` (for the 後閲 after an absence)."""
    queryset = ApprovalStep.objects.filter(acted_for=principal).select_related(
        "instance", "acted_by", "unit"
    )
    if since is not None:
        queryset = queryset.filter(acted_at__gte=since)
    return queryset.order_by("-acted_at")


# --- internal documents -----------------------------------------------------------------


def documents_visible_to(user) -> QuerySet[InternalDocument]:
    """Drafts are the drafter's alone; once submitted, a document is seen like its route."""
    if not getattr(user, "is_authenticated", False):
        return InternalDocument.objects.none()
    units = organisation.visible_units(user)
    routed = visible_instances(user).filter(kind="internal_document").values("subject_id")
    return (
        InternalDocument.objects.filter(
            Q(drafter=user)
            | (~Q(state=DocumentState.DRAFT) & (Q(unit__in=units) | Q(id__in=_uuids(routed))))
        )
        .select_related("unit", "drafter", "route", "route__current_version")
        .distinct()
    )


def _uuids(values) -> list[uuid.UUID]:
    return [
        key
        for key in (_uuid(value) for value in values.values_list("subject_id", flat=True))
        if key
    ]


def document_for(user, document_id) -> InternalDocument | None:
    key = _uuid(document_id)
    if key is None:
        return None
    return documents_visible_to(user).filter(pk=key).first()


def attachment_of(document: InternalDocument, file_id):
    key = _uuid(file_id)
    if key is None:
        return None
    return document.attachments.select_related("stored_file").filter(stored_file_id=key).first()
