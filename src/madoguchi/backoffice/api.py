"""The staff side of the JSON API: the unit's queue and the actions on one application,
with the same services, permissions and refusals as the pages (403 for a missing role,
409 for a state that does not allow the action or a stale `expected_version`, 422 for
bad input, 404 for an application the caller may not see)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from madoguchi.core.api_auth import API_AUTH
from madoguchi.counter import routing, states
from madoguchi.counter.models import Application, Decision
from madoguchi.counter.services import CounterError, current_decision, pending_decision
from madoguchi.organisation.selectors import is_staff_member

from . import integrations, permissions, selectors, services

router = Router(tags=["staff"])


class DueOut(Schema):
    due_date: dt.date | None
    paused: bool
    open_days_left: int | None
    overdue: bool
    due_soon: bool


class QueueItemOut(Schema):
    id: uuid.UUID
    receipt_number: str | None
    procedure: str
    state: str
    state_label: str
    submitted_at: dt.datetime | None
    due: DueOut
    assignee_id: int | None
    channel: str
    lock_version: int


class QueueOut(Schema):
    unit_id: int
    unit: str
    page: int
    has_next: bool
    items: list[QueueItemOut]


class DecisionOut(Schema):
    outcome: str
    status: str
    reason: str
    instruction: str
    decided_at: dt.datetime | None


class StaffApplicationOut(Schema):
    id: uuid.UUID
    receipt_number: str | None
    body: str
    unit_id: int
    procedure: str
    procedure_version: int
    state: str
    state_label: str
    submitted_at: dt.datetime | None
    due: DueOut
    assignee_id: int | None
    channel: str
    lock_version: int
    answers: dict[str, Any]
    decision: DecisionOut | None
    pending_decision: DecisionOut | None
    allowed_actions: list[str]


class QueueParams(Schema):
    unit: int | None = Field(None, description="The unit's id; default: the caller's first")
    procedure: int | None = None
    state: str = Field("open", description="open, all, or a state")
    received_from: str = ""
    received_to: str = ""
    due_from: str = ""
    due_to: str = ""
    assignee: str = Field("", description="me, none, or a user id")
    overdue: bool = False
    due_soon: bool = False
    sort: str = "due_date"
    page: int = Field(1, ge=1, le=100_000)


class ActionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action: Literal[
        "claim",
        "assign",
        "release",
        "start_review",
        "request_correction",
        "approve",
        "reject",
        "return",
        "recall",
        "note",
        "message",
    ]
    expected_version: int | None = Field(
        None, description="The lock_version the caller saw; a different one is refused (409)"
    )
    assignee_id: int | None = None
    fields: list[str] = Field(default_factory=list, max_length=200)
    message: str = Field("", max_length=4000)
    reply_by: dt.date | None = None
    reason: str = Field("", max_length=4000)
    comment: str = Field("", max_length=4000)


def _staff(request: HttpRequest) -> None:
    if not is_staff_member(request.user):
        raise HttpError(403, "Staff only / 職員のみ利用できます")


def _due(application: Application) -> dict[str, Any]:
    status = selectors.due_status(application)
    return {
        "due_date": status.due_date,
        "paused": status.paused,
        "open_days_left": status.days_left,
        "overdue": status.overdue,
        "due_soon": status.due_soon,
    }


def _item(application: Application) -> dict[str, Any]:
    return {
        "id": application.pk,
        "receipt_number": application.receipt_number,
        "procedure": application.procedure_version.name,
        "state": application.state,
        "state_label": application.get_state_display(),
        "submitted_at": application.submitted_at,
        "due": _due(application),
        "assignee_id": application.assignee_id,
        "channel": application.channel,
        "lock_version": application.lock_version,
    }


@router.get(
    "/staff/queue",
    response=QueueOut,
    auth=API_AUTH,
    summary="A unit's queue, filtered and sorted, one page of 50",
)
def queue(request: HttpRequest, params: Query[QueueParams]):
    _staff(request)
    data = {
        key: ("1" if value else "")
        if isinstance(value, bool)
        else ("" if value is None else str(value))
        for key, value in params.dict().items()
    }
    try:
        flt = selectors.parse_filter(data)
    except selectors.FilterError as exc:
        error = CounterError(
            "; ".join(ja for ja, _en in exc.errors.values()),
            "; ".join(f"{name}: {en}" for name, (_ja, en) in exc.errors.items()),
        )
        error.status, error.code = 422, "invalid_filter"
        raise error from exc
    units = list(selectors.queue_units(request.user))
    if flt.unit_id is None:
        unit = selectors.default_unit(request.user)
    else:
        unit = next((item for item in units if item.pk == flt.unit_id), None)
    if unit is None:
        raise HttpError(404, "No such unit / 組織が見つかりません")
    page = selectors.queue_page(unit, flt, user=request.user)
    return {
        "unit_id": unit.pk,
        "unit": unit.name,
        "page": page.number,
        "has_next": page.has_next,
        "items": [_item(row.application) for row in page.rows],
    }


def _decision(decision: Decision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "outcome": decision.outcome,
        "status": decision.status,
        "reason": decision.reason,
        "instruction": decision.instruction,
        "decided_at": decision.decided_at,
    }


def _allowed(user, application: Application) -> list[str]:
    state = application.state
    process = permissions.can(user, permissions.PROCESS, application)
    routed = routing.route_for(application) is not None
    decide = process if routed else permissions.can(user, permissions.DECIDE, application)
    allowed = []
    if process and state in states.OPEN:
        allowed += ["claim", "assign", "release"]
    if process and states.allowed("start_review", state):
        allowed.append("start_review")
    if process and states.allowed("request_correction", state):
        allowed.append("request_correction")
    if decide and states.allowed("propose_decision" if routed else "approve", state):
        allowed += ["approve", "reject"]
    if decide and states.allowed("propose_decision" if routed else "return_to_applicant", state):
        allowed.append("return")
    pending = pending_decision(application) if state == "awaiting_approval" else None
    if pending is not None and pending.drafted_by_id == user.pk:
        allowed.append("recall")
    allowed.append("note")
    if process and state != "withdrawn":
        allowed.append("message")
    return allowed


def _detail(user, application: Application) -> dict[str, Any]:
    return {
        **_item(application),
        "body": application.body.code,
        "unit_id": application.unit_id,
        "procedure": application.procedure.identifier,
        "procedure_version": application.procedure_version.number,
        # Canonical answers; My Number stays ciphertext (with its last four digits).
        "answers": application.answers,
        "decision": _decision(current_decision(application)),
        "pending_decision": _decision(pending_decision(application)),
        "allowed_actions": _allowed(user, application),
    }


def _application(request: HttpRequest, application_id: uuid.UUID) -> Application:
    _staff(request)
    application = selectors.application_for_staff(request.user, application_id)
    if application is None:
        raise HttpError(404, "No such application / 申請が見つかりません")
    return application


@router.get(
    "/staff/applications/{application_id}",
    response=StaffApplicationOut,
    auth=API_AUTH,
    summary="One application as staff see it, with the actions allowed now",
)
def get_application(request: HttpRequest, application_id: uuid.UUID):
    application = _application(request, application_id)
    integrations.log_access(actor=request.user, application=application, what="application")
    return _detail(request.user, application)


@router.post(
    "/staff/applications/{application_id}/actions",
    response=StaffApplicationOut,
    auth=API_AUTH,
    summary="Act on an application (claim, assign, review, 補正, decide, note, message)",
)
def act(request: HttpRequest, application_id: uuid.UUID, payload: ActionIn):
    application = _application(request, application_id)
    user = request.user
    version = payload.expected_version
    action = payload.action
    if action == "claim":
        services.claim(application=application, staff=user, expected_version=version)
    elif action in ("assign", "release"):
        if action == "assign" and payload.assignee_id is None:
            raise CounterError("担当者を指定してください。", "assignee_id is required.")
        services.assign(
            application=application,
            staff=user,
            assignee_id=payload.assignee_id if action == "assign" else None,
            expected_version=version,
        )
    elif action == "start_review":
        services.start_review(application=application, staff=user, expected_version=version)
    elif action == "request_correction":
        services.request_correction(
            application=application,
            staff=user,
            field_ids=payload.fields,
            message=payload.message,
            reply_by=payload.reply_by,
            expected_version=version,
        )
    elif action in ("approve", "reject", "return"):
        services.decide(
            application=application,
            staff=user,
            outcome=action,
            reason=payload.reason,
            comment=payload.comment,
            expected_version=version,
        )
    elif action == "recall":
        services.recall_decision(application=application, staff=user)
    elif action == "note":
        services.add_note(application=application, staff=user, body=payload.message)
    elif action == "message":
        services.post_message(application=application, staff=user, body=payload.message)
    return _detail(user, selectors.application_for_staff(user, application.pk) or application)
