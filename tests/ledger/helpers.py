"""Writing events and reading logs back, for the ledger's tests."""

from __future__ import annotations

from django.db import transaction

from madoguchi.ledger import merkle, note
from madoguchi.ledger.models import Checkpoint, Entry, Log, LogKey
from madoguchi.ledger.services import record_event


def write_events(count: int, *, body_id: int | None = None, prefix: str = "test") -> list:
    events = []
    with transaction.atomic():
        for number in range(count):
            events.append(
                record_event(
                    event_type=f"{prefix}.happened",
                    actor_kind="resident",
                    actor_id=1000 + number,
                    subject_type="application",
                    subject_id=f"app-{number}",
                    body_id=body_id,
                    content={"n": number},
                    details={"n": number},
                )
            )
    return events


def leaves_of(log: Log) -> list[bytes]:
    return [
        bytes(leaf)
        for leaf in Entry.objects.filter(log=log).order_by("index").values_list("leaf", flat=True)
    ]


def verifiers_of(log: Log) -> list[note.Verifier]:
    return [note.Verifier.from_string(k.verifier_key) for k in LogKey.objects.filter(log=log)]


def assert_log_consistent(log: Log) -> None:
    """Every checkpoint verifies and its root is the tree over the log's first leaves;
    indices are contiguous from 0."""
    entries = list(Entry.objects.filter(log=log).order_by("index").values_list("index", flat=True))
    assert entries == list(range(len(entries)))
    tree = merkle.Tree.from_leaves(leaves_of(log))
    verifiers = verifiers_of(log)
    for checkpoint in Checkpoint.objects.filter(log=log):
        parsed, _ = note.open_checkpoint(checkpoint.note, verifiers)
        assert parsed.origin == log.origin
        assert parsed.size == checkpoint.size <= tree.size
        assert parsed.root_hash == tree.root(checkpoint.size)
    latest = Checkpoint.objects.filter(log=log).order_by("-size").first()
    assert latest is not None and latest.size == tree.size
