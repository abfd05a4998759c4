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


@pytest.mark.django_db(transaction=True)
def test_rendering_and_signing_wait_for_the_worker_not_the_request(hanako, settings):
    """With the production task backend, scheduling only writes the document row and a task
    row in the decision's transaction; the PDF is made by `db_worker`, another process."""
    from django.core.management import call_command
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    application = approved_parking(hanako)
    with transaction.atomic():
        document = services.schedule_issuance(application_id=application.pk)
    document.refresh_from_db()
    assert document.state == DocumentState.PENDING and not document.pdf
    queued = DBTaskResult.objects.get(task_path="madoguchi.issuance.tasks.issue_document_task")
    assert queued.args_kwargs["args"] == [str(document.pk)] and queued.status == "READY"
    call_command("db_worker", "--batch", "--no-startup-delay")
    document.refresh_from_db()
    assert document.state == DocumentState.ISSUED and document.pdf
    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"


def test_the_issued_e_mail_is_in_the_residents_language(hanako, django_capture_on_commit_callbacks):
    from madoguchi.identity.models import User
    from madoguchi.notifications.models import OutboundEmail

    User.objects.filter(pk=hanako.pk).update(language="en")
    hanako.refresh_from_db()
    application = approved_parking(hanako)
    with django_capture_on_commit_callbacks(execute=True):
        document = services.schedule_issuance(application_id=application.pk, decided_by=None)
    email = OutboundEmail.objects.get(template="document_issued", related_id=str(document.pk))
    version = application.procedure_version
    assert version.name_en and f"“{version.name_en}”" in email.body_text
    assert email.subject.startswith("[Issued] ")
    assert "You can download it here" in email.body_text
