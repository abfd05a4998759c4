"""The sequencer: committed events (the outbox) become leaves of the Merkle logs.

One batch is one transaction: under a PostgreSQL advisory lock (a second sequencer waits
for it; on SQLite the IMMEDIATE transaction is the same single writer), take the oldest
queued events, give them contiguous leaf indices in their body's log, extend the tree
from the last checkpoint's right edge, update the hash tiles, sign the new checkpoint
and delete the events from the queue — all in one commit. A sequencer killed mid-batch
leaves nothing behind; the next one takes the same events again. No lock is taken by the
writers: they only insert their event (and its queue row, by trigger).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from . import keys, leaves, merkle, note
from .models import Checkpoint, Entry, Event, Log, LogKey, PendingEvent, Tile

logger = logging.getLogger(__name__)

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
# pg_advisory_xact_lock takes a 64-bit key: the first 8 bytes of a name's hash.
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"madoguchi.ledger.sequencer").digest()[:8], "big", signed=True
)

_state = threading.local()


def is_sequencing() -> bool:
    """True in the sequencer's own transaction (its key events must not schedule it)."""
    return getattr(_state, "active", False)


@dataclass
class BatchResult:
    appended: int = 0
    checkpoints: dict[str, int] = field(default_factory=dict)  # origin -> new size


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


def _log_for(body_id: int | None, body_code: str | None, cache: dict) -> Log:
    if body_id in cache:
        return cache[body_id]
    log = Log.objects.filter(body_id=body_id).first() if body_id else None
    if log is None:
        origin = keys.origin_for(body_code)
        log = Log.objects.filter(origin=origin).first() or Log.objects.create(
            origin=origin, body_id=body_id
        )
    cache[body_id] = log
    return log


def _current_key(log: Log, size: int) -> LogKey:
    """The log's key row for the configured signer, recording a new key as an event."""
    from .services import record_event

    signer, demo = keys.signer_for(log.origin)
    verifier_key = signer.verifier().to_string()
    latest = LogKey.objects.filter(log=log).order_by("-first_size", "-id").first()
    if latest is not None and latest.verifier_key == verifier_key:
        return latest
    row = LogKey.objects.create(log=log, verifier_key=verifier_key, is_demo=demo, first_size=size)
    record_event(
        event_type="ledger.signing_key_configured",
        actor_kind="system",
        actor_id=None,
        subject_type="ledger_log",
        subject_id=log.origin,
        body_id=log.body_id,
        details={
            "origin": log.origin,
            "verifier_key": verifier_key,
            "demo": demo,
            "replaces": latest.verifier_key if latest else None,
        },
    )
    return row


def _tile_writes(log: Log, completed: list[tuple[int, int, bytes]]) -> list[Tile]:
    """Appends the hashes of completed subtrees at levels 0, 8, 16 … to their tiles."""
    additions: dict[tuple[int, int], list[tuple[int, bytes]]] = defaultdict(list)
    for level, index, value in completed:
        if level % TILE_HEIGHT == 0:
            additions[(level // TILE_HEIGHT, index // TILE_WIDTH)].append(
                (index % TILE_WIDTH, value)
            )
    if not additions:
        return []
    existing = {
        (tile.level, tile.index): bytes(tile.hashes)
        for tile in Tile.objects.filter(log=log, level__in={lv for lv, _n in additions}).filter(
            index__in={n for _lv, n in additions}
        )
    }
    tiles = []
    for (level, index), items in additions.items():
        data = bytearray(existing.get((level, index), b""))
        for position, value in sorted(items):
            if len(data) != position * merkle.HASH_SIZE:
                raise RuntimeError(
                    f"tile {level}/{index} of {log.origin} has {len(data) // 32} hashes, "
                    f"expected {position}: the tiles do not match the checkpoints"
                )
            data += value
        tiles.append(Tile(log=log, level=level, index=index, hashes=bytes(data)))
    return tiles


def _insert_entries(rows: list[tuple[int, int, int, bytes]]) -> None:
    """(log id, index, event id, leaf) rows into ledger_entry."""
    if connection.vendor != "postgresql":
        Entry.objects.bulk_create(
            [Entry(log_id=log_id, index=i, event_id=e, leaf=leaf) for log_id, i, e, leaf in rows],
            batch_size=1000,
        )
        return
    # COPY: a batch of thousands of leaves in one stream rather than INSERTs.
    with connection.cursor() as cursor:
        copy_sql = "COPY ledger_entry (log_id, index, event_id, leaf) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)


def _dequeue(event_ids: list[int]) -> None:
    if connection.vendor != "postgresql":
        PendingEvent.objects.filter(event_id__in=event_ids).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_pendingevent WHERE event_id = ANY(%s)", [event_ids])


@transaction.atomic
def sequence_batch(*, limit: int = 5000) -> BatchResult:
    """Appends up to `limit` queued events to their logs and signs new checkpoints."""
    _lock()
    # The oldest queued ids first, from the queue's own primary key, then their events by
    # primary key: a join of the queue with the event table, ordered by event id, makes
    # PostgreSQL merge along the whole event index from id 1, which grows with the log
    # (3.5 s a batch at 900,000 events, against milliseconds this way).
    queued = PendingEvent.objects.order_by("event_id").values("event_id")[:limit]
    rows = list(
        Event.objects.filter(id__in=queued)
        .order_by("id")
        .values_list(
            "id",
            "body_id",
            "body__code",
            "occurred_at",
            "event_type",
            "actor_kind",
            "actor_id",
            "subject_type",
            "subject_id",
            "content_sha256",
            "details",
        )
    )
    result = BatchResult()
    if not rows:
        return result
    _state.active = True
    try:
        pseudonym_key = keys.pseudonym_key()

        # The same people act again and again within a batch.
        @functools.lru_cache(maxsize=10_000)
        def pseudonymise(kind: str, identifier: str) -> str:
            return keys.pseudonym(kind, identifier, pseudonym_key)

        logs: dict = {}
        by_log: dict[int, list[tuple]] = defaultdict(list)
        for row in rows:
            log = _log_for(row[1], row[2], logs)
            by_log[log.pk].append(row)
        now = timezone.now()
        for log_rows in by_log.values():
            log = _log_for(log_rows[0][1], log_rows[0][2], logs)
            previous = Checkpoint.objects.filter(log=log).order_by("-size").first()
            tree = (
                merkle.CompactRange.from_bytes(previous.size, bytes(previous.frontier))
                if previous
                else merkle.CompactRange()
            )
            key_row = _current_key(log, tree.size)
            signer, _demo = keys.signer_for(log.origin)
            entries: list[tuple[int, int, int, bytes]] = []
            completed: list[tuple[int, int, bytes]] = []
            for (
                event_id,
                _body_id,
                body_code,
                occurred_at,
                event_type,
                actor_kind,
                actor_id,
                subject_type,
                subject_id,
                content_sha256,
                details,
            ) in log_rows:
                leaf = leaves.leaf_bytes(
                    origin=log.origin,
                    index=tree.size,
                    event_id=event_id,
                    occurred_at=occurred_at,
                    event_type=event_type,
                    body_code=body_code,
                    actor_kind=actor_kind,
                    actor_id=actor_id,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    content_sha256=content_sha256,
                    details=details,
                    pseudonymise=pseudonymise,
                )
                entries.append((log.pk, tree.size, event_id, leaf))
                completed.extend(tree.append(merkle.leaf_hash(leaf)))
            _insert_entries(entries)
            tiles = _tile_writes(log, completed)
            Tile.objects.bulk_create(
                tiles,
                update_conflicts=True,
                unique_fields=["log", "level", "index"],
                update_fields=["hashes"],
            )
            root = tree.root()
            signed = note.sign_checkpoint(note.Checkpoint(log.origin, tree.size, root), signer)
            Checkpoint.objects.create(
                log=log,
                size=tree.size,
                root_hash=root.hex(),
                note=signed,
                frontier=tree.to_bytes(),
                key=key_row,
                created_at=now,
            )
            result.appended += len(entries)
            result.checkpoints[log.origin] = tree.size
        _dequeue([row[0] for row in rows])
    finally:
        _state.active = False
    return result


def sequence_pending(
    *, limit: int | None = None, max_batches: int = 1000, until_partial_batch: bool = False
) -> BatchResult:
    """Runs batches until the queue is empty (or max_batches): the on-demand sequencer.

    `until_partial_batch` (the sequencer's loop, `ledger sequence --interval`): stop after
    a batch smaller than the limit, which took the whole queue, and leave what was
    committed meanwhile to the next interval. Going on until a batch comes back empty
    would, while requests keep writing, run batch after batch of the few events committed
    during the one before, each with its own checkpoint: several times the CPU per entry
    of one batch per interval (bench/ledger.py: 156-197 µs against 30 µs)."""
    from django.conf import settings

    batch = limit or settings.MADOGUCHI_LEDGER_BATCH_SIZE
    total = BatchResult()
    for _batch in range(max_batches):
        result = sequence_batch(limit=batch)
        total.appended += result.appended
        total.checkpoints.update(result.checkpoints)
        if not result.appended or (until_partial_batch and result.appended < batch):
            break
    return total
