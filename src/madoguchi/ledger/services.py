from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from . import sequencer
from .models import Event

logger = logging.getLogger(__name__)


def content_hash(content: Any) -> str:
    """SHA-256 of a JSON-serialisable value in a stable encoding (sorted keys, UTF-8)."""
    if isinstance(content, bytes):
        data = content
    else:
        data = json.dumps(
            content, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode()
    return hashlib.sha256(data).hexdigest()


def record_event(
    *,
    event_type: str,
    actor_kind: str,
    actor_id: str | int | None,
    subject_type: str,
    subject_id: str | int,
    body_id: int | None = None,
    content: Any = None,
    content_sha256: str = "",
    details: dict[str, Any] | None = None,
) -> Event:
    """Append an event. Must run inside the transaction of the change it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must be called inside the transaction of the change")
    if content is not None and not content_sha256:
        content_sha256 = content_hash(content)
    if settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT and not sequencer.is_sequencing():
        _sequence_after_commit()
    return Event.objects.create(
        event_type=event_type,
        actor_kind=actor_kind,
        actor_id="" if actor_id is None else str(actor_id),
        subject_type=subject_type,
        subject_id=str(subject_id),
        body_id=body_id,
        content_sha256=content_sha256,
        details=details or {},
    )


def events_for(*, subject_type: str, subject_id: str | int):
    return Event.objects.filter(subject_type=subject_type, subject_id=str(subject_id)).order_by(
        "id"
    )


# --- sequencing -------------------------------------------------------------------------


def _run_sequencer_task() -> None:
    from .tasks import sequence_ledger

    sequence_ledger.enqueue()


def _sequence_after_commit() -> None:
    """Schedules one sequencer run after the current transaction commits (once, however
    many events it writes). The run happens after the commit, so the writer's own
    transaction never waits for the sequencer's lock."""
    if any(
        callback is _run_sequencer_task for _sids, callback, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_run_sequencer_task, robust=True)


def sequence_now() -> sequencer.BatchResult:
    """Appends every queued event to its log now, and signs the new checkpoints."""
    return sequencer.sequence_pending()


def await_checkpoint(event: Event, *, timeout: float | None = None):
    """For synchronous mode: sequences (waiting for a running sequencer's lock if need
    be) until a signed checkpoint includes the event. Returns its entry, or None when
    the ledger could not sequence it in time (the receipt then says the proof follows).
    """
    import time

    from .models import Entry

    deadline = time.monotonic() + (
        settings.MADOGUCHI_LEDGER_SYNC_TIMEOUT if timeout is None else timeout
    )
    while True:
        entry = Entry.objects.filter(event_id=event.pk).select_related("log").first()
        if entry is not None:
            return entry
        try:
            appended = sequencer.sequence_pending(max_batches=1).appended
        except Exception:
            logger.exception("ledger sequencing failed while a receipt waited for it")
            return None
        if time.monotonic() > deadline:
            return None
        if not appended:
            time.sleep(0.05)


def require_checkpoint(event: Event) -> None:
    """Call in the transaction of a change whose receipt must wait for the checkpoint
    that includes its event (a procedure's synchronous ledger mode)."""
    transaction.on_commit(lambda: await_checkpoint(event))
