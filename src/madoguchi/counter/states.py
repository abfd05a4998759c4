"""The life cycle of an application: every transition is declared here and only here."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import State


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str
    by: str  # "resident" or "staff"
    label: object


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
        Transition(
            "approve",
            frozenset({State.UNDER_REVIEW, State.RESUBMITTED}),
            State.APPROVED,
            "staff",
            _("承認する"),
        ),
        Transition(
            "reject",
            frozenset({State.UNDER_REVIEW, State.RESUBMITTED}),
            State.REJECTED,
            "staff",
            _("不承認にする"),
        ),
        Transition(
            "withdraw",
            frozenset(
                {State.SUBMITTED, State.UNDER_REVIEW, State.CORRECTION_REQUESTED, State.RESUBMITTED}
            ),
            State.WITHDRAWN,
            "resident",
            _("取り下げる"),
        ),
    )
}

FINAL_STATES = frozenset({State.APPROVED, State.REJECTED, State.WITHDRAWN})


class TransitionNotAllowed(Exception):
    def __init__(self, name: str, state: str) -> None:
        super().__init__(f"{name} is not allowed in state {state}")
        self.name = name
        self.state = state


def allowed(name: str, state: str) -> bool:
    return state in TRANSITIONS[name].source


def check(name: str, state: str) -> Transition:
    transition = TRANSITIONS[name]
    if state not in transition.source:
        raise TransitionNotAllowed(name, state)
    return transition


def available(state: str, by: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if state in t.source and t.by == by]
