"""The one place where an application's decision meets the approval engine (決裁ルート).

The procedure names its route (`approval_route` in the definition); the approvals engine
(`madoguchi.approvals`, a lower layer, decision 0011) runs it. Everything the counter and
the back office need from the engine goes through these functions, and the engine's
refusals come out as the counter's (`.ja`, `.en`, `.code`, `.status`), so that views and
the API handle one kind of error.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from madoguchi.ledger.services import person

SUBJECT_KIND = "application_decision"


def _engine():
    from madoguchi.approvals import services

    return services


@contextmanager
def _refusals():
    """Translates the engine's refusals (same fields) into the counter's."""
    from madoguchi.approvals.services import ApprovalError

    from .services import CounterError

    try:
        yield
    except ApprovalError as exc:
        error = CounterError(exc.ja, exc.en)
        error.code = exc.code
        error.status = exc.status
        raise error from exc


def route_name(application) -> str:
    return application.procedure_version.definition.get("approval_route") or ""


def route_for(application) -> str | None:
    """The route the procedure names, when the engine has it loaded for the body; None:
    the decision is taken directly (by someone with the approver role)."""
    name = route_name(application)
    if not name or not _engine().route_exists(body=application.body, name=name):
        return None
    return name


def _drafting_unit(application, drafter):
    """The unit the draft is written in: the drafter's own unit nearest to the
    application's (the application's unit itself, or a unit above it)."""
    from madoguchi.organisation.selectors import ancestors, memberships_of

    member_of = set(memberships_of(drafter).values_list("unit_id", flat=True))
    for unit in ancestors(application.unit):
        if unit.pk in member_of:
            return unit
    return application.unit


def start(*, application, decision, drafter, route: str) -> str:
    """Starts the route for a draft decision; returns the instance's id."""
    with _refusals():
        instance = _engine().start_route(
            kind=SUBJECT_KIND,
            subject_id=str(decision.pk),
            route=route,
            body=application.body,
            unit=_drafting_unit(application, drafter),
            drafter=drafter,
            title=f"{application.procedure_version.name}（{application.receipt_number}）"[:200],
            context=_context(application, decision),
        )
    return str(instance.pk)


def recall(*, decision, actor) -> None:
    """引上げ by the drafter, before the next step has acted (the engine refuses later)."""
    if not decision.approval_reference:
        return
    with _refusals():
        _engine().recall_route(reference=decision.approval_reference, actor=actor)


def cancel(*, decision, actor, reason: str = "申請の取下げ") -> None:
    """Stops the draft's instance: the application was withdrawn, or the draft came back
    to review (差戻し, 引上げ) and a new draft will start a new instance. Without this a
    returned instance could be resubmitted from the approvals pages, apart from the
    application."""
    if not decision.approval_reference:
        return
    with _refusals():
        _engine().cancel_route(reference=decision.approval_reference, actor=actor, reason=reason)


def may_view(*, user, application) -> bool:
    """Whether the route gives this user the application (a step, a 合議 unit, a deputy
    asked about one of its draft decisions)."""
    from madoguchi.approvals import selectors

    return any(
        selectors.may_view_subject(user=user, kind=SUBJECT_KIND, subject_id=str(reference))
        for reference in application.decisions.values_list("pk", flat=True)
    )


def actionable_step(*, decision, user):
    """The step of the decision's route that `user` may approve now (directly or as a
    deputy), or None."""
    from madoguchi.approvals import selectors

    for item in selectors.actionable_steps(user):
        instance = item.step.instance
        if instance.kind == SUBJECT_KIND and instance.subject_id == str(decision.pk):
            return item
    return None


def approve_in_bulk(*, decision, actor, comment: str = "") -> None:
    """Approves the user's current step of the route, when the route allows bulk
    approval (`allow_bulk`); refuses with the reason otherwise."""
    from .services import StateNotAllowed

    item = actionable_step(decision=decision, user=actor)
    if item is None:
        raise StateNotAllowed(
            "この申請の決裁で、あなたが今承認できる段階はありません。",
            "There is no step of this decision's route you can approve now.",
        )
    if not item.step.instance.route_version.allows_bulk:
        raise StateNotAllowed(
            "この決裁ルートは一括承認できません。1件ずつ決裁してください。",
            "This approval route does not allow bulk approval.",
        )
    with _refusals():
        _engine().approve_step(
            step=item.step,
            actor=actor,
            expected_version=item.step.version,
            comment=comment,
            on_behalf_of=item.on_behalf_of,
        )


def final_approval(instance) -> dict[str, Any]:
    """Who approved the final stage, and for whom (代決), for the decision's event."""
    from madoguchi.approvals.selectors import steps_of

    step = (
        steps_of(instance)
        .filter(is_final=True, acted_by__isnull=False)
        .order_by("-acted_at")
        .first()
    )
    if step is None:
        return {}
    return {
        "approved_by": person("staff", step.acted_by_id),
        "on_behalf_of": person("staff", step.acted_for_id),
        "route_step": step.key,
    }


def _context(application, decision) -> dict[str, Any]:
    """What conditional steps may test (the outcome, the fee); no personal data."""
    facts = {"outcome": decision.outcome, "fee_amount": application.fee_amount}
    return {key: value for key, value in facts.items() if value is not None}
