"""Read paths of the ledger: checkpoints, entries, proofs, and the access log."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from . import merkle
from .models import AccessLog, Checkpoint, Entry, Event, Log, LogKey
from .tiles import TileHashes


def logs() -> QuerySet[Log]:
    return Log.objects.select_related("body").order_by("origin")


def log_by_name(name: str) -> Log | None:
    """A log by its body code ("992011"), "deployment", or its whole origin."""
    if name == "deployment":
        return Log.objects.filter(body__isnull=True).first()
    if name.isdigit():
        return Log.objects.filter(body__code=name).select_related("body").first()
    return Log.objects.filter(origin=name).select_related("body").first()


def latest_checkpoint(log: Log) -> Checkpoint | None:
    return Checkpoint.objects.filter(log=log).select_related("key").order_by("-size").first()


def checkpoint_covering(log: Log, index: int) -> Checkpoint | None:
    """The first checkpoint that includes the entry at `index`."""
    return (
        Checkpoint.objects.filter(log=log, size__gt=index)
        .select_related("key")
        .order_by("size")
        .first()
    )


def checkpoint_of_size(log: Log, size: int) -> Checkpoint | None:
    return Checkpoint.objects.filter(log=log, size=size).select_related("key").first()


def checkpoints(log: Log) -> QuerySet[Checkpoint]:
    return Checkpoint.objects.filter(log=log).select_related("key").order_by("size")


def public_keys(log: Log) -> QuerySet[LogKey]:
    return LogKey.objects.filter(log=log).order_by("first_size", "id")


def entries(log: Log, start: int, end: int) -> QuerySet[Entry]:
    return Entry.objects.filter(log=log, index__gte=start, index__lt=end).order_by("index")


def entry_at(log: Log, index: int) -> Entry | None:
    return Entry.objects.filter(log=log, index=index).select_related("event").first()


def entry_for_event(event: Event | int) -> Entry | None:
    event_id = getattr(event, "pk", event)
    return Entry.objects.filter(event_id=event_id).select_related("log", "log__body").first()


def entries_for_subject(*, subject_type: str, subject_id) -> QuerySet[Entry]:
    return (
        Entry.objects.filter(event__subject_type=subject_type, event__subject_id=str(subject_id))
        .select_related("log", "log__body", "event")
        .order_by("event_id")
    )


class ProofUnavailable(LookupError):
    """A proof that cannot be given: a size no checkpoint has, or an index beyond it."""


def _check_size(log: Log, size: int) -> None:
    latest = latest_checkpoint(log)
    if latest is None or size > latest.size or size < 0:
        raise ProofUnavailable(f"the log {log.origin} has no tree of size {size}")


def inclusion_proof(log: Log, index: int, size: int) -> list[bytes]:
    _check_size(log, size)
    if not 0 <= index < size:
        raise ProofUnavailable(f"entry {index} is not in the tree of size {size}")
    return merkle.inclusion_proof(index, size, TileHashes(log).hash_at)


def consistency_proof(log: Log, first: int, second: int) -> list[bytes]:
    _check_size(log, second)
    if not 0 <= first <= second:
        raise ProofUnavailable(f"no consistency proof from {first} to {second}")
    return merkle.consistency_proof(first, second, TileHashes(log).hash_at)


def root_at(log: Log, size: int) -> bytes:
    _check_size(log, size)
    return merkle.root_hash(size, TileHashes(log).hash_at)


# --- the access log --------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRow:
    log: AccessLog
    show_name: bool
    entry: Entry | None


def accesses_to(user) -> QuerySet[AccessLog]:
    """Who looked at this person's data, newest first."""
    return (
        AccessLog.objects.filter(subject_user=user)
        .select_related("unit", "unit__body", "actor")
        .order_by("-at", "-id")
    )


def names_disclosed(body_code: str) -> bool:
    return body_code in settings.MADOGUCHI_ACCESS_LOG_NAMES_FOR


def access_rows(page) -> list[AccessRow]:
    logs_on_page = list(page)
    entries_by_event = {
        entry.event_id: entry
        for entry in Entry.objects.filter(
            event_id__in=[item.event_id for item in logs_on_page]
        ).select_related("log", "log__body")
    }
    return [
        AccessRow(
            log=item,
            show_name=names_disclosed(item.unit.body.code),
            entry=entries_by_event.get(item.event_id),
        )
        for item in logs_on_page
    ]


def subject_entries(*, subject_type: str, subject_id, event_type: str = "") -> dict:
    """A subject's ledger entries for display: index, log name, event type, time; and
    whether some of its events still wait for the sequencer."""
    found = entries_for_subject(subject_type=subject_type, subject_id=subject_id)
    waiting = Event.objects.filter(
        subject_type=subject_type, subject_id=str(subject_id), entry__isnull=True
    )
    if event_type:
        found = found.filter(event__event_type=event_type)
        waiting = waiting.filter(event_type=event_type)
    rows = [
        {
            "index": entry.index,
            "name": entry.log.body.code if entry.log.body_id else "deployment",
            "event_type": entry.event.event_type,
            "at": entry.event.occurred_at,
        }
        for entry in found
    ]
    return {"rows": rows, "waiting": waiting.exists()}


@dataclass(frozen=True)
class SequencerLag:
    """The sequencer's queue: how many events wait, and since when the oldest."""

    pending: int
    oldest_occurred_at: object  # datetime | None


def sequencer_lag() -> SequencerLag:
    """Events written but not yet in a log (monitoring: the sequencer is behind or down)."""
    from django.db.models import Count, Min

    from .models import PendingEvent

    found = PendingEvent.objects.aggregate(
        pending=Count("event_id"), oldest=Min("event__occurred_at")
    )
    return SequencerLag(pending=found["pending"], oldest_occurred_at=found["oldest"])
