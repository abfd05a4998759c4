"""What other capabilities hold about a person, for the download of "my data" and for
account deletion.

Identity sits below the counter and the records (decision 0009), so it cannot import them;
each registers its part here from its `AppConfig.ready()`:

    register_personal_data(
        "applications", label="申請", columns=[...], rows=rows_of, erase=erase_for,
    )

`rows(user)` yields dictionaries with those columns (values JSON-serialisable, nothing
secret: masked My Number, no ciphertext); `erase(user)` deletes what may be deleted and
returns what must be kept, each with the reason, which the person is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kept:
    """Something kept after the account is deleted, and why (a retention period)."""

    label: str
    reason: str


@dataclass(frozen=True)
class PersonalData:
    name: str
    label: str
    columns: tuple[str, ...]
    rows: Callable[[Any], Iterable[dict[str, Any]]]
    erase: Callable[[Any], list[Kept]] | None = None
    preview: Callable[[Any], list[Kept]] | None = None


_REGISTRY: dict[str, PersonalData] = {}


def register_personal_data(
    name: str,
    *,
    label: str,
    columns: Iterable[str],
    rows: Callable[[Any], Iterable[dict[str, Any]]],
    erase: Callable[[Any], list[Kept]] | None = None,
    preview: Callable[[Any], list[Kept]] | None = None,
) -> None:
    if name in _REGISTRY and _REGISTRY[name].rows is not rows:
        raise ValueError(f"personal data {name!r} is registered twice")
    _REGISTRY[name] = PersonalData(
        name=name, label=label, columns=tuple(columns), rows=rows, erase=erase, preview=preview
    )


def personal_data_sources() -> list[PersonalData]:
    return list(_REGISTRY.values())


def personal_data_source(name: str) -> PersonalData | None:
    return _REGISTRY.get(name)
