"""Conditions of the definition format: show or require a field or a page by answers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .fieldtypes import unseal


def _is_set(value: Any) -> bool:
    # Not `value not in (None, "", [], {}, False)`: 0 == False, and 0 is an answer.
    return value is not None and value is not False and value not in ("", [], {})


def _clear(value: Any) -> Any:
    """A sensitive answer is sealed at rest; its condition holds on the clear value. One
    sealed under a key no longer configured (a record's original keeps the ciphertext of
    its time) counts as unanswered rather than failing the page."""
    try:
        return unseal(value)
    except ValueError:
        return None


def evaluate(condition: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    if condition is None:
        return True
    if "all" in condition:
        return all(evaluate(item, answers) for item in condition["all"])
    if "any" in condition:
        return any(evaluate(item, answers) for item in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], answers)
    value = _clear(answers.get(condition["field"]))
    if "equals" in condition:
        return value == condition["equals"]
    if "not_equals" in condition:
        return value != condition["not_equals"]
    if "in" in condition:
        return value in condition["in"]
    if "contains" in condition:
        return isinstance(value, list) and condition["contains"] in value
    if "is_set" in condition:
        return _is_set(value) == condition["is_set"]
    if "greater_than" in condition:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value > condition["greater_than"]
        )
    if "less_than" in condition:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value < condition["less_than"]
        )
    raise ValueError(f"unknown condition {condition!r}")


def referenced_fields(
    condition: Mapping[str, Any] | None,
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every (field id, leaf condition) a condition refers to."""
    if condition is None:
        return
    for key in ("all", "any"):
        if key in condition:
            for item in condition[key]:
                yield from referenced_fields(item)
            return
    if "not" in condition:
        yield from referenced_fields(condition["not"])
        return
    yield condition["field"], condition
