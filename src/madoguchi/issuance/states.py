"""The life cycle of an issued document: every transition is declared here and only here."""

from __future__ import annotations

from dataclasses import dataclass

from .models import DocumentState as S


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        # Rendered, stamped and signed: the PDF exists and its hash is in the ledger.
        Transition("issue", frozenset({S.PENDING}), S.ISSUED),
        # Rendering or signing failed (font missing, token removed, TSA down).
        Transition("fail", frozenset({S.PENDING}), S.FAILED),
        Transition("retry", frozenset({S.FAILED}), S.PENDING),
        # Withdrawn permit, re-issue, error: it verifies as revoked from then on.
        Transition("revoke", frozenset({S.ISSUED}), S.REVOKED),
    )
}


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
