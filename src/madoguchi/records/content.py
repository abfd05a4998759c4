"""What the ledger export finds behind a hash (ledger.content): the records' originals and
the stored files, DISPOSED when an approved 廃棄 erased them, or MISSING when a file's
bytes are gone and no destroyed record lists it. (The verifier trusts neither answer:
only a records.destroyed entry of the signed log proves a disposal.)"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q

from madoguchi.ledger.content import DISPOSED, MISSING

from .models import Record


def record_content(digest: str):
    record = Record.objects.filter(original_sha256=digest).order_by("destroyed_at").first()
    if record is None:
        return None
    if record.destroyed_at is not None:
        return DISPOSED
    if record.original is not None:
        return bytes(record.original)
    return None


def _disposed_or_missing(digest: str) -> str:
    """DISPOSED when a record destroyed by a disposition had this hash (its original or
    one of its files), MISSING otherwise: the bytes went some other way."""
    destroyed = Record.objects.filter(destroyed_at__isnull=False).filter(
        Q(original_sha256=digest) | Q(files__icontains=digest)
    )
    return DISPOSED if destroyed.exists() else MISSING


def stored_file_content(digest: str):
    stored = apps.get_model("files", "StoredFile").objects.filter(sha256=digest).first()
    if stored is not None:
        if not stored.file:
            return _disposed_or_missing(digest)
        from madoguchi.files.services import read_stored

        return read_stored(stored)
    document = (
        apps.get_model("issuance", "IssuedDocument").objects.filter(pdf_sha256=digest).first()
    )
    if document is not None:
        if not document.pdf:
            return _disposed_or_missing(digest)
        with document.pdf.open("rb") as handle:
            return handle.read()
    return None
