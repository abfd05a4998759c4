"""The life cycle of a payment: every transition is declared here and only here.

    pending ──authorise──▶ authorised ──pay──▶ paid ──refund_partially──▶ partially_refunded
       │ ╲                    │                 │                              │
       │  ╲──────pay──────────┼────────────────▶│──────────refund──────────────┴──▶ refunded
       ├──fail──▶ failed ◀────┤
       └──cancel─▶ cancelled ◀┘

A card payment is authorised first and captured (pay) once its application is submitted;
a payment at the counter or by bank transfer goes from pending to paid when staff record
the money. Failed, cancelled and refunded are final.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Status


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("authorise", frozenset({Status.PENDING}), Status.AUTHORISED),
        Transition("pay", frozenset({Status.PENDING, Status.AUTHORISED}), Status.PAID),
        Transition("fail", frozenset({Status.PENDING, Status.AUTHORISED}), Status.FAILED),
        Transition("cancel", frozenset({Status.PENDING, Status.AUTHORISED}), Status.CANCELLED),
        Transition(
            "refund_partially",
            frozenset({Status.PAID, Status.PARTIALLY_REFUNDED}),
            Status.PARTIALLY_REFUNDED,
        ),
        Transition("refund", frozenset({Status.PAID, Status.PARTIALLY_REFUNDED}), Status.REFUNDED),
    )
}

FINAL = frozenset({Status.FAILED, Status.CANCELLED, Status.REFUNDED})


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
