"""The approval engine (電子決裁): routes, instances and the actions on them, and internal
documents (起案文書) that travel the same way.

Every action locks the instance row, checks the version the actor saw (optimistic
locking: of the step for step actions, of the instance for the drafter's actions), and
writes its ledger event in the same transaction. Refusals are `ApprovalError`s with a
Japanese and an English message, a code, and the HTTP status the API answers with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.catalogue import conditions
from madoguchi.files.services import UploadRejected, erase_stored_file, store_upload
from madoguchi.ledger.services import person, record_event
from madoguchi.organisation import selectors as organisation
from madoguchi.organisation.models import Position, StaffMembership, Unit

from . import numbering, registry, selectors, states
from .models import (
    ApprovalInstance,
    ApprovalStep,
    DocumentState,
    InstanceState,
    InternalDocument,
    InternalDocumentFile,
    Route,
    RouteVersion,
    StepKind,
    StepState,
)
from .validation import DRAFTER, Problem, check_path

INTERNAL_DOCUMENT = "internal_document"
MAX_COMMENT = 2000
MAX_TITLE = 200
MAX_TEXT = 20000


class ApprovalError(Exception):
    """A refusal with a message for staff (Japanese) and for the API (English)."""

    code = "refused"
    status = 409

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(ja)
        self.ja = ja
        self.en = en


class NotAllowed(ApprovalError):
    """This person may not do this (403)."""

    code = "forbidden"
    status = 403


class Conflict(ApprovalError):
    """Someone acted first, or the item is no longer in the state the actor saw (409)."""

    code = "conflict"
    status = 409


class InvalidInput(ApprovalError):
    code = "invalid"
    status = 422

    def __init__(self, ja: str, en: str, *, field: str = "") -> None:
        super().__init__(ja, en)
        self.field = field


class CannotStart(ApprovalError):
    """The route cannot be used for this subject (no approver found, wrong kind …)."""

    code = "cannot_start"
    status = 409


def _now(now: dt.datetime | None = None) -> dt.datetime:
    return now or timezone.now()


def _clean_text(value: str, *, label: str, field: str, limit: int, required: bool) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if required and not text:
        raise InvalidInput(f"{label}を入力してください。", f"Enter the {field}.", field=field)
    if len(text) > limit:
        raise InvalidInput(
            f"{label}は{limit}文字以内で入力してください。",
            f"The {field} must be at most {limit} characters.",
            field=field,
        )
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text) or "\x7f" in text:
        raise InvalidInput(
            f"{label}に使用できない制御文字が含まれています。",
            f"The {field} contains control characters.",
            field=field,
        )
    return text


def _comment(value: str, *, required: bool = False) -> str:
    return _clean_text(
        value, label="コメント", field="comment", limit=MAX_COMMENT, required=required
    )


# --- loading route definitions ----------------------------------------------------------


class RoutesRejected(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the route definitions")
        self.problems = problems


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def definition_hash(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_routes(path: Path | str, *, actor_id: str = "system") -> LoadReport:
    """Loads every route definition under `path`: all of them, or none if any has a problem.
    A changed definition becomes a new version; instances keep the version they started on."""
    from madoguchi.organisation.models import Body

    valid, problems = check_path(Path(path), references=True, require_body=True)
    if problems:
        raise RoutesRejected(problems)
    report = LoadReport()
    with transaction.atomic():
        for file, data in valid:
            body = Body.objects.get(code=data["body"])
            digest = definition_hash(data)
            route, created = Route.objects.select_for_update().get_or_create(
                body=body, identifier=data["id"]
            )
            current = route.current_version
            label = f"{body.code}/{data['id']}"
            if current is not None and current.definition_sha256 == digest:
                report.unchanged.append(label)
                continue
            number = (current.number + 1) if current else 1
            version = RouteVersion.objects.create(
                route=route,
                number=number,
                definition=data,
                definition_sha256=digest,
                source_path=str(file),
                name=data["name"],
            )
            route.current_version = version
            route.save(update_fields=["current_version"])
            record_event(
                event_type="approval.route_version_published",
                actor_kind="system" if actor_id == "system" else "staff",
                actor_id=actor_id,
                subject_type="approval_route",
                subject_id=route.pk,
                body_id=body.pk,
                content_sha256=digest,
                details={"identifier": data["id"], "version": number},
            )
            (report.created if created else report.new_versions).append(label)
    return report


# --- planning a route -------------------------------------------------------------------

_CONTEXT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SCALARS = (str, int, float, bool, type(None))


def _clean_context(context: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facts conditions test: plain JSON scalars (or lists of them) under simple keys."""
    cleaned: dict[str, Any] = {}
    for key, value in (context or {}).items():
        if not isinstance(key, str) or not _CONTEXT_KEY.match(key):
            raise InvalidInput(
                f"条件に使う項目名「{key}」が正しくありません。",
                f"Invalid context key {key!r}.",
                field="context",
            )
        ok = isinstance(value, _SCALARS) or (
            isinstance(value, list) and all(isinstance(item, _SCALARS) for item in value)
        )
        if not ok:
            raise InvalidInput(
                f"条件に使う項目「{key}」の値が正しくありません。",
                f"Invalid context value for {key!r}.",
                field="context",
            )
        cleaned[key] = value
    return cleaned


# Facts the engine adds to every subject's context, for 専決 rules on who drafts.
BUILT_IN_FACTS = {
    "drafter_position": "起案者の職（コード）",
    "drafter_rank": "起案者の職位の順位（担当 10 … 部長 60）",
}


def _facts(context: Mapping[str, Any], *, drafter, drafter_unit: Unit) -> dict[str, Any]:
    position = organisation.position_in(drafter, drafter_unit)
    return {
        **context,
        "drafter_position": position.code if position else None,
        "drafter_rank": position.rank if position else 0,
    }


def _describe(spec: Mapping[str, Any]) -> str:
    parts = []
    if spec.get("position"):
        position = organisation.position_by_code(spec["position"])
        parts.append(position.name if position else spec["position"])
    if spec.get("role"):
        from madoguchi.organisation.roles import spec as role_spec

        parts.append(role_spec(spec["role"]).label)
    return "・".join(parts)


def _resolve_unit(
    spec: Mapping[str, Any], *, step_label: str, drafter_unit: Unit, route_body
) -> Unit:
    position, role = spec.get("position"), spec.get("role")
    unit_code = spec.get("unit", DRAFTER)
    if unit_code == DRAFTER:
        for unit in organisation.ancestors(drafter_unit):
            if unit.is_active and organisation.holders(unit, position=position, role=role).exists():
                return unit
        raise CannotStart(
            f"「{step_label}」を承認する{_describe(spec)}が、{drafter_unit.name}とその上位の組織にいません。",
            f"No {spec.get('position') or spec.get('role')} for step '{step_label}' in "
            f"{drafter_unit.code} or above it.",
        )
    from madoguchi.organisation.models import Body

    body = Body.objects.filter(code=spec["body"]).first() if spec.get("body") else route_body
    unit = Unit.objects.filter(body=body, code=unit_code, is_active=True).first() if body else None
    if unit is None:
        raise CannotStart(
            f"「{step_label}」の組織「{unit_code}」がありません（廃止されていませんか）。",
            f"The unit '{unit_code}' of step '{step_label}' does not exist or is retired.",
        )
    if not organisation.holders(unit, position=position, role=role).exists():
        raise CannotStart(
            f"「{step_label}」を承認する{unit.name}の{_describe(spec)}がいません。",
            f"Nobody holds {spec.get('position') or spec.get('role')} in {unit.code} "
            f"for step '{step_label}'.",
        )
    return unit


def _someone_holds(spec: Mapping[str, Any], drafter_unit: Unit) -> bool:
    return any(
        unit.is_active
        and organisation.holders(
            unit, position=spec.get("position"), role=spec.get("role")
        ).exists()
        for unit in organisation.ancestors(drafter_unit)
    )


def plan_route(
    route_version: RouteVersion, *, drafter, drafter_unit: Unit, context: Mapping[str, Any]
) -> dict[str, Any]:
    """The stages this subject will pass: steps whose `when` fails are skipped, the route
    ends at the 決裁権者 the `final` rules (専決) choose, and steps of a position at or below
    the drafter's own (in the drafter's unit) are skipped — a 係長 drafting does not ask a
    係長. Units are resolved now; who in them may act is decided when they act."""
    definition = route_version.definition
    steps = definition["steps"]
    context = _facts(context, drafter=drafter, drafter_unit=drafter_unit)
    final_key = steps[-1]["id"]
    for rule in definition.get("final") or []:
        if "when" not in rule or conditions.evaluate(rule["when"], context):
            final_key = rule["step"]
            break
    drafter_position = organisation.position_in(drafter, drafter_unit)
    drafter_rank = drafter_position.rank if drafter_position else 0
    ranks = dict(Position.objects.values_list("code", "rank"))
    stages: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    reached_final = False
    for step in steps:
        entry = {"key": step["id"], "label": step["label"], "label_en": step.get("label_en", "")}
        if reached_final:
            skipped.append({**entry, "reason": "after_final"})
            continue
        is_final = step["id"] == final_key
        reached_final = is_final
        if "when" in step and not conditions.evaluate(step["when"], context):
            skipped.append({**entry, "reason": "condition"})
            continue
        specs = [step["approver"]] if "approver" in step else list(step["consult"])
        if (
            not is_final
            and "approver" in step
            and specs[0].get("unit", DRAFTER) == DRAFTER
            and specs[0].get("position")
            and not specs[0].get("role")
            and drafter_rank >= ranks.get(specs[0]["position"], 10**6)
        ):
            skipped.append({**entry, "reason": "drafter_rank"})
            continue
        if step.get("optional") and not is_final and not _someone_holds(specs[0], drafter_unit):
            skipped.append({**entry, "reason": "no_holder"})
            continue
        approvers = []
        for spec in specs:
            unit = _resolve_unit(
                spec,
                step_label=step["label"],
                drafter_unit=drafter_unit,
                route_body=route_version.route.body,
            )
            approvers.append(
                {
                    "unit": unit.pk,
                    "unit_code": unit.code,
                    "unit_name": unit.name,
                    "position": spec.get("position", ""),
                    "role": spec.get("role", ""),
                    "label": f"{unit.name} {_describe(spec)}",
                }
            )
        holders = {
            user.pk
            for approver in approvers
            for user in organisation.holders(
                Unit(pk=approver["unit"]),
                position=approver["position"] or None,
                role=approver["role"] or None,
            )
        }
        if holders <= {drafter.pk}:
            if is_final:
                raise CannotStart(
                    f"決裁権者（{step['label']}）が起案者ご本人だけのため、このルートでは起案できません。",
                    f"The final approver of '{step['label']}' would be the drafter.",
                )
            skipped.append({**entry, "reason": "drafter"})
            continue
        stages.append(
            {
                **entry,
                "kind": StepKind.CONSULTATION if "consult" in step else StepKind.APPROVAL,
                "final": is_final,
                "approvers": approvers,
            }
        )
    return {"stages": stages, "skipped": skipped}


def _activate_stage(instance: ApprovalInstance, now: dt.datetime) -> list[ApprovalStep]:
    stage = instance.stages[instance.current_stage]
    return [
        ApprovalStep.objects.create(
            instance=instance,
            round=instance.round,
            stage=instance.current_stage,
            key=stage["key"],
            label=stage["label"],
            kind=stage["kind"],
            is_final=stage["final"],
            unit_id=approver["unit"],
            position=approver["position"],
            role=approver["role"],
            activated_at=now,
        )
        for approver in stage["approvers"]
    ]


def _event(
    instance: ApprovalInstance,
    name: str,
    *,
    actor,
    comment: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    record_event(
        event_type=f"approval.{name}",
        actor_kind="system" if actor is None else "staff",
        actor_id=None if actor is None else actor.pk,
        subject_type="approval",
        subject_id=instance.pk,
        body_id=instance.body_id,
        # The comment may name people: only its hash goes to the ledger.
        content=comment or None,
        details={
            "kind": instance.kind,
            "subject_id": instance.subject_id,
            "round": instance.round,
            **(details or {}),
        },
    )


def _call(kind: str, hook: str, instance: ApprovalInstance, actor) -> None:
    callback = getattr(registry.get_kind(kind), hook)
    if callback is not None:
        callback(instance=instance, actor=actor)
    if hook == "on_completed":
        for listener in registry.completion_listeners(kind):
            listener(instance=instance, actor=actor)


# --- starting ---------------------------------------------------------------------------


@transaction.atomic
def start_approval(
    *,
    kind: str,
    subject_id: str,
    route: Route | RouteVersion,
    drafter,
    drafter_unit: Unit,
    title: str,
    context: Mapping[str, Any] | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> ApprovalInstance:
    """Sends a subject on a route (起案). The drafter must belong to `drafter_unit`."""
    moment = _now(now)
    if not registry.is_registered(kind):
        raise CannotStart(
            f"種類「{kind}」は登録されていません。", f"Unknown subject kind '{kind}'."
        )
    version = route.current_version if isinstance(route, Route) else route
    if version is None:
        raise CannotStart("この決裁ルートには定義がありません。", "The route has no definition.")
    if version.subjects and kind not in version.subjects:
        raise CannotStart(
            f"決裁ルート「{version.name}」は{registry.get_kind(kind).label}には使えません。",
            f"The route '{version.route.identifier}' does not serve '{kind}'.",
        )
    if not StaffMembership.objects.filter(user=drafter, unit=drafter_unit).exists():
        raise NotAllowed(
            "起案できるのは、起案する組織に所属している職員だけです。",
            "Only members of the drafting unit can draft.",
        )
    if version.route.body_id != drafter_unit.body_id:
        raise CannotStart(
            "ほかの団体の決裁ルートは使えません。", "The route belongs to another body."
        )
    title = _clean_text(title, label="件名", field="title", limit=MAX_TITLE, required=True)
    comment = _comment(comment)
    facts = _clean_context(context)
    if selectors.open_instance_of(kind, subject_id) is not None:
        raise Conflict("この件は既に決裁に回っています。", "This subject is already on a route.")
    plan = plan_route(version, drafter=drafter, drafter_unit=drafter_unit, context=facts)
    try:
        with transaction.atomic():
            instance = ApprovalInstance.objects.create(
                body_id=drafter_unit.body_id,
                kind=kind,
                subject_id=str(subject_id),
                title=title,
                route_version=version,
                drafter=drafter,
                drafter_unit=drafter_unit,
                context=facts,
                plan=plan,
                started_at=moment,
            )
    except IntegrityError:
        # Two drafters sending the same subject at once: the other one was first.
        raise Conflict(
            "この件は既に決裁に回っています。", "This subject is already on a route."
        ) from None
    _activate_stage(instance, moment)
    _event(
        instance,
        "started",
        actor=drafter,
        comment=comment,
        details={
            "route": version.route.identifier,
            "route_version": version.number,
            "drafter_unit": drafter_unit.code,
            "stages": [stage["key"] for stage in plan["stages"]],
            "skipped": [[item["key"], item["reason"]] for item in plan["skipped"]],
        },
    )
    return instance


# --- acting on a step -------------------------------------------------------------------


def _lock(step: ApprovalStep) -> tuple[ApprovalInstance, ApprovalStep]:
    # Always the instance first, then the step: two actions never wait on each other
    # in opposite orders.
    instance = ApprovalInstance.objects.select_for_update().get(pk=step.instance_id)
    locked = ApprovalStep.objects.select_for_update().select_related("unit").get(pk=step.pk)
    locked.instance = instance
    return instance, locked


def _check_current(instance: ApprovalInstance, step: ApprovalStep, expected_version: int) -> None:
    if (
        step.version == expected_version
        and step.state == StepState.PENDING
        and step.superseded_at is None
        and instance.state == InstanceState.IN_PROGRESS
    ):
        return
    if step.state == StepState.APPROVED and step.acted_by_id:
        who = step.acted_by.display_name or "他の職員"
        ja = f"この段階は既に{who}さんが承認しました。"
        en = "This step has already been approved."
    elif step.state == StepState.RETURNED:
        ja, en = "この段階は既に差し戻されました。", "This step has already been returned."
    elif instance.state == InstanceState.RECALLED:
        ja, en = "起案者が引き上げました。", "The drafter has recalled it."
    elif instance.state == InstanceState.COMPLETED:
        ja, en = "この決裁は既に終わっています。", "This approval has already been completed."
    else:
        ja, en = "この段階の状態が変わりました。", "This step has changed."
    raise Conflict(
        f"他の職員が先に操作しました。{ja}画面を開き直して確認してください。",
        f"Someone acted first. {en} Reload the page.",
    )


def _authority(actor, step: ApprovalStep, on_behalf_of, now, *, approving: bool):
    found = selectors.authority(actor, step, on_behalf_of=on_behalf_of, at=now, approving=approving)
    if not found.allowed:
        raise NotAllowed(found.reason_ja, found.reason_en)
    return found.on_behalf_of


def _finish_step(step: ApprovalStep, state: str, *, actor, principal, comment: str, now) -> None:
    step.state = state
    step.acted_by = actor
    step.acted_for = principal
    step.acted_at = now
    step.comment = comment
    step.version += 1
    step.save(update_fields=["state", "acted_by", "acted_for", "acted_at", "comment", "version"])


def _stage_rows(instance: ApprovalInstance, stage: int):
    return ApprovalStep.objects.filter(
        instance=instance, round=instance.round, stage=stage, superseded_at__isnull=True
    )


@transaction.atomic
def approve_step(
    *,
    step: ApprovalStep,
    actor,
    expected_version: int,
    comment: str = "",
    on_behalf_of=None,
    now: dt.datetime | None = None,
) -> ApprovalInstance:
    """Approves one step (as 代決 when the actor acts for an absent approver). When the
    last step of the last stage is approved the instance completes and the subject kind's
    `on_completed` runs in this transaction."""
    moment = _now(now)
    comment = _comment(comment)
    instance, step = _lock(step)
    _check_current(instance, step, expected_version)
    principal = _authority(actor, step, on_behalf_of, moment, approving=True)
    states.check(states.INSTANCE, "approve", instance.state)
    _finish_step(
        step, StepState.APPROVED, actor=actor, principal=principal, comment=comment, now=moment
    )
    _event(
        instance,
        "step_approved",
        actor=actor,
        comment=comment,
        details={
            "step": step.key,
            "stage": step.stage,
            "unit": step.unit.code,
            "final": step.is_final,
            "on_behalf_of": person("staff", principal.pk if principal else None),
        },
    )
    stage_done = not _stage_rows(instance, step.stage).exclude(state=StepState.APPROVED).exists()
    if stage_done:
        if instance.current_stage + 1 >= instance.stage_count:
            transition = states.check(states.INSTANCE, "complete", instance.state)
            instance.state = transition.target
            instance.completed_at = moment
            instance.version += 1
            instance.save(update_fields=["state", "completed_at", "version", "updated_at"])
            _event(instance, "completed", actor=actor, details={"stages": instance.stage_count})
            _call(instance.kind, "on_completed", instance, actor)
            return instance
        instance.current_stage += 1
        _activate_stage(instance, moment)
    instance.version += 1
    instance.save(update_fields=["current_stage", "version", "updated_at"])
    return instance


RETURN_TARGETS = ("previous", "drafter")


@transaction.atomic
def return_step(
    *,
    step: ApprovalStep,
    actor,
    expected_version: int,
    comment: str,
    to: str = "previous",
    on_behalf_of=None,
    now: dt.datetime | None = None,
) -> ApprovalInstance:
    """差戻し: sends the instance back to the previous stage (whose approvers act again) or
    to the drafter, with a comment saying why. From the first stage, "previous" is the drafter."""
    moment = _now(now)
    if to not in RETURN_TARGETS:
        raise InvalidInput(
            "差戻し先は「前の段階」か「起案者」を選んでください。",
            "Return to 'previous' or 'drafter'.",
            field="to",
        )
    comment = _comment(comment, required=True)
    instance, step = _lock(step)
    _check_current(instance, step, expected_version)
    principal = _authority(actor, step, on_behalf_of, moment, approving=False)
    _finish_step(
        step, StepState.RETURNED, actor=actor, principal=principal, comment=comment, now=moment
    )
    # The stage ends here: its other steps leave their approvers' lists.
    siblings = _stage_rows(instance, step.stage).exclude(pk=step.pk)
    for sibling in siblings.filter(state=StepState.PENDING):
        sibling.state = StepState.WITHDRAWN
        sibling.version += 1
        sibling.save(update_fields=["state", "version"])
    to_drafter = to == "drafter" or instance.current_stage == 0
    if to_drafter:
        transition = states.check(states.INSTANCE, "return_to_drafter", instance.state)
        # Everything is approved again after the drafter resubmits.
        ApprovalStep.objects.filter(instance=instance, superseded_at__isnull=True).update(
            superseded_at=moment
        )
        instance.state = transition.target
    else:
        states.check(states.INSTANCE, "return_to_previous", instance.state)
        previous = instance.current_stage - 1
        ApprovalStep.objects.filter(
            instance=instance,
            round=instance.round,
            stage__in=[previous, step.stage],
            superseded_at__isnull=True,
        ).update(superseded_at=moment)
        instance.current_stage = previous
        _activate_stage(instance, moment)
    instance.version += 1
    instance.save(update_fields=["state", "current_stage", "version", "updated_at"])
    _event(
        instance,
        "returned",
        actor=actor,
        comment=comment,
        details={
            "step": step.key,
            "stage": step.stage,
            "unit": step.unit.code,
            "to": "drafter" if to_drafter else "previous",
            "on_behalf_of": person("staff", principal.pk if principal else None),
        },
    )
    if to_drafter:
        _call(instance.kind, "on_returned", instance, actor)
    return instance


# --- the drafter's actions --------------------------------------------------------------


def _lock_instance(instance: ApprovalInstance, actor, expected_version: int) -> ApprovalInstance:
    instance = ApprovalInstance.objects.select_for_update().get(pk=instance.pk)
    if actor is None or actor.pk != instance.drafter_id:
        raise NotAllowed("起案者だけが操作できます。", "Only the drafter can do this.")
    if instance.version != expected_version:
        raise Conflict(
            "他の職員が先にこの決裁を処理しました。画面を開き直して確認してください。",
            "Someone acted on this approval first; reload it.",
        )
    return instance


@transaction.atomic
def recall_approval(
    *, instance: ApprovalInstance, actor, expected_version: int, comment: str = "", now=None
) -> ApprovalInstance:
    """引上げ: the drafter takes the subject back before the first approver has acted on it
    in this round. After that, only a 差戻し from an approver brings it back."""
    moment = _now(now)
    comment = _comment(comment)
    instance = _lock_instance(instance, actor, expected_version)
    try:
        transition = states.check(states.INSTANCE, "recall", instance.state)
    except states.TransitionNotAllowed:
        raise Conflict(
            "決裁中の起案だけを引き上げられます。", "Only an approval in progress can be recalled."
        ) from None
    acted = ApprovalStep.objects.filter(
        instance=instance,
        round=instance.round,
        state__in=[StepState.APPROVED, StepState.RETURNED],
    ).exists()
    if acted:
        raise Conflict(
            "既に承認者が処理したため引き上げられません。差戻しを依頼してください。",
            "An approver has already acted; ask for it to be returned instead.",
        )
    for pending in ApprovalStep.objects.filter(
        instance=instance, state=StepState.PENDING, superseded_at__isnull=True
    ):
        pending.state = StepState.WITHDRAWN
        pending.superseded_at = moment
        pending.version += 1
        pending.save(update_fields=["state", "superseded_at", "version"])
    instance.state = transition.target
    instance.version += 1
    instance.save(update_fields=["state", "version", "updated_at"])
    _event(instance, "recalled", actor=actor, comment=comment)
    _call(instance.kind, "on_recalled", instance, actor)
    return instance


@transaction.atomic
def resubmit_approval(
    *,
    instance: ApprovalInstance,
    actor,
    expected_version: int,
    context: Mapping[str, Any] | None = None,
    title: str | None = None,
    comment: str = "",
    now=None,
) -> ApprovalInstance:
    """Sends a returned or recalled subject on its route again, from the first stage, as a
    new round (the route's conditions are evaluated again on the new facts)."""
    moment = _now(now)
    comment = _comment(comment)
    instance = _lock_instance(instance, actor, expected_version)
    try:
        transition = states.check(states.INSTANCE, "resubmit", instance.state)
    except states.TransitionNotAllowed:
        raise Conflict(
            "差し戻された起案か引き上げた起案だけを再提出できます。",
            "Only a returned or recalled approval can be resubmitted.",
        ) from None
    if title is not None:
        instance.title = _clean_text(
            title, label="件名", field="title", limit=MAX_TITLE, required=True
        )
    if context is not None:
        instance.context = _clean_context(context)
    instance.plan = plan_route(
        instance.route_version,
        drafter=instance.drafter,
        drafter_unit=instance.drafter_unit,
        context=instance.context,
    )
    instance.state = transition.target
    instance.round += 1
    instance.current_stage = 0
    instance.version += 1
    instance.save()
    _activate_stage(instance, moment)
    _event(
        instance,
        "resubmitted",
        actor=actor,
        comment=comment,
        details={
            "stages": [stage["key"] for stage in instance.stages],
            "skipped": [[item["key"], item["reason"]] for item in instance.plan["skipped"]],
        },
    )
    return instance


@transaction.atomic
def cancel_approval(
    *, instance: ApprovalInstance, actor, expected_version: int, comment: str = ""
) -> ApprovalInstance:
    """取りやめ: the drafter abandons a returned or recalled subject."""
    comment = _comment(comment)
    instance = _lock_instance(instance, actor, expected_version)
    try:
        transition = states.check(states.INSTANCE, "cancel", instance.state)
    except states.TransitionNotAllowed:
        raise Conflict(
            "差し戻された起案か引き上げた起案だけを取りやめられます。",
            "Only a returned or recalled approval can be cancelled.",
        ) from None
    instance.state = transition.target
    instance.version += 1
    instance.save(update_fields=["state", "version", "updated_at"])
    _event(instance, "cancelled", actor=actor, comment=comment)
    _call(instance.kind, "on_cancelled", instance, actor)
    return instance


# --- internal documents (起案文書) --------------------------------------------------------


def _document_event(document: InternalDocument, name: str, *, actor, details=None, content=None):
    record_event(
        event_type=f"document.{name}",
        actor_kind="system" if actor is None else "staff",
        actor_id=None if actor is None else actor.pk,
        subject_type="internal_document",
        subject_id=document.pk,
        body_id=document.body_id,
        content=content,
        details=details or {},
    )


def _document_fields(title: str, text: str, amount) -> tuple[str, str, int | None]:
    title = _clean_text(title, label="件名", field="title", limit=MAX_TITLE, required=True)
    text = _clean_text(text, label="本文", field="text", limit=MAX_TEXT, required=False)
    if isinstance(amount, str):
        raw = amount.strip().replace(",", "").replace("，", "")
        raw = raw.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        if raw == "":
            amount = None
        elif raw.isdigit():
            amount = int(raw)
        else:
            raise InvalidInput(
                "金額は半角または全角の数字（円）で入力してください。",
                "The amount must be a whole number of yen.",
                field="amount",
            )
    if amount is not None and (
        not isinstance(amount, int) or isinstance(amount, bool) or amount < 0
    ):
        raise InvalidInput(
            "金額は0以上の整数（円）で入力してください。",
            "The amount must be a whole number of yen, 0 or more.",
            field="amount",
        )
    if amount is not None and amount > 10**15:
        raise InvalidInput("金額が大きすぎます。", "The amount is too large.", field="amount")
    return title, text, amount


def _check_route(route: Route | None, unit: Unit) -> None:
    if route is None:
        return
    if route.body_id != unit.body_id or route.current_version is None:
        raise InvalidInput(
            "この決裁ルートは使えません。", "This route cannot be used.", field="route"
        )
    subjects = route.current_version.subjects
    if subjects and INTERNAL_DOCUMENT not in subjects:
        raise InvalidInput(
            f"決裁ルート「{route.current_version.name}」は起案文書には使えません。",
            "This route is not for internal documents.",
            field="route",
        )


def _lock_document(
    document: InternalDocument, actor, expected_version: int | None
) -> InternalDocument:
    document = (
        InternalDocument.objects.select_for_update().select_related("unit").get(pk=document.pk)
    )
    if actor is None or actor.pk != document.drafter_id:
        raise NotAllowed("起案者だけが操作できます。", "Only the drafter can do this.")
    if expected_version is not None and document.version != expected_version:
        raise Conflict(
            "この起案文書は別の画面で更新されています。画面を開き直してから操作してください。入力した内容は下に残っています。",
            "The document was changed elsewhere; reload it. What you typed is kept below.",
        )
    return document


def _editable(document: InternalDocument) -> None:
    if not document.is_editable:
        raise Conflict(
            "決裁中または決裁済みの起案文書は変更できません。引上げか差戻しの後に変更できます。",
            "The document is in approval or approved; it cannot be changed now.",
        )


@transaction.atomic
def create_document(
    *, actor, unit: Unit, title: str, text: str = "", amount=None, route: Route | None = None
) -> InternalDocument:
    if not StaffMembership.objects.filter(user=actor, unit=unit).exists():
        raise NotAllowed(
            "起案できるのは、起案する組織に所属している職員だけです。",
            "Only members of the unit can draft in its name.",
        )
    title, text, amount = _document_fields(title, text, amount)
    _check_route(route, unit)
    document = InternalDocument.objects.create(
        body_id=unit.body_id,
        unit=unit,
        drafter=actor,
        title=title,
        text=text,
        amount=amount,
        route=route,
    )
    _document_event(document, "created", actor=actor, content={"title": title, "text": text})
    return document


@transaction.atomic
def update_document(
    *,
    document: InternalDocument,
    actor,
    expected_version: int,
    title: str,
    text: str = "",
    amount=None,
    route: Route | None = None,
) -> InternalDocument:
    document = _lock_document(document, actor, expected_version)
    _editable(document)
    title, text, amount = _document_fields(title, text, amount)
    _check_route(route, document.unit)
    open_instance = selectors.open_instance_of(INTERNAL_DOCUMENT, document.pk)
    if (
        open_instance is not None
        and route is not None
        and route.pk != open_instance.route_version.route_id
    ):
        raise InvalidInput(
            "差し戻された起案のルートは変えられません。取りやめて新しく起案してください。",
            "A returned document keeps its route; cancel it and draft anew to change routes.",
            field="route",
        )
    document.title, document.text, document.amount, document.route = title, text, amount, route
    document.version += 1
    document.save()
    _document_event(document, "updated", actor=actor, content={"title": title, "text": text})
    return document


def attach_file(*, document: InternalDocument, actor, upload) -> InternalDocumentFile:
    """Stores an attachment (PDF or image) on a document the drafter may still edit."""
    with transaction.atomic():
        locked = _lock_document(document, actor, None)
        _editable(locked)
        if locked.attachments.count() >= 20:
            raise InvalidInput(
                "添付ファイルは20個までです。", "At most 20 attachments.", field="file"
            )
    try:
        stored = store_upload(
            upload,
            owner=actor,
            accept=["pdf", "image"],
            max_bytes=settings.MADOGUCHI_UPLOAD_MAX_BYTES,
        )
    except UploadRejected as exc:
        raise InvalidInput(exc.ja, exc.en, field="file") from None
    with transaction.atomic():
        locked = _lock_document(document, actor, None)
        _editable(locked)
        link = InternalDocumentFile.objects.create(document=locked, stored_file=stored)
        locked.version += 1
        locked.save(update_fields=["version", "updated_at"])
        _document_event(
            locked,
            "file_attached",
            actor=actor,
            details={"file": str(stored.pk), "sha256": stored.sha256, "size": stored.size},
        )
    return link


@transaction.atomic
def remove_attachment(*, document: InternalDocument, actor, file_id) -> None:
    document = _lock_document(document, actor, None)
    _editable(document)
    link = selectors.attachment_of(document, file_id)
    if link is None:
        raise InvalidInput(
            "そのファイルは添付されていません。", "No such attachment.", field="file"
        )
    _document_event(
        document, "file_removed", actor=actor, details={"file": str(link.stored_file_id)}
    )
    link.delete()
    document.version += 1
    document.save(update_fields=["version", "updated_at"])


def _document_context(document: InternalDocument) -> dict[str, Any]:
    return {"amount": document.amount, "attachments": document.attachments.count()}


@transaction.atomic
def submit_document(
    *, document: InternalDocument, actor, expected_version: int, comment: str = ""
) -> ApprovalInstance:
    """Sends a draft on its route, or a returned document on its route again."""
    document = _lock_document(document, actor, expected_version)
    open_instance = selectors.open_instance_of(INTERNAL_DOCUMENT, document.pk)
    if document.state == DocumentState.RETURNED and open_instance is not None:
        transition = states.check(states.DOCUMENT, "resubmit", document.state)
        instance = resubmit_approval(
            instance=open_instance,
            actor=actor,
            expected_version=open_instance.version,
            context=_document_context(document),
            title=document.title,
            comment=comment,
        )
    else:
        try:
            transition = states.check(states.DOCUMENT, "submit", document.state)
        except states.TransitionNotAllowed:
            raise Conflict(
                "この起案文書は既に回付されています。", "The document was already submitted."
            ) from None
        if document.route is None:
            raise InvalidInput("決裁ルートを選んでください。", "Choose a route.", field="route")
        _check_route(document.route, document.unit)
        instance = start_approval(
            kind=INTERNAL_DOCUMENT,
            subject_id=str(document.pk),
            route=document.route,
            drafter=actor,
            drafter_unit=document.unit,
            title=document.title,
            context=_document_context(document),
            comment=comment,
        )
    document.state = transition.target
    document.version += 1
    document.save(update_fields=["state", "version", "updated_at"])
    _document_event(
        document,
        "submitted",
        actor=actor,
        content={"title": document.title, "text": document.text},
        details={"approval": str(instance.pk), "round": instance.round},
    )
    return instance


@transaction.atomic
def cancel_document(
    *, document: InternalDocument, actor, expected_version: int
) -> InternalDocument:
    """廃案: a draft, or a document that was returned or recalled, is abandoned."""
    document = _lock_document(document, actor, expected_version)
    open_instance = selectors.open_instance_of(INTERNAL_DOCUMENT, document.pk)
    if open_instance is not None and open_instance.state != InstanceState.IN_PROGRESS:
        cancel_approval(instance=open_instance, actor=actor, expected_version=open_instance.version)
        document.refresh_from_db()
        return document
    try:
        transition = states.check(states.DOCUMENT, "cancel", document.state)
    except states.TransitionNotAllowed:
        raise Conflict(
            "決裁中または決裁済みの起案文書は廃案にできません（先に引き上げてください）。",
            "A document in approval or approved cannot be cancelled; recall it first.",
        ) from None
    _set_document_state(document, transition.target, actor=actor, name="cancelled")
    return document


def _set_document_state(document: InternalDocument, state: str, *, actor, name: str, details=None):
    document.state = state
    document.version += 1
    document.save(update_fields=["state", "version", "updated_at"])
    _document_event(document, name, actor=actor, details=details)


def _document_of(instance: ApprovalInstance) -> InternalDocument:
    return (
        InternalDocument.objects.select_for_update()
        .select_related("unit")
        .get(pk=instance.subject_id)
    )


def document_completed(*, instance: ApprovalInstance, actor) -> None:
    """The route ended with the 決裁: the document is approved and gets its 文書番号."""
    document = _document_of(instance)
    transition = states.check(states.DOCUMENT, "approved", document.state)
    number = numbering.take_number(document.unit, at=instance.completed_at or timezone.now())
    document.fiscal_year = number.fiscal_year
    document.number_unit = number.unit
    document.serial = number.serial
    document.document_number = number.text
    document.approved_at = instance.completed_at
    document.state = transition.target
    document.version += 1
    document.save()
    _document_event(
        document,
        "approved",
        actor=actor,
        details={
            "document_number": number.text,
            "fiscal_year": number.fiscal_year,
            "number_unit": number.unit.code,
            "approval": str(instance.pk),
        },
    )


def document_returned(*, instance: ApprovalInstance, actor) -> None:
    document = _document_of(instance)
    transition = states.check(states.DOCUMENT, "returned", document.state)
    _set_document_state(document, transition.target, actor=actor, name="returned")


def document_recalled(*, instance: ApprovalInstance, actor) -> None:
    document = _document_of(instance)
    transition = states.check(states.DOCUMENT, "recalled", document.state)
    _set_document_state(document, transition.target, actor=actor, name="recalled")


def document_cancelled(*, instance: ApprovalInstance, actor) -> None:
    document = _document_of(instance)
    transition = states.check(states.DOCUMENT, "cancel", document.state)
    _set_document_state(document, transition.target, actor=actor, name="cancelled")


def register_internal_documents() -> None:
    registry.register_kind(
        INTERNAL_DOCUMENT,
        label="起案文書",
        on_completed=document_completed,
        on_returned=document_returned,
        on_recalled=document_recalled,
        on_cancelled=document_cancelled,
        subject_url=lambda instance: f"/staff/approvals/documents/{instance.subject_id}/",
        context_fields={"amount": "金額（円）", "attachments": "添付ファイルの数"},
    )


# --- 廃棄 (records disposition, issue 4) --------------------------------------------------

ERASED = "（廃棄済み）"


def _erase_instances(kind: str, subject_ids, *, title: str | None = None) -> int:
    """The comments of every step of the subjects' instances (they may name people), and
    with `title` the instances' title and context (a 起案文書's title and amount). The
    rows, states and dates stay: who decided what when is the evidence of the 決裁."""
    instances = ApprovalInstance.objects.filter(
        kind=kind, subject_id__in=[str(item) for item in subject_ids]
    )
    if title is not None:
        instances.update(title=title, context={})
    return (
        ApprovalStep.objects.filter(instance__in=instances).exclude(comment="").update(comment="")
    )


@transaction.atomic
def erase_approval_comments(*, kind: str, subject_ids) -> int:
    """廃棄 of the approval comments of subjects of another capability (an application's
    decisions); the ledger already holds only their hashes. Returns how many went."""
    return _erase_instances(kind, list(subject_ids))


@transaction.atomic
def erase_document_content(*, document_id, actor=None, reason: str = "records.destroy") -> None:
    """廃棄 of a 起案文書 (called by records when an approved disposition destroys its
    file): the title, the text, the amount, the attachments' bytes and names and the
    comments of its 決裁 go; the row stays with its state, dates, 文書番号 and drafter
    (staff, acting for the body), as do the ledger entries and their hashes."""
    document = InternalDocument.objects.select_for_update().filter(pk=document_id).first()
    if document is None:
        return
    document.title = ERASED
    document.text = ""
    document.amount = None
    document.version += 1
    document.save(update_fields=["title", "text", "amount", "version", "updated_at"])
    comments = _erase_instances(INTERNAL_DOCUMENT, [document.pk], title=ERASED)
    erased = []
    for link in document.attachments.select_related("stored_file"):
        erase_stored_file(link.stored_file)
        erased.append(link.stored_file.sha256)
    _document_event(
        document,
        "content_erased",
        actor=actor,
        details={"reason": reason, "files": sorted(erased), "comments": comments},
    )


@transaction.atomic
def abort_approval(*, instance: ApprovalInstance, actor=None, reason: str = "") -> ApprovalInstance:
    """Stops an open instance because its subject went away (an application withdrawn by
    the resident): no drafter or version check, and no callback — the subject's own layer
    asked for it and finishes its side itself."""
    reason = _comment(reason)
    instance = ApprovalInstance.objects.select_for_update().get(pk=instance.pk)
    if not instance.is_open:
        return instance
    moment = _now()
    ApprovalStep.objects.filter(
        instance=instance, state=StepState.PENDING, superseded_at__isnull=True
    ).update(state=StepState.WITHDRAWN, superseded_at=moment)
    transition = states.check(states.INSTANCE, "abort", instance.state)
    instance.state = transition.target
    instance.version += 1
    instance.save(update_fields=["state", "version", "updated_at"])
    _event(instance, "aborted", actor=actor, comment=reason)
    return instance


# --- the names the back office calls (counter/routing.py) ---------------------------------


def route_exists(*, body, name: str) -> bool:
    return selectors.route_for(body, name) is not None


def start_route(
    *,
    kind: str,
    subject_id: str,
    route: str | Route | RouteVersion,
    body,
    unit: Unit,
    drafter,
    title: str,
    context: Mapping[str, Any] | None = None,
    comment: str = "",
) -> ApprovalInstance:
    """`start_approval` with the route named by the procedure's `approval_route`."""
    if isinstance(route, str):
        version = selectors.route_for(body, route)
        if version is None:
            raise CannotStart(
                f"決裁ルート「{route}」が登録されていません。",
                f"The approval route '{route}' is not loaded.",
            )
        route = version
    return start_approval(
        kind=kind,
        subject_id=subject_id,
        route=route,
        drafter=drafter,
        drafter_unit=unit,
        title=title,
        context=context,
        comment=comment,
    )


def _instance(reference) -> ApprovalInstance:
    key = selectors._uuid(reference)
    instance = ApprovalInstance.objects.filter(pk=key).first() if key else None
    if instance is None:
        raise LookupError(f"no approval instance {reference!r}")
    return instance


def recall_route(*, reference, actor, expected_version: int | None = None) -> ApprovalInstance:
    """引上げ of the instance `reference` (its id) by its drafter."""
    instance = _instance(reference)
    return recall_approval(
        instance=instance,
        actor=actor,
        expected_version=instance.version if expected_version is None else expected_version,
    )


def cancel_route(*, reference, actor=None, reason: str = "") -> ApprovalInstance:
    """The subject went away (see `abort_approval`)."""
    return abort_approval(instance=_instance(reference), actor=actor, reason=reason)
