"""`madoguchi ledger check`: the platform's own consistency check of its database.

The offline verifier checks what was exported; this checks what the export is made of:
that every event row still builds the exact leaf of its entry (an event changed after
its trigger was dropped shows here), that entries are contiguous, that the stored hash
tiles hold the leaves' hashes, and that every checkpoint's signature and root match.

It also checks what the log cannot: that no event was lost from the sequencer's queue
(ledger_pendingevent has no append-only trigger: an event neither in a log nor queued
would never be sequenced), and that every access-log row, which the resident's page
"職員があなたの情報を見た記録" reads, still says what its access.logged event recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from . import keys, leaves, merkle, note, selectors
from .models import AccessLog, Entry, Event, Log, PendingEvent
from .services import _PERSON_OBJECTS
from .tiles import MissingTile, TileHashes

# Problems of one kind named one by one, then counted.
NAMED = 50
# log_access wrote the row's time a moment before its event's (before this check
# compared them, the row took its own timezone.now()): a larger gap is a changed time.
ACCESS_TIME_TOLERANCE = dt.timedelta(seconds=1)


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


def _named(result: CheckResult, problems, summary: str) -> None:
    count = 0
    for problem in problems:
        count += 1
        if count <= NAMED:
            result.problems.append(problem)
    if count > NAMED:
        result.problems.append(f"… and {count - NAMED} more {summary} ({count} in all)")


def check_queue(result: CheckResult) -> None:
    """Events in no log and not queued: lost from the queue, never to be sequenced.

    One statement, so one snapshot: a writer commits an event with its queue row, and
    the sequencer deletes the queue row in the commit that appends the entry, so an
    event committed but not yet sequenced is seen queued, never lost.
    """
    lost = (
        Event.objects.filter(entry__isnull=True, pending__isnull=True)
        .order_by("id")
        .values_list("id", "event_type", "subject_type", "subject_id")
        .iterator(chunk_size=2000)
    )
    _named(
        result,
        (
            f"event {pk} ({event_type} {subject_type}:{subject_id}) is in no log and not "
            "queued for the sequencer: lost from ledger_pendingevent"
            for pk, event_type, subject_type, subject_id in lost
        ),
        "events lost from the queue",
    )


def _access_differences(row: tuple) -> list[str]:
    (
        actor_id,
        subject_user_id,
        body_id,
        unit_code,
        what,
        object_type,
        object_id,
        purpose,
        at,
        event_type,
        actor_kind,
        event_actor_id,
        subject_type,
        subject_id,
        event_body_id,
        details,
        occurred_at,
    ) = row
    details = details if isinstance(details, dict) else {}
    expected = [
        ("the event type", event_type, "access.logged"),
        ("the staff member", (actor_kind, event_actor_id), ("staff", str(actor_id))),
        ("the person", (subject_type, subject_id), ("person", str(subject_user_id))),
        ("the unit", (event_body_id, details.get("unit")), (body_id, unit_code)),
        ("what was opened", details.get("what"), what),
        ("the object type", details.get("object_type"), object_type),
        ("the purpose", details.get("purpose"), purpose),
    ]
    if object_type not in _PERSON_OBJECTS or "object_id" in details:
        expected.append(("the object", details.get("object_id"), object_id))
    differences = [name for name, recorded, row_value in expected if recorded != row_value]
    if occurred_at is None or at is None or abs(at - occurred_at) > ACCESS_TIME_TOLERANCE:
        differences.append("the time")
    return differences


def check_access_logs(result: CheckResult) -> None:
    """Each AccessLog row against its access.logged event (the ledgered evidence): the
    staff member, the person, the unit, what, the object, the purpose and the time. (The
    position and roles are not in the event, so they cannot be compared.) An
    access.logged event without its row is a row deleted from the person's history."""
    rows = (
        AccessLog.objects.order_by("id")
        .values_list(
            "id",
            "event_id",
            "actor_id",
            "subject_user_id",
            "unit__body_id",
            "unit__code",
            "what",
            "object_type",
            "object_id",
            "purpose",
            "at",
            "event__event_type",
            "event__actor_kind",
            "event__actor_id",
            "event__subject_type",
            "event__subject_id",
            "event__body_id",
            "event__details",
            "event__occurred_at",
        )
        .iterator(chunk_size=2000)
    )

    def problems():
        # The join with the events drops a row whose event is gone: asked for apart.
        missing = (
            AccessLog.objects.exclude(event_id__in=Event.objects.values("id"))
            .order_by("id")
            .values_list("id", "event_id")
        )
        for pk, event_id in missing:
            yield f"access log {pk}: its access.logged event {event_id} is missing"
        for pk, event_id, *fields in rows:
            differences = _access_differences(tuple(fields))
            if differences:
                yield (
                    f"access log {pk} no longer matches its access.logged event {event_id}: "
                    + ", ".join(differences)
                )

    _named(result, problems(), "access-log rows that differ from their events")
    orphans = (
        Event.objects.filter(event_type="access.logged", access__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
        .iterator(chunk_size=2000)
    )
    _named(
        result,
        (
            f"access.logged event {pk} has no access-log row: removed from the person's history"
            for pk in orphans
        ),
        "access.logged events without their row",
    )


def check_database() -> CheckResult:
    result = CheckResult(pending=PendingEvent.objects.count())
    for log in selectors.logs():
        check_log(log, result)
    check_queue(result)
    check_access_logs(result)
    return result
