"""Extension points of the resident counter for the capabilities above it.

Decision 0009: a lower layer lets a higher one act through a registry, never a signal.
Payments and appointments (layer 3) register here in their `AppConfig.ready()`:

- panels: a block of their own on the resident's check-answers, done and application
  pages (the fee and how to pay it, the booking of a visit). A check-answers panel may
  replace the submit button (a fee paid by card is paid before the application is sent).
- transition guards: a rule that refuses a transition of the application, e.g. no review
  before a fee that must be paid first is paid. Guards raise `CounterError`.
- issuance gates and settlement listeners: issuance asks the gates whether an approved
  application's document may be issued yet (not before its fee is paid, where the
  procedure says so); payments tells the listeners when a fee becomes settled, and
  issuance, listening, issues what was waiting for it.
- closing listeners: told, inside the transaction, when an application ends without a
  decision (取下げ), so that records files it in the register at once.

See docs/decisions/0018-fees-before-review-and-resident-panels.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PAGES = ("check", "done", "detail")


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    replaces_submit: bool = False


PanelProvider = Callable[[Any, Any], "Panel | None"]  # (request, application)
Guard = Callable[[Any, str], None]  # (application, transition name); raises to refuse

_panels: dict[str, dict[str, tuple[int, PanelProvider]]] = {page: {} for page in PAGES}
_guards: dict[str, Guard] = {}
Gate = Callable[[Any], bool]  # (application) -> may its document be issued now?
Listener = Callable[[Any], None]  # (application)
_issuance_gates: dict[str, Gate] = {}
_settlement_listeners: dict[str, Listener] = {}
ClosingListener = Callable[[Any, Any], None]  # (application, actor)
_closing_listeners: dict[str, ClosingListener] = {}


def register_panel(page: str, name: str, provider: PanelProvider, *, order: int = 50) -> None:
    """Registers (or replaces, by name) a panel provider for one of the resident's pages."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}; one of {PAGES}")
    _panels[page][name] = (order, provider)


def panels(page: str, request, application) -> list[Panel]:
    providers = sorted(_panels[page].items(), key=lambda item: (item[1][0], item[0]))
    found = []
    for _name, (_order, provider) in providers:
        panel = provider(request, application)
        if panel is not None:
            found.append(panel)
    return found


def register_transition_guard(name: str, guard: Guard) -> None:
    _guards[name] = guard


def check_transition(application, name: str) -> None:
    """Runs every guard; the first that refuses raises its CounterError."""
    for guard in list(_guards.values()):
        guard(application, name)


def register_issuance_gate(name: str, gate: Gate) -> None:
    _issuance_gates[name] = gate


def issuance_allowed(application) -> bool:
    """Whether every gate lets the application's document be issued now."""
    return all(gate(application) for gate in list(_issuance_gates.values()))


def register_settlement_listener(name: str, listener: Listener) -> None:
    _settlement_listeners[name] = listener


def fee_settled(application) -> None:
    """Called by payments, inside its transaction, when a fee becomes paid or waived."""
    for listener in list(_settlement_listeners.values()):
        listener(application)


def register_closing_listener(name: str, listener: ClosingListener) -> None:
    _closing_listeners[name] = listener


def application_closed(application, actor) -> None:
    """Called by the counter, inside its transaction, when an application ends without a
    decision (取下げ). A listener that raises rolls the withdrawal back with it."""
    for listener in list(_closing_listeners.values()):
        listener(application, actor)
