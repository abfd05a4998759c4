"""The approval actions in the JSON API: the same services and permissions as the staff
pages. Refusals are 403 (not this person), 409 (someone acted first, wrong state) and
422 (bad input), with Japanese and English messages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from madoguchi.core.api_auth import API_AUTH
from madoguchi.organisation.selectors import is_staff_member

from . import registry, selectors, services
from .models import ApprovalInstance, ApprovalStep

router = Router(tags=["approvals"])


def _staff(request: HttpRequest):
    if not is_staff_member(request.user):
        raise HttpError(403, "Staff only / 職員だけが使えます")
    return request.user


class PersonOut(Schema):
    id: int
    name: str


class TaskOut(Schema):
    step_id: int
    version: int = Field(description="Send it back as `version` when acting on the step")
    instance_id: uuid.UUID
    kind: str
    kind_label: str
    title: str
    step: str
    step_label: str
    stage: int
    stages: int
    final: bool
    consultation: bool
    unit: str
    drafter_unit: str
    waiting_since: dt.datetime
    on_behalf_of: PersonOut | None = Field(description="代決: the absent approver")
    subject_url: str | None


class StepOut(Schema):
    id: int
    version: int
    round: int
    stage: int
    key: str
    label: str
    state: str
    unit: str
    acted_by: PersonOut | None
    acted_for: PersonOut | None
    acted_at: dt.datetime | None
    comment: str


class InstanceOut(Schema):
    id: uuid.UUID
    kind: str
    subject_id: str
    title: str
    state: str
    state_label: str
    version: int
    round: int
    current_stage: int
    stages: list[str]
    skipped: list[str]
    route: str
    route_version: int
    drafter: PersonOut
    drafter_unit: str
    steps: list[StepOut]


class StepActionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(description="The step's version as listed (optimistic locking)")
    comment: str = Field("", max_length=2000)
    on_behalf_of: int | None = Field(None, description="代決: the id of the absent approver")


class ReturnIn(StepActionIn):
    comment: str = Field(max_length=2000)
    to: Literal["previous", "drafter"] = "previous"


class InstanceActionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(description="The instance's version (optimistic locking)")
    comment: str = Field("", max_length=2000)


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name or ""}


def _task(item: selectors.Actionable) -> dict:
    step, instance = item.step, item.step.instance
    kind = registry.get_kind(instance.kind) if registry.is_registered(instance.kind) else None
    return {
        "step_id": step.pk,
        "version": step.version,
        "instance_id": instance.pk,
        "kind": instance.kind,
        "kind_label": kind.label if kind else instance.kind,
        "title": instance.title,
        "step": step.key,
        "step_label": step.label,
        "stage": step.stage + 1,
        "stages": instance.stage_count,
        "final": step.is_final,
        "consultation": step.kind == "consultation",
        "unit": step.unit.code,
        "drafter_unit": instance.drafter_unit.code,
        "waiting_since": step.activated_at,
        "on_behalf_of": _person(item.on_behalf_of),
        "subject_url": kind.subject_url(instance) if kind and kind.subject_url else None,
    }


def _instance_out(instance: ApprovalInstance) -> dict:
    return {
        "id": instance.pk,
        "kind": instance.kind,
        "subject_id": instance.subject_id,
        "title": instance.title,
        "state": instance.state,
        "state_label": instance.get_state_display(),
        "version": instance.version,
        "round": instance.round,
        "current_stage": instance.current_stage + 1,
        "stages": [stage["key"] for stage in instance.stages],
        "skipped": [item["key"] for item in (instance.plan or {}).get("skipped", [])],
        "route": instance.route_version.route.identifier,
        "route_version": instance.route_version.number,
        "drafter": _person(instance.drafter),
        "drafter_unit": instance.drafter_unit.code,
        "steps": [
            {
                "id": step.pk,
                "version": step.version,
                "round": step.round,
                "stage": step.stage + 1,
                "key": step.key,
                "label": step.label,
                "state": step.state,
                "unit": step.unit.code,
                "acted_by": _person(step.acted_by),
                "acted_for": _person(step.acted_for),
                "acted_at": step.acted_at,
                "comment": step.comment,
            }
            for step in selectors.steps_of(instance)
        ],
    }


def _visible_step(request: HttpRequest, step_id: int) -> ApprovalStep:
    step = ApprovalStep.objects.select_related("instance", "unit").filter(pk=step_id).first()
    # A step of an item the requester may not see does not exist for them.
    if step is None or not selectors.can_view(request.user, step.instance):
        raise HttpError(404, "Not found / 見つかりません")
    return step


def _visible_instance(request: HttpRequest, instance_id: uuid.UUID) -> ApprovalInstance:
    instance = selectors.instance_for(request.user, instance_id)
    if instance is None:
        raise HttpError(404, "Not found / 見つかりません")
    return instance


def _principal(on_behalf_of: int | None):
    if on_behalf_of is None:
        return None
    principal = get_user_model().objects.filter(pk=on_behalf_of).first()
    if principal is None:
        raise services.NotAllowed(
            "代決の相手が見つかりません。", "No such approver to act on behalf of."
        )
    return principal


@router.get(
    "/approvals/tasks",
    response=list[TaskOut],
    auth=API_AUTH,
    summary="The approval steps I can act on now (directly or as deputy)",
)
def list_tasks(request: HttpRequest):
    return [_task(item) for item in selectors.actionable_steps(_staff(request))]


@router.get("/approvals/{instance_id}", response=InstanceOut, auth=API_AUTH)
def get_instance(request: HttpRequest, instance_id: uuid.UUID):
    _staff(request)
    return _instance_out(_visible_instance(request, instance_id))


@router.post(
    "/approvals/steps/{step_id}/approve",
    response=InstanceOut,
    auth=API_AUTH,
    summary="Approve a step (決裁・合議); 代決 with on_behalf_of",
)
def approve(request: HttpRequest, step_id: int, payload: StepActionIn):
    actor = _staff(request)
    step = _visible_step(request, step_id)
    instance = services.approve_step(
        step=step,
        actor=actor,
        expected_version=payload.version,
        comment=payload.comment,
        on_behalf_of=_principal(payload.on_behalf_of),
    )
    return _instance_out(instance)


@router.post(
    "/approvals/steps/{step_id}/return",
    response=InstanceOut,
    auth=API_AUTH,
    summary="Return (差戻し) to the previous stage or to the drafter, with a comment",
)
def return_(request: HttpRequest, step_id: int, payload: ReturnIn):
    actor = _staff(request)
    step = _visible_step(request, step_id)
    instance = services.return_step(
        step=step,
        actor=actor,
        expected_version=payload.version,
        comment=payload.comment,
        to=payload.to,
        on_behalf_of=_principal(payload.on_behalf_of),
    )
    return _instance_out(instance)


@router.post(
    "/approvals/{instance_id}/recall",
    response=InstanceOut,
    auth=API_AUTH,
    summary="Recall (引上げ) by the drafter before any approver has acted",
)
def recall(request: HttpRequest, instance_id: uuid.UUID, payload: InstanceActionIn):
    actor = _staff(request)
    instance = services.recall_approval(
        instance=_visible_instance(request, instance_id),
        actor=actor,
        expected_version=payload.version,
        comment=payload.comment,
    )
    return _instance_out(instance)
