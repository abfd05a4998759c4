"""廃棄 erases the content and personal data of every kind of record in the file — an
issued document, a 起案文書 — and keeps the register entry and the ledger (issue 4)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from madoguchi.approvals import selectors as approval_selectors
from madoguchi.approvals import services as approvals
from madoguchi.approvals.models import ApprovalStep, InternalDocument
from madoguchi.counter.models import Application
from madoguchi.files.models import StoredFile
from madoguchi.identity.models import User
from madoguchi.ledger.models import Event
from madoguchi.organisation.models import Unit
from madoguchi.records import services
from madoguchi.records.models import FileState, ProposalState, Record, RecordFile

from ..api.payloads import CHILD_ALLOWANCE
from ..issuance.helpers import approve as approve_application
from .conftest import approve_proposal

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_signers():
    from madoguchi.issuance.keys import forget_signers

    forget_signers()
    yield
    forget_signers()


def _destroy(officer, director, file: RecordFile) -> RecordFile:
    proposal = services.propose_disposition(
        actor=officer, file=file, action="destroy", reason="保存期間満了のため"
    )
    proposal = approve_proposal(director, proposal)
    assert proposal.state == ProposalState.EXECUTED
    file = RecordFile.objects.get(pk=file.pk)
    assert file.state == FileState.DESTROYED and file.disposed_at
    return file


def _signed_child_allowance(applicant) -> Application:
    """児童手当: a PDF notice is issued; the claim is signed (demo signer) and submitted."""
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.esign.services import demo_sign
    from madoguchi.identity import levels

    draft, _created = counter.create_and_submit(
        procedure=procedure_by_identifier("992011", "child-allowance"),
        applicant=applicant,
        answers=CHILD_ALLOWANCE,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.MYNUMBER_CARD,
        submit=False,
    )
    demo_sign(application=draft, actor=applicant)
    return counter.submit_application(
        application=draft, actor=applicant, identity_level=levels.MYNUMBER_CARD
    )


def _register_entry(record: Record) -> dict:
    return {
        "title": record.title,
        "kind": record.kind,
        "created_on": record.created_on,
        "original_sha256": record.original_sha256,
        "file": record.file_id,
        "filed_event": record.filed_event_id,
    }


def test_destroying_an_issued_document_erases_its_pdf_revocation_note_and_person(
    officer, director, hanako, django_capture_on_commit_callbacks
):
    from madoguchi.issuance import services as issuance
    from madoguchi.issuance.models import IssuedDocument

    application = _signed_child_allowance(hanako)
    # Received in 年度 2015: the 5-year file expired on 2021-03-31.
    Application.objects.filter(pk=application.pk).update(
        submitted_at=timezone.make_aware(dt.datetime(2015, 6, 1, 10, 0))
    )
    application = approve_application(Application.objects.get(pk=application.pk))
    with django_capture_on_commit_callbacks(execute=True):
        document = issuance.schedule_issuance(application_id=application.pk)
    document.refresh_from_db()
    assert document.pdf and document.pdf_sha256, document.last_error
    kacho = User.objects.get(email="kodomo.kacho@aoba.example.jp")
    note = "鈴木一二三様から転居の連絡があり返納"
    issuance.revoke_document(document=document, staff=kacho, reason="other", note=note)
    record = Record.objects.get(kind="issued_document", object_id=str(document.pk))
    assert record.subject_user == hanako and record.files[0]["name"]
    kept = _register_entry(record)
    pdf_name = document.pdf.name
    storage = document.pdf.storage
    events_before = set(Event.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        file = _destroy(officer, director, record.file)

    # The content and personal data are gone …
    document = IssuedDocument.objects.get(pk=document.pk)
    assert not document.pdf and not storage.exists(pdf_name)
    assert document.revocation_note == "" and document.last_error == ""
    record = Record.objects.get(pk=record.pk)
    assert record.destroyed_at and record.original is None and record.subject_user is None
    assert all(set(item) <= {"sha256", "size", "content_type"} for item in record.files)
    application = Application.objects.get(pk=application.pk)
    assert application.answers == {} and application.subject_person == {}
    for other in Record.objects.filter(file=file):
        assert other.subject_user is None and other.original is None and other.destroyed_at
    # … the register entry and the hashes stay, the document's number, kind and state too.
    assert _register_entry(record) == kept
    assert document.number and document.pdf_sha256 == kept["original_sha256"]
    assert document.state == "revoked" and document.revocation_reason == "other"
    assert events_before <= set(Event.objects.values_list("pk", flat=True))
    destroyed = Event.objects.get(event_type="records.destroyed", subject_id=str(file.pk))
    assert document.pdf_sha256 in destroyed.details["content_hashes"]
    assert note not in json.dumps(destroyed.details, ensure_ascii=False)


def test_destroying_a_kian_erases_its_title_text_amount_attachments_and_comments(
    officer, director, sample
):
    tanto = User.objects.get(email="shimin.tanto@aoba.example.jp")
    kacho = User.objects.get(email="shimin.kacho@aoba.example.jp")
    shiminka = Unit.objects.get(body__code="992011", code="shiminka")
    route = next(
        r
        for r in approval_selectors.routes_of_body(shiminka.body)
        if r.identifier == "internal-general"
    )
    title, text = (
        "山田太郎氏への見舞金の支出について",
        "山田太郎氏（青葉町1-2-3）に見舞金を支出する。",
    )
    document = approvals.create_document(
        actor=tanto, unit=shiminka, title=title, text=text, amount=30000, route=route
    )
    approvals.attach_file(
        document=document,
        actor=tanto,
        upload=SimpleUploadedFile("山田太郎_領収書.pdf", PDF, content_type="application/pdf"),
    )
    document.refresh_from_db()
    instance = approvals.submit_document(
        document=document, actor=tanto, expected_version=document.version, comment="山田様の件"
    )
    (step,) = ApprovalStep.objects.filter(instance=instance, state="pending")
    comment = "山田太郎氏本人に確認済み"
    approvals.approve_step(step=step, actor=kacho, expected_version=step.version, comment=comment)
    document.refresh_from_db()
    assert document.state == "approved" and document.document_number
    # Filed at approval; made old: approved in 年度 2015, so the 5-year file has expired.
    record = Record.objects.get(kind="internal_document", object_id=str(document.pk))
    file = record.file
    file.completed_on = dt.date(2016, 3, 31)
    file.save()
    kept = _register_entry(record)
    stored = StoredFile.objects.get(internal_document_link__document=document)
    number, approved_at = document.document_number, document.approved_at

    file = _destroy(officer, director, file)

    document = InternalDocument.objects.get(pk=document.pk)
    assert (document.title, document.text, document.amount) == ("（廃棄済み）", "", None)
    instance.refresh_from_db()
    assert instance.title == "（廃棄済み）" and instance.context == {}
    assert not ApprovalStep.objects.filter(instance=instance).exclude(comment="").exists()
    stored = StoredFile.objects.get(pk=stored.pk)
    assert not stored.file and stored.original_name == "（廃棄済み）" and len(stored.sha256) == 64
    record = Record.objects.get(pk=record.pk)
    assert record.destroyed_at and record.original is None and record.subject_user is None
    assert record.files == [
        {"sha256": stored.sha256, "size": stored.size, "content_type": stored.content_type}
    ]
    # The register entry (its own 件名 included), the 文書番号, state and dates stay.
    assert _register_entry(record) == kept and title in record.title
    assert document.document_number == number and document.approved_at == approved_at
    assert document.state == "approved"
    erased = Event.objects.get(event_type="document.content_erased", subject_id=str(document.pk))
    assert erased.details["files"] == [stored.sha256] and erased.details["comments"] >= 1
    destroyed = Event.objects.get(event_type="records.destroyed", subject_id=str(file.pk))
    assert {record.original_sha256, stored.sha256} <= set(destroyed.details["content_hashes"])
    for event in (erased, destroyed):
        dumped = json.dumps(event.details, ensure_ascii=False)
        assert "山田" not in dumped and "見舞金" not in dumped
    # The earlier entries are still there, with their hashes only.
    assert Event.objects.filter(event_type="document.created", subject_id=str(document.pk)).exists()
    assert Event.objects.filter(event_type="record.filed", subject_id=str(record.pk)).exists()
