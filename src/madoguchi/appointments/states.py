"""The life cycle of a booking: every transition is declared here and only here.

    booked ──check_in──▶ checked_in
      │ ╲──no_show────▶ no_show
      └──cancel───────▶ cancelled

Changing the time (by the resident or staff) keeps the booking booked: it is a
`reschedule`, recorded as such, not a transition.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Booking


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("check_in", frozenset({Booking.Status.BOOKED}), Booking.Status.CHECKED_IN),
        Transition("no_show", frozenset({Booking.Status.BOOKED}), Booking.Status.NO_SHOW),
        Transition("cancel", frozenset({Booking.Status.BOOKED}), Booking.Status.CANCELLED),
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
