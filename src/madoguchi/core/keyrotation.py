"""Re-encrypting field-encrypted values under the first configured key, without downtime.

Values are Fernet tokens (core.crypto) wherever an app keeps them: inside JSON (the
counter's `{"ciphertext": …, "last4": …}` for My Number and sealed sensitive answers,
allauth's TOTP secrets and recovery-code seeds) or as text; and stored files kept
encrypted (attachments of sensitive fields), each one token. Rather than a list every app must remember to extend,
every JSON and text column of every model is searched for strings that are tokens under
one of the configured keys; anything else is left exactly as it was.

The rotation runs while the service runs: every key decrypts, so rows not yet rotated
stay readable; rows are locked and rewritten in small batches, each its own short
transaction, and a run can be stopped and started again (it is idempotent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Cast

# Every Fernet token starts with its version byte 0x80, which is "gA" in base64, followed
# by the timestamp's high bytes: "gAAAAA" for any date before the year 10889.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret  # nosec B105


@dataclass
class Counts:
    current: int = 0  # already under the first key
    old: int = 0  # under another configured key (to rotate)
    unreadable: int = 0  # looks like a token, no configured key opens it
    rotated: int = 0
    rows: int = 0

    def add(self, other: Counts) -> None:
        for name in ("current", "old", "unreadable", "rotated", "rows"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    by_field: dict[str, Counts] = field(default_factory=dict)
    # Tokens inside binary columns (a record's original: the exact bytes the ledger
    # hashes), counted but never rewritten: re-encrypting would change what is proven.
    held: dict[str, Counts] = field(default_factory=dict)

    @property
    def held_old(self) -> int:
        """Values only an older key opens, inside bytes that must not change: that key
        has to stay configured while they exist."""
        return sum(counts.old for counts in self.held.values())

    @property
    def total(self) -> Counts:
        total = Counts()
        for counts in self.by_field.values():
            total.add(counts)
        return total


class _Keys:
    def __init__(self, keys: list[str]) -> None:
        fernets = [Fernet(key.encode()) for key in keys]
        self.first = fernets[0]
        self.all = MultiFernet(fernets)

    def classify(self, token: str) -> str:
        data = token.encode()
        try:
            self.first.decrypt(data)
            return "current"
        except InvalidToken:
            pass
        try:
            self.all.decrypt(data)
            return "old"
        except InvalidToken:
            return "unreadable"

    def rotate(self, token: str) -> str:
        return self.all.rotate(token.encode()).decode()


def candidate_fields() -> list[tuple[type[models.Model], str]]:
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.JSONField | models.TextField):
                found.append((model, model_field.attname))
    return found


def held_fields() -> list[tuple[type[models.Model], str]]:
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.BinaryField):
                found.append((model, model_field.attname))
    return found


# A Fernet token in text: version byte and timestamp ("gAAAAA"), then URL-safe base64.
_TOKEN_IN_BYTES = re.compile(rb"gAAAAA[A-Za-z0-9_\-]+=*")


def _count_held(model, name: str, keyring: _Keys, batch_size: int) -> Counts:
    counts = Counts()
    last = None
    while True:
        queryset = model._default_manager.exclude(**{f"{name}__isnull": True}).order_by("pk")
        if last is not None:
            queryset = queryset.filter(pk__gt=last)
        rows = list(queryset.values_list("pk", name)[:batch_size])
        if not rows:
            return counts
        for pk, value in rows:
            counts.rows += 1
            for token in _TOKEN_IN_BYTES.findall(bytes(value or b"")):
                kind = keyring.classify(token.decode("ascii"))
                setattr(counts, kind, getattr(counts, kind) + 1)
            last = pk


def _walk(value: Any, visit) -> tuple[Any, bool]:
    """The value with each token string replaced by visit(token); whether any changed."""
    if isinstance(value, str):
        if value.startswith(TOKEN_PREFIX):
            new = visit(value)
            return new, new != value
        return value, False
    if isinstance(value, dict):
        changed = False
        result = {}
        for key, item in value.items():
            result[key], item_changed = _walk(item, visit)
            changed = changed or item_changed
        return result, changed
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            new, item_changed = _walk(item, visit)
            items.append(new)
            changed = changed or item_changed
        return items, changed
    return value, False


def _rows_with_tokens(model, name: str) -> models.QuerySet:
    # Text search in SQL first: only rows that can hold a token are read in Python.
    return (
        model._default_manager.annotate(_as_text=Cast(name, models.TextField()))
        .filter(_as_text__contains=TOKEN_PREFIX)
        .order_by("pk")
    )


def _batches(model, name: str, size: int) -> Iterator[list]:
    last = None
    while True:
        queryset = _rows_with_tokens(model, name)
        if last is not None:
            queryset = queryset.filter(pk__gt=last)
        keys = list(queryset.values_list("pk", flat=True)[:size])
        if not keys:
            return
        yield keys
        last = keys[-1]


def run(*, rotate: bool, batch_size: int = 200, keys: list[str] | None = None) -> Report:
    """Counts (and with `rotate`, re-encrypts) every token in the database."""
    keyring = _Keys(keys or settings.MADOGUCHI_ENCRYPTION_KEYS)
    report = Report()
    for model, name in candidate_fields():
        counts = Counts()
        for batch in _batches(model, name, batch_size):
            with transaction.atomic():
                rows = model._default_manager.select_for_update().filter(pk__in=batch)
                for pk, value in rows.values_list("pk", name):
                    counts.rows += 1
                    seen: list[str] = []

                    def visit(token: str, seen=seen) -> str:
                        kind = keyring.classify(token)
                        seen.append(kind)
                        return keyring.rotate(token) if rotate and kind == "old" else token

                    new, changed = _walk(value, visit)
                    for kind in seen:
                        setattr(counts, kind, getattr(counts, kind) + 1)
                    if changed:
                        model._default_manager.filter(pk=pk).update(**{name: new})
                        counts.rotated += seen.count("old")
        if counts.rows:
            report.by_field[f"{model._meta.label}.{name}"] = counts
    for name, rotator in _ROTATORS.items():
        counts = rotator(keyring, rotate=rotate, batch_size=batch_size)
        if counts.rows:
            report.by_field[name] = counts
    for model, name in held_fields():
        counts = _count_held(model, name, keyring, batch_size)
        if counts.current or counts.old or counts.unreadable:
            report.held[f"{model._meta.label}.{name}"] = counts
    return report


# Tokens kept outside the database columns (an app's encrypted stored files): the app
# registers how to count and rotate them, in its AppConfig.ready(), since core may not
# import the apps above it (decision 0009).
_ROTATORS: dict[str, Callable[..., Counts]] = {}


def register(name: str, rotator: Callable[..., Counts]) -> None:
    """`rotator(keyring, *, rotate, batch_size) -> Counts`; keyring has classify(token)
    ("current", "old" or "unreadable") and rotate(token), on str tokens."""
    _ROTATORS[name] = rotator
