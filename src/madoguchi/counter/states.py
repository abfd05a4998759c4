"""The life cycle of an application: every transition is declared here and only here.

Who may fire a transition (`by`):
- "resident": the applicant (or staff at the counter submitting on their behalf, recorded
  as such);
- "staff": a member of the unit, through the back office's services;
- "route": the approval route (決裁ルート) completing, returning or being recalled, through
  the callbacks the back office registers with the approvals engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import CLOCK_STATES, OPEN_STATES, State


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str
    by: str  # "resident", "staff" or "route"
    label: object


_REVIEWABLE = frozenset({State.UNDER_REVIEW, State.RESUBMITTED})

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("submit", frozenset({State.DRAFT}), State.SUBMITTED, "resident", _("申請する")),
        Transition(
            "start_review",
            frozenset({State.SUBMITTED, State.RESUBMITTED}),
            State.UNDER_REVIEW,
            "staff",
            _("審査を始める"),
        ),
        Transition(
            "request_correction",
            frozenset({State.SUBMITTED, State.UNDER_REVIEW, State.RESUBMITTED}),
            State.CORRECTION_REQUESTED,
            "staff",
            _("補正を依頼する"),
        ),
        Transition(
            "resubmit",
            frozenset({State.CORRECTION_REQUESTED}),
            State.RESUBMITTED,
            "resident",
            _("補正して再提出する"),
        ),
        # A decision taken directly: only for procedures without an approval route.
        Transition("approve", _REVIEWABLE, State.APPROVED, "staff", _("承認する")),
        Transition("reject", _REVIEWABLE, State.REJECTED, "staff", _("不承認にする")),
        # 返戻: the application goes back to the applicant undecided (wrong office, a 補正
        # not answered by its date, …), with the reason.
        Transition(
            "return_to_applicant",
            frozenset(
                {State.SUBMITTED, State.UNDER_REVIEW, State.CORRECTION_REQUESTED, State.RESUBMITTED}
            ),
            State.RETURNED,
            "staff",
            _("返戻する"),
        ),
        # 起案: the case worker's draft decision goes to the procedure's approval route.
        Transition(
            "propose_decision",
            _REVIEWABLE,
            State.AWAITING_APPROVAL,
            "staff",
            _("決裁に回す"),
        ),
        Transition(
            "route_approve",
            frozenset({State.AWAITING_APPROVAL}),
            State.APPROVED,
            "route",
            _("決裁により承認"),
        ),
        Transition(
            "route_reject",
            frozenset({State.AWAITING_APPROVAL}),
            State.REJECTED,
            "route",
            _("決裁により不承認"),
        ),
        Transition(
            "route_return",
            frozenset({State.AWAITING_APPROVAL}),
            State.RETURNED,
            "route",
            _("決裁により返戻"),
        ),
        # 差戻し to the drafter, or 引上げ by the drafter: the review continues.
        Transition(
            "route_send_back",
            frozenset({State.AWAITING_APPROVAL}),
            State.UNDER_REVIEW,
            "route",
            _("差戻し"),
        ),
        Transition(
            "recall_decision",
            frozenset({State.AWAITING_APPROVAL}),
            State.UNDER_REVIEW,
            "staff",
            _("引き上げる"),
        ),
        # 取消し of a decision by the recorded correction procedure: the review reopens.
        Transition(
            "reopen",
            frozenset({State.APPROVED, State.REJECTED, State.RETURNED}),
            State.UNDER_REVIEW,
            "staff",
            _("決定を取り消して審査に戻す"),
        ),
        Transition(
            "withdraw",
            frozenset(
                {
                    State.SUBMITTED,
                    State.UNDER_REVIEW,
                    State.CORRECTION_REQUESTED,
                    State.RESUBMITTED,
                    State.AWAITING_APPROVAL,
                }
            ),
            State.WITHDRAWN,
            "resident",
            _("取り下げる"),
        ),
    )
}

FINAL_STATES = frozenset({State.APPROVED, State.REJECTED, State.RETURNED, State.WITHDRAWN})
DECIDED_STATES = frozenset({State.APPROVED, State.REJECTED, State.RETURNED})
OPEN = frozenset(OPEN_STATES)
CLOCK_RUNNING = frozenset(CLOCK_STATES)

# The decision transitions, by outcome: taken directly, or on completion of the route.
DIRECT_DECISION = {"approve": "approve", "reject": "reject", "return": "return_to_applicant"}
ROUTE_DECISION = {"approve": "route_approve", "reject": "route_reject", "return": "route_return"}


class TransitionNotAllowed(Exception):
    def __init__(self, name: str, state: str) -> None:
        super().__init__(f"{name} is not allowed in state {state}")
        self.name = name
        self.state = state


def allowed(name: str, state: str) -> bool:
    transition = TRANSITIONS.get(name)
    return transition is not None and state in transition.source


def check(name: str, state: str) -> Transition:
    transition = TRANSITIONS.get(name)
    if transition is None or state not in transition.source:
        raise TransitionNotAllowed(name, state)
    return transition


def available(state: str, by: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if state in t.source and t.by == by]
