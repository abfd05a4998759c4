"""Read paths of issued documents, each scoped to what the requester may see."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from madoguchi.counter import selectors as counter_selectors
from madoguchi.ledger.services import events_for

from .models import DocumentState, IssuedDocument


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def documents_for_resident(user) -> QuerySet[IssuedDocument]:
    """Documents issued on the resident's applications (and on those made for them that
    they may see), as the counter scopes applications."""
    applications = counter_selectors.applications_for_resident(user).values("pk")
    return (
        IssuedDocument.objects.filter(application__in=applications)
        .select_related("body", "application", "application__procedure_version")
        .order_by("-created_at")
    )


def document_for_resident(user, document_id) -> IssuedDocument | None:
    key = _uuid(document_id)
    if key is None:
        return None
    return documents_for_resident(user).filter(pk=key).first()


def documents_of_application(application) -> QuerySet[IssuedDocument]:
    return IssuedDocument.objects.filter(application=application).order_by("-created_at")


def documents_for_staff(user) -> QuerySet[IssuedDocument]:
    applications = counter_selectors.applications_for_staff(user).values("pk")
    return (
        IssuedDocument.objects.filter(application__in=applications)
        .select_related("body", "unit", "application", "application__procedure_version")
        .order_by("-created_at")
    )


def document_for_staff(user, document_id) -> IssuedDocument | None:
    key = _uuid(document_id)
    if key is None:
        return None
    return documents_for_staff(user).filter(pk=key).first()


def can_download(document: IssuedDocument) -> bool:
    return document.state == DocumentState.ISSUED and "download" in (document.delivery or [])


def history(document: IssuedDocument):
    return events_for(subject_type="document", subject_id=document.pk)


def ledger_evidence(document: IssuedDocument) -> dict[str, Any] | None:
    """The ledger entry of the document's issuance, with its inclusion proof against the
    log's latest checkpoint when the entry has been sequenced. Public: hashes only."""
    event = (
        events_for(subject_type="document", subject_id=document.pk)
        .filter(event_type="document.issued")
        .first()
    )
    if event is None:
        return None
    evidence: dict[str, Any] = {
        "event": event.event_type,
        "event_id": event.pk,
        "occurred_at": event.occurred_at.isoformat(),
        "content_sha256": event.content_sha256,
        "sequenced": False,
    }
    revoked = (
        events_for(subject_type="document", subject_id=document.pk)
        .filter(event_type="document.revoked")
        .first()
    )
    if revoked is not None:
        evidence["revocation_event_id"] = revoked.pk
    try:
        from madoguchi.ledger import selectors as ledger
    except ImportError:
        return evidence
    entry_for_event = getattr(ledger, "entry_for_event", None)
    if entry_for_event is None:
        return evidence
    entry = entry_for_event(event)
    if entry is None:
        return evidence
    evidence.update({"sequenced": True, "log": entry.log.origin, "index": entry.index})
    checkpoint = ledger.latest_checkpoint(entry.log)
    if checkpoint is None or checkpoint.size <= entry.index:
        return evidence
    try:
        proof = ledger.inclusion_proof(entry.log, entry.index, checkpoint.size)
    except Exception:
        return evidence
    import hashlib

    evidence.update(
        {
            "leaf_hash": hashlib.sha256(b"\x00" + bytes(entry.leaf)).hexdigest(),
            "checkpoint": {
                "size": checkpoint.size,
                "root_hash": checkpoint.root_hash,
                "note": checkpoint.note,
            },
            "inclusion_proof": [node.hex() for node in proof],
        }
    )
    return evidence
