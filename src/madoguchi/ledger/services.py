from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection

from .models import Event


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
