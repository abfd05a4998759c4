"""Subject kinds: what a route approves, and what happens when it is done.

Higher layers register their kinds in `AppConfig.ready()` (decision 0009: a registry, not
signals). The callbacks run inside the transaction of the action that triggers them, so
that the subject's change and the approval's ledger event commit together; slow work
(rendering, e-mail) belongs in `transaction.on_commit`.

    register_kind(
        "application_decision",
        label="申請の決定",
        on_completed=decision_approved,      # (instance=, actor=) -> None
        on_returned=decision_returned,       # returned to the drafter (差戻し)
        subject_url=lambda instance: f"/staff/applications/{...}/",
        context_fields={"fee": "手数料（円）"},
    )
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Callback = Callable[..., None]

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class SubjectKind:
    kind: str
    label: str
    on_completed: Callback
    on_returned: Callback | None = None
    on_recalled: Callback | None = None
    on_cancelled: Callback | None = None
    # Where staff open the subject; without it the approval page is the subject's page.
    subject_url: Callable[[Any], str] | None = None
    # The facts a route's conditions may test (`when: {field: amount, ...}`), with labels;
    # empty means "not declared", and conditions are then not checked against it.
    context_fields: Mapping[str, str] = field(default_factory=dict)
    # Who else may see an instance of this kind (beyond the route's own rule).
    can_view: Callable[[Any, Any], bool] | None = None
    # Approving it is a sensitive action (a disposition of records): the approver proves
    # who they are again, with their second factor, unless they just did.
    reauthenticate: bool = False


_KINDS: dict[str, SubjectKind] = {}
_LISTENERS: dict[str, dict[str, Callback]] = {}


def register_kind(
    kind: str,
    *,
    label: str,
    on_completed: Callback,
    on_returned: Callback | None = None,
    on_recalled: Callback | None = None,
    on_cancelled: Callback | None = None,
    subject_url: Callable[[Any], str] | None = None,
    context_fields: Mapping[str, str] | None = None,
    can_view: Callable[[Any, Any], bool] | None = None,
    reauthenticate: bool = False,
) -> SubjectKind:
    """Registers (or, when `ready()` runs again, replaces) a subject kind."""
    if not _KIND.match(kind):
        raise ValueError(f"subject kind {kind!r}: lower-case letters, digits and '_'")
    if not callable(on_completed):
        raise TypeError("on_completed must be callable")
    item = SubjectKind(
        kind=kind,
        label=label,
        on_completed=on_completed,
        on_returned=on_returned,
        on_recalled=on_recalled,
        on_cancelled=on_cancelled,
        subject_url=subject_url,
        context_fields=dict(context_fields or {}),
        can_view=can_view,
        reauthenticate=reauthenticate,
    )
    _KINDS[kind] = item
    return item


def register_completion_listener(kind: str, name: str, listener: Callback) -> None:
    """Lets a higher layer act, in the same transaction, after a route of `kind` completed
    and the kind's own `on_completed` ran (records files an approved 起案文書)."""
    _LISTENERS.setdefault(kind, {})[name] = listener


def completion_listeners(kind: str) -> list[Callback]:
    return list(_LISTENERS.get(kind, {}).values())


def unregister_kind(kind: str) -> None:
    """For tests that register a kind of their own."""
    _KINDS.pop(kind, None)


def get_kind(kind: str) -> SubjectKind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise LookupError(f"no subject kind {kind!r} is registered") from None


def needs_reauthentication(kind: str) -> bool:
    item = _KINDS.get(kind)
    return item is not None and item.reauthenticate


def is_registered(kind: str) -> bool:
    return kind in _KINDS


def kinds() -> list[SubjectKind]:
    return sorted(_KINDS.values(), key=lambda item: item.kind)
