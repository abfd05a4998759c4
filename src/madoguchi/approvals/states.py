"""The life cycles of an approval instance and of an internal document: every transition
is declared here and only here; the services check them before changing anything."""

from __future__ import annotations

from dataclasses import dataclass

from .models import DocumentState, InstanceState


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str


def _table(*items: Transition) -> dict[str, Transition]:
    return {item.name: item for item in items}


_OPEN = InstanceState.IN_PROGRESS

INSTANCE = _table(
    # Approving a step that is not the last keeps the instance in progress.
    Transition("approve", frozenset({_OPEN}), _OPEN),
    Transition("complete", frozenset({_OPEN}), InstanceState.COMPLETED),
    Transition("return_to_previous", frozenset({_OPEN}), _OPEN),
    Transition("return_to_drafter", frozenset({_OPEN}), InstanceState.RETURNED),
    Transition("recall", frozenset({_OPEN}), InstanceState.RECALLED),
    Transition(
        "resubmit",
        frozenset({InstanceState.RETURNED, InstanceState.RECALLED}),
        _OPEN,
    ),
    Transition(
        "cancel",
        frozenset({InstanceState.RETURNED, InstanceState.RECALLED}),
        InstanceState.CANCELLED,
    ),
    # The subject went away (an application withdrawn): stopped wherever it is.
    Transition(
        "abort",
        frozenset({_OPEN, InstanceState.RETURNED, InstanceState.RECALLED}),
        InstanceState.CANCELLED,
    ),
)

DOCUMENT = _table(
    Transition("submit", frozenset({DocumentState.DRAFT}), DocumentState.IN_APPROVAL),
    Transition("resubmit", frozenset({DocumentState.RETURNED}), DocumentState.IN_APPROVAL),
    Transition("approved", frozenset({DocumentState.IN_APPROVAL}), DocumentState.APPROVED),
    Transition("returned", frozenset({DocumentState.IN_APPROVAL}), DocumentState.RETURNED),
    # 引上げ: the drafter takes the document back to edit it; it is again theirs alone.
    Transition("recalled", frozenset({DocumentState.IN_APPROVAL}), DocumentState.RETURNED),
    Transition(
        "cancel",
        frozenset({DocumentState.DRAFT, DocumentState.RETURNED}),
        DocumentState.CANCELLED,
    ),
)


class TransitionNotAllowed(Exception):
    def __init__(self, name: str, state: str) -> None:
        super().__init__(f"{name} is not allowed in state {state}")
        self.name = name
        self.state = state


def allowed(table: dict[str, Transition], name: str, state: str) -> bool:
    return state in table[name].source


def check(table: dict[str, Transition], name: str, state: str) -> Transition:
    transition = table[name]
    if state not in transition.source:
        raise TransitionNotAllowed(name, state)
    return transition
