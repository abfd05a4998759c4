"""What the ledger export finds behind a hash (ledger.content): the records' originals and
the stored files, or DISPOSED when an approved 廃棄 erased them."""

from __future__ import annotations

from django.apps import apps

from madoguchi.ledger.content import DISPOSED

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


def stored_file_content(digest: str):
    stored = apps.get_model("files", "StoredFile").objects.filter(sha256=digest).first()
    if stored is not None:
        if not stored.file:
            return DISPOSED
        from madoguchi.files.services import read_stored

        return read_stored(stored)
    document = (
        apps.get_model("issuance", "IssuedDocument").objects.filter(pdf_sha256=digest).first()
    )
    if document is not None:
        if not document.pdf:
            return DISPOSED
        with document.pdf.open("rb") as handle:
            return handle.read()
    return None
