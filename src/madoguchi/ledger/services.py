from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import leaves, sequencer
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


def person(kind: str, account_id: int | str | None) -> dict[str, str] | None:
    """A person named in an event's details (an assignee, a principal, the resident
    a clerk entered an application for): the event row keeps the account id, which the
    platform reads back with `person_id`; the published leaf carries a keyed pseudonym
    in its place, the one the same person has as an actor (decision 0010). `kind` is
    "staff" or "resident"; None stays None."""
    if kind not in leaves.PERSON_KINDS:
        raise ValueError(f"unknown kind of person: {kind!r}")
    if account_id is None or account_id == "":
        return None
    return {"person": kind, "id": str(account_id)}


def person_id(value: Any) -> str | None:
    """The account id of a person named in details: `person(...)`'s form, or a bare id
    in the details of events written before it existed."""
    if leaves.is_person_reference(value):
        return value["id"]
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value)


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
    # Already scheduled in a way that ours would share the fate of: registered in no
    # savepoint we are not in ourselves (a savepoint rolled back drops both, or neither).
    current = set(connection.savepoint_ids)
    if any(
        callback is _run_sequencer_task and set(sids) <= current
        for sids, callback, _robust in connection.run_on_commit
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


# --- access logs --------------------------------------------------------------------------


class AccessLogError(Exception):
    """A refused access log (and so a refused access): Japanese for staff, English for
    the API, like the counter's errors."""

    code = "access_refused"
    status = 400

    def __init__(self, ja: str, en: str, code: str | None = None) -> None:
        super().__init__(ja)
        self.ja = ja
        self.en = en
        if code:
            self.code = code


# Object types that name a person: their ids stay out of the published details.
_PERSON_OBJECTS = frozenset({"user", "person", "profile", "resident"})


def _access_details(*, what: str, object_type: str, object_id: str, purpose: str, unit) -> dict:
    details = {"what": what, "object_type": object_type, "purpose": purpose, "unit": unit.code}
    if object_type not in _PERSON_OBJECTS:
        details["object_id"] = object_id
    return details


def _check_access(what: str, purpose: str) -> None:
    from .models import AccessPurpose, AccessWhat

    if what not in AccessWhat.values:
        raise AccessLogError(
            f"不明なアクセスの種類です: {what}", f"Unknown kind of access: {what}", "invalid_what"
        )
    if purpose and purpose not in AccessPurpose.values:
        raise AccessLogError(
            "利用目的を一覧から選んでください。",
            "Choose the purpose from the list.",
            "invalid_purpose",
        )
    if what == AccessWhat.SPECIAL and not purpose:
        raise AccessLogError(
            "要配慮個人情報を表示するには利用目的を選んでください。",
            "Viewing special personal data requires a purpose.",
            "purpose_required",
        )
    if what == AccessWhat.MY_NUMBER and not purpose:
        raise AccessLogError(
            "マイナンバーを表示するには利用目的を選んでください。",
            "Viewing a My Number requires a purpose.",
            "purpose_required",
        )


def _staff_context(actor, unit) -> tuple[str, list[str]]:
    """The staff member's position and roles where they act on the unit: their membership
    in the unit itself or, failing that, in the nearest unit above it (a 課長 opening an
    application of a 係 under the 課)."""
    from madoguchi.organisation.selectors import active_grants, memberships_of

    covering = [m for m in memberships_of(actor) if unit.path.startswith(m.unit.path)]
    if not covering:
        return "", []
    membership = max(covering, key=lambda m: len(m.unit.path))
    roles = sorted(active_grants(user=actor, unit=membership.unit).values_list("role", flat=True))
    return membership.position_id or "", roles


@transaction.atomic
def log_access(
    *,
    actor,
    unit,
    subject_user,
    what: str,
    object_type: str,
    object_id: str | int,
    purpose: str = "",
):
    """Records that staff opened, downloaded or exported a person's data, and ledgers it.

    Call it in the view before the data is shown (an AccessLogError means: do not show
    it). `what` is one of AccessWhat, `purpose` one of AccessPurpose; My Number needs one.
    The person sees the record on their account page; nobody can remove it.
    """
    from .models import AccessLog

    _check_access(what, purpose)
    position, roles = _staff_context(actor, unit)
    event = record_event(
        event_type="access.logged",
        actor_kind="staff",
        actor_id=actor.pk,
        subject_type="person",
        subject_id=subject_user.pk,
        body_id=unit.body_id,
        details=_access_details(
            what=what, object_type=object_type, object_id=str(object_id), purpose=purpose, unit=unit
        ),
    )
    return AccessLog.objects.create(
        actor=actor,
        unit=unit,
        subject_user=subject_user,
        what=what,
        object_type=object_type,
        object_id=str(object_id),
        purpose=purpose,
        position=position,
        roles=roles,
        # The event's own time, so that `ledger check` can compare the two.
        at=event.occurred_at,
        event=event,
    )


@transaction.atomic
def log_accesses(
    *,
    actor,
    unit,
    what: str,
    items: list[tuple[Any, str, str | int]],
    purpose: str = "",
) -> int:
    """log_access for many people at once (an export): items are (subject user or user
    id, object type, object id). One record per person, written in bulk."""
    from .models import AccessLog

    _check_access(what, purpose)
    if not items:
        return 0
    position, roles = _staff_context(actor, unit)
    now = timezone.now()
    if settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT and not sequencer.is_sequencing():
        _sequence_after_commit()
    events = Event.objects.bulk_create(
        [
            Event(
                occurred_at=now,
                event_type="access.logged",
                actor_kind="staff",
                actor_id=str(actor.pk),
                subject_type="person",
                subject_id=str(getattr(subject, "pk", subject)),
                body_id=unit.body_id,
                details=_access_details(
                    what=what,
                    object_type=object_type,
                    object_id=str(object_id),
                    purpose=purpose,
                    unit=unit,
                ),
            )
            for subject, object_type, object_id in items
        ],
        batch_size=1000,
    )
    AccessLog.objects.bulk_create(
        [
            AccessLog(
                actor=actor,
                unit=unit,
                subject_user_id=getattr(subject, "pk", subject),
                what=what,
                object_type=object_type,
                object_id=str(object_id),
                purpose=purpose,
                position=position,
                roles=roles,
                at=now,
                event=event,
            )
            for event, (subject, object_type, object_id) in zip(events, items, strict=True)
        ],
        batch_size=1000,
    )
    return len(items)
