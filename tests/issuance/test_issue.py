"""Issuing on approval: one document per application, rendered, signed and ledgered."""

from __future__ import annotations

import hashlib

import pytest

from madoguchi.issuance import services
from madoguchi.issuance.models import DocumentState, IssuedDocument
from madoguchi.ledger.models import Event

from .helpers import approved_parking, parking_answers, submitted


@pytest.fixture
def issued(hanako, django_capture_on_commit_callbacks):
    application = approved_parking(hanako)
    with django_capture_on_commit_callbacks(execute=True):
        document = services.schedule_issuance(application_id=application.pk, decided_by=None)
    document.refresh_from_db()
    return document


def test_approval_issues_a_signed_pdf_with_its_hash_in_the_ledger(issued):
    assert issued.state == DocumentState.ISSUED
    data = issued.pdf.open("rb").read()
    assert data.startswith(b"%PDF-")
    assert issued.pdf_sha256 == hashlib.sha256(data).hexdigest()
    assert issued.signature_level == "PAdES-B-B"
    event = Event.objects.get(event_type="document.issued", subject_id=str(issued.pk))
    assert event.content_sha256 == issued.pdf_sha256
    assert event.details["number"] == issued.number
    assert issued.number.startswith("990001-")


def test_scheduling_twice_returns_the_same_document(hanako, django_capture_on_commit_callbacks):
    application = approved_parking(hanako)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.schedule_issuance(application_id=application.pk)
        second = services.schedule_issuance(application_id=application.pk)
    assert first.pk == second.pk
    assert IssuedDocument.objects.filter(application=application).count() == 1


def test_the_task_run_twice_issues_once(issued):
    before = issued.pdf_sha256
    assert services.issue_document(document_id=issued.pk) == "skipped"
    issued.refresh_from_db()
    assert issued.pdf_sha256 == before
    assert (
        Event.objects.filter(event_type="document.issued", subject_id=str(issued.pk)).count() == 1
    )


def test_an_application_not_approved_gets_no_document(hanako):
    application = submitted("990001", "omoiyari-parking", parking_answers(hanako), hanako)
    with pytest.raises(services.IssuanceError):
        services.schedule_issuance(application_id=application.pk)
