"""`madoguchi ledger check`: the platform's own consistency check of its database.

The offline verifier checks what was exported; this checks what the export is made of:
that every event row still builds the exact leaf of its entry (an event changed after
its trigger was dropped shows here), that entries are contiguous, that the stored hash
tiles hold the leaves' hashes, and that every checkpoint's signature and root match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import keys, leaves, merkle, note, selectors
from .models import Entry, Log, PendingEvent
from .tiles import MissingTile, TileHashes


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    pending: int = 0


def check_log(log: Log, result: CheckResult) -> None:
    latest = selectors.latest_checkpoint(log)
    size = latest.size if latest else 0
    pseudonym_key = keys.pseudonym_key()

    def pseudonymise(kind: str, identifier: str) -> str:
        return keys.pseudonym(kind, identifier, pseudonym_key)

    full = merkle.Tree()
    expected = 0
    rows = (
        Entry.objects.filter(log=log)
        .order_by("index")
        .select_related("event", "event__body")
        .iterator(chunk_size=2000)
    )
    for entry in rows:
        if entry.index != expected:
            result.problems.append(f"{log.origin}: entry {expected} is missing")
            expected = entry.index
        event = entry.event
        rebuilt = leaves.leaf_bytes(
            origin=log.origin,
            index=entry.index,
            event_id=event.pk,
            occurred_at=event.occurred_at,
            event_type=event.event_type,
            body_code=event.body.code if event.body_id else None,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            content_sha256=event.content_sha256,
            details=event.details,
            pseudonymise=pseudonymise,
        )
        if rebuilt != bytes(entry.leaf):
            result.problems.append(
                f"{log.origin}: entry {entry.index}: the event row {event.pk} no longer builds its leaf"
            )
        value = merkle.leaf_hash(bytes(entry.leaf))
        full.append_hash(value)
        expected += 1
        result.entries += 1
    if expected != size:
        result.problems.append(
            f"{log.origin}: {expected} entries, the latest checkpoint signs {size}"
        )
    try:
        stored = TileHashes(log).leaf_hashes(min(size, full.size))
        for index, value in enumerate(stored):
            if value != full.levels[0][index]:
                result.problems.append(
                    f"{log.origin}: entry {index}: the hash tile differs from the leaf"
                )
                break
    except MissingTile as exc:
        result.problems.append(f"{log.origin}: {exc} is missing")
    verifiers = [note.Verifier.from_string(key.verifier_key) for key in selectors.public_keys(log)]
    for checkpoint in selectors.checkpoints(log):
        try:
            parsed, _ = note.open_checkpoint(checkpoint.note, verifiers)
        except note.NoteError as exc:
            result.problems.append(f"{log.origin}: checkpoint {checkpoint.size}: {exc}")
            continue
        if parsed.size != checkpoint.size or parsed.root_hash.hex() != checkpoint.root_hash:
            result.problems.append(
                f"{log.origin}: checkpoint {checkpoint.size}: the note and the row differ"
            )
        if checkpoint.size <= full.size and full.root(checkpoint.size) != parsed.root_hash:
            result.problems.append(
                f"{log.origin}: checkpoint {checkpoint.size}: the entries do not rebuild its root"
            )


def check_database() -> CheckResult:
    result = CheckResult(pending=PendingEvent.objects.count())
    for log in selectors.logs():
        check_log(log, result)
    return result
