"""An issued document's page shows its ledger entries with their inclusion proofs, and the
issued document is filed as a record with its PDF's hash."""

from __future__ import annotations

import pytest

from madoguchi.ledger.services import sequence_now
from madoguchi.records.models import Record

from ..issuance.helpers import approved_parking

pytestmark = pytest.mark.django_db


def test_the_document_page_links_its_ledger_entries(
    hanako, hanako_client, django_capture_on_commit_callbacks
):
    from madoguchi.issuance import services
    from madoguchi.issuance.keys import forget_signers

    forget_signers()
    with django_capture_on_commit_callbacks(execute=True):
        document = services.schedule_issuance(application_id=approved_parking(hanako).pk)
    document.refresh_from_db()
    sequence_now()
    page = hanako_client.get(f"/documents/{document.pk}/").content.decode()
    assert "台帳の記録" in page and "台帳の第" in page and "包含証明（JSON）" in page
    record = Record.objects.get(kind="issued_document", object_id=str(document.pk))
    assert record.original_sha256 == document.pdf_sha256
    # Filed with the procedure's retention class (おもいやり駐車場: 5年).
    definition = document.application.procedure_version.definition
    assert definition["retention_class"] == "5年"
    assert record.file.retention_class == "5年"
