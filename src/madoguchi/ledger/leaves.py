"""The bytes of a ledger leaf: RFC 8785 canonical JSON of one event (decision 0010).

No personal data: people appear as keyed pseudonyms, content as SHA-256 hashes. No
Django here, so that the platform's consistency check and the tests build exactly the
bytes the sequencer built.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from .jcs import MAX_SAFE_INTEGER, _plain, canonicalize

_dumps = json.dumps


def _plain_document(document: dict[str, Any]) -> bool:
    return (
        abs(document["index"]) <= MAX_SAFE_INTEGER
        and abs(document["event"]) <= MAX_SAFE_INTEGER
        and _plain(document["details"])
    )


LEAF_VERSION = 1
# tlog-tiles entry bundles prefix each entry with a 16-bit length.
MAX_LEAF_BYTES = 65_535
# Subjects that are people: their identifiers are pseudonymised like actors'.
PERSON_SUBJECTS = frozenset({"person", "user", "resident", "staff"})
# Kinds of person a value of the details may name (ledger.services.person).
PERSON_KINDS = frozenset({"resident", "staff"})


def is_person_reference(value: Any) -> bool:
    """A person named in an event's details, as the event row keeps it:
    {"person": "<kind>", "id": "<account id>"}, exactly those two strings."""
    return (
        type(value) is dict
        and len(value) == 2
        and value.get("person") in PERSON_KINDS
        and type(value.get("id")) is str
    )


def publishable_details(
    details: dict[str, Any], pseudonymise: Callable[[str, str], str]
) -> dict[str, Any]:
    """The details as the leaf publishes them: each person named at the top level, or in
    a list there, becomes {"kind": …, "ref": <pseudonym>}, the form of the leaf's actor
    (the same person has the same pseudonym in both). Nothing else changes."""

    def publish(value: Any) -> Any:
        if is_person_reference(value):
            return {"kind": value["person"], "ref": pseudonymise(value["person"], value["id"])}
        return value

    if not any(type(value) is dict or type(value) is list for value in details.values()):
        return details
    return {
        key: [publish(item) for item in value] if type(value) is list else publish(value)
        for key, value in details.items()
    }


def format_time(value: dt.datetime) -> str:
    """UTC with microseconds, always the same length: 2026-11-24T01:02:03.000004Z."""
    if value.tzinfo is None:
        raise ValueError("ledger times are timezone-aware")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def leaf_document(
    *,
    origin: str,
    index: int,
    event_id: int,
    occurred_at: dt.datetime,
    event_type: str,
    body_code: str | None,
    actor_kind: str,
    actor_id: str,
    subject_type: str,
    subject_id: str,
    content_sha256: str,
    details: dict[str, Any],
    pseudonymise: Callable[[str, str], str],
) -> dict[str, Any]:
    subject = (
        {"type": subject_type, "ref": pseudonymise("person", subject_id)}
        if subject_type in PERSON_SUBJECTS
        else {"type": subject_type, "id": subject_id}
    )
    return {
        "v": LEAF_VERSION,
        "origin": origin,
        "index": index,
        "event": event_id,
        "time": format_time(occurred_at),
        "type": event_type,
        "body": body_code,
        "actor": {"kind": actor_kind, "ref": pseudonymise(actor_kind, actor_id)},
        "subject": subject,
        "content_sha256": content_sha256,
        "details": publishable_details(details, pseudonymise),
    }


def leaf_bytes(**fields: Any) -> bytes:
    document = leaf_document(**fields)
    if _plain_document(document):
        # Every part but the details is a string, an int or None under ASCII keys: with
        # plain details the C encoder writes the RFC 8785 bytes (see jcs.canonicalize).
        data = _dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    else:
        data = canonicalize(document)
    if len(data) > MAX_LEAF_BYTES:
        # Writers keep details small; should one not, the leaf keeps their hash so that
        # it still fits a tile's entry bundle and still commits to them.
        details = canonicalize(document["details"])
        document["details"] = {"oversize_sha256": hashlib.sha256(details).hexdigest()}
        data = canonicalize(document)
    return data
