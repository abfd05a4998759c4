"""Disposition: nothing is transferred, destroyed or extended without a proposal approved
through the approval route; holds block it and move the expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import bagit
import pytest
from django.core.management import call_command

from madoguchi.approvals import selectors as approval_selectors
from madoguchi.approvals import services as approvals
from madoguchi.counter.models import Application
from madoguchi.ledger.models import Event
from madoguchi.ledger.services import sequence_now
from madoguchi.records import selectors, services
from madoguchi.records.models import (
    DispositionProposal,
    FileState,
    LegalHold,
    ProposalState,
    Record,
    RecordFile,
)

from ..counter.uploads import pdf, upload
from .conftest import approve_proposal, filed_with_attachment, submit_dog

pytestmark = pytest.mark.django_db


@pytest.fixture
def expired_file(old_application):
    return services.file_record(kind="application", subject=old_application).file


def test_the_records_officer_sees_the_expired_files(officer, expired_file, hanako):
    current = services.file_record(kind="application", subject=submit_dog(hanako)).file
    expired = list(selectors.expired_files(officer))
    assert expired_file in expired and current not in expired


def test_destruction_needs_an_approved_proposal(officer, director, expired_file, old_application):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason="保存期間満了のため"
    )
    assert proposal.state == ProposalState.IN_APPROVAL
    # Not yet approved: refused, nothing destroyed.
    with pytest.raises(services.RecordsError) as refused:
        services.execute_disposition(proposal=proposal, actor=officer)
    assert refused.value.code == "not_approved"
    assert Application.objects.get(pk=old_application.pk).answers
    # The second proposal for the same file is refused while the first is open.
    with pytest.raises(services.RecordsError):
        services.propose_disposition(
            actor=officer, file=expired_file, action="transfer", reason="x"
        )

    proposal = approve_proposal(director, proposal)
    assert proposal.state == ProposalState.EXECUTED
    file = RecordFile.objects.get(pk=expired_file.pk)
    assert file.state == FileState.DESTROYED and file.disposed_at
    # The content and personal data are gone; the register entry and the hashes stay.
    application = Application.objects.get(pk=old_application.pk)
    assert application.answers == {} and application.receipt_number
    record = Record.objects.get(file=file)
    assert record.original is None and record.destroyed_at and record.original_sha256
    destroyed = Event.objects.get(event_type="records.destroyed", subject_id=str(file.pk))
    assert record.original_sha256 in destroyed.details["content_hashes"]
    assert Event.objects.filter(event_type="application.content_erased").exists()
    # Destroyed once: executing again is refused.
    with pytest.raises(services.RecordsError):
        services.execute_disposition(proposal=proposal, actor=officer)


def test_destruction_erases_the_attachments_bytes_but_keeps_their_hashes(
    officer, director, hanako, settings, tmp_path
):
    import uuid

    from django.utils import timezone

    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter.services import create_and_submit
    from madoguchi.files.models import StoredFile
    from madoguchi.files.services import store_upload

    from ..api.payloads import DOG

    stored = store_upload(upload("証明.pdf", pdf()), owner=hanako, accept=["pdf"])
    application, _ = create_and_submit(
        procedure=procedure_by_identifier("992011", "dog-registration"),
        applicant=hanako,
        answers=DOG,
        idempotency_key=uuid.uuid4(),
        identity_level="account",
    )
    from madoguchi.counter.models import ApplicationFile

    ApplicationFile.objects.create(application=application, stored_file=stored, field_id="proof")
    Application.objects.filter(pk=application.pk).update(
        submitted_at=timezone.make_aware(dt.datetime(2012, 5, 1, 9, 0))
    )
    application.refresh_from_db()
    file = services.file_record(kind="application", subject=application).file
    proposal = services.propose_disposition(
        actor=officer, file=file, action="destroy", reason="満了"
    )
    approve_proposal(director, proposal)
    stored = StoredFile.objects.get(pk=stored.pk)
    assert not stored.file and stored.original_name == "（廃棄済み）"
    assert len(stored.sha256) == 64


def test_transfer_produces_a_bagit_package_with_the_ledger(
    officer, director, expired_file, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MADOGUCHI_RECORDS_ARCHIVE_DIR = str(tmp_path / "archives")
    sequence_now()
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="transfer", reason="歴史公文書として移管"
    )
    with django_capture_on_commit_callbacks(execute=True):
        proposal = approve_proposal(director, proposal)
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.EXECUTED
    assert RecordFile.objects.get(pk=expired_file.pk).state == FileState.TRANSFERRED
    bag = bagit.Bag(proposal.package_path)
    bag.validate()
    assert bag.info["External-Identifier"] == str(expired_file.pk)
    data = Path(bag.path) / "data"
    register = json.loads((data / "register-entry.json").read_text())
    assert register["title"] == expired_file.title and register["retention_class"] == "3年"
    records = json.loads((data / "records.json").read_text())
    original = (data / records[0]["original"]).read_bytes()
    assert hashlib.sha256(original).hexdigest() == records[0]["original_sha256"]
    entries = (data / "ledger" / "entries.jsonl").read_bytes().splitlines()
    assert any(b'"application.submitted"' in line for line in entries)
    assert (data / "ledger" / "checkpoint.txt").read_text().count("\n") >= 4
    assert Event.objects.filter(
        event_type="records.transferred", subject_id=str(expired_file.pk)
    ).exists()


def test_an_extension_moves_the_expiry(officer, director, expired_file):
    proposal = services.propose_disposition(
        actor=officer,
        file=expired_file,
        action="extend",
        reason="事業継続中のため",
        extension_years=2,
    )
    approve_proposal(director, proposal)
    file = RecordFile.objects.get(pk=expired_file.pk)
    assert file.expiry == dt.date(2021, 3, 31) and file.extension_years == 2
    assert file.state == FileState.ACTIVE
    assert Event.objects.filter(
        event_type="records.retention_changed", subject_id=str(file.pk)
    ).exists()


def test_a_hold_blocks_disposition_and_moves_the_expiry(officer, director, expired_file):
    hold = services.place_hold(
        actor=officer,
        file=expired_file,
        reason="litigation",
        description="令和8年（行ウ）第1号事件",
        end_event="判決の確定",
    )
    file = RecordFile.objects.get(pk=expired_file.pk)
    assert file.on_hold and file.expiry is None
    assert file not in list(selectors.expired_files(officer))
    with pytest.raises(services.RecordsError) as refused:
        services.propose_disposition(actor=officer, file=file, action="destroy", reason="満了")
    assert refused.value.code == "on_hold"
    services.release_hold(actor=officer, hold=hold, note="判決確定")
    file.refresh_from_db()
    assert not file.on_hold and file.expiry == dt.date(2019, 3, 31)


def test_a_hold_placed_after_approval_blocks_the_execution(officer, director, expired_file):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason="満了"
    )
    services.place_hold(
        actor=officer,
        file=expired_file,
        reason="information_request",
        description="情報公開請求 第5号",
        ends_on=dt.date.today() + dt.timedelta(days=60),
    )
    with pytest.raises(approvals.ApprovalError, match="保留"):
        approve_proposal(director, proposal)
    assert RecordFile.objects.get(pk=expired_file.pk).state == FileState.ACTIVE
    assert LegalHold.objects.filter(file=expired_file).count() == 1


def test_holds_need_a_listed_reason_and_an_end(officer, expired_file):
    for kwargs in (
        {"reason": "whim", "description": "x", "end_event": "y"},
        {"reason": "audit", "description": "", "end_event": "y"},
        {"reason": "audit", "description": "x"},
        {"reason": "audit", "description": "x", "ends_on": dt.date(2000, 1, 1)},
    ):
        with pytest.raises(services.InvalidInput):
            services.place_hold(actor=officer, file=expired_file, **kwargs)


def test_only_records_officers_propose_and_only_for_expired_files(
    officer, kankyo_staff, expired_file, hanako
):
    with pytest.raises(services.NotPermitted):
        services.propose_disposition(
            actor=kankyo_staff, file=expired_file, action="destroy", reason="x"
        )
    current = services.file_record(kind="application", subject=submit_dog(hanako)).file
    with pytest.raises(services.RecordsError) as refused:
        services.propose_disposition(actor=officer, file=current, action="destroy", reason="x")
    assert refused.value.code == "not_expired"


def test_what_only_records_officers_may_do_is_refused_to_others_and_ledgered(
    officer, kankyo_staff, expired_file
):
    hold = services.place_hold(
        actor=officer, file=expired_file, reason="audit", description="監査", end_event="監査の終了"
    )
    before = list(Event.objects.values_list("pk", flat=True))
    attempts = {
        "place_hold": lambda: services.place_hold(
            actor=kankyo_staff, file=expired_file, reason="litigation", description="x"
        ),
        "release_hold": lambda: services.release_hold(actor=kankyo_staff, hold=hold),
        "propose_disposition": lambda: services.propose_disposition(
            actor=kankyo_staff, file=expired_file, action="destroy", reason="x"
        ),
    }
    for attempt in attempts.values():
        with pytest.raises(services.NotPermitted) as refused:
            attempt()
        assert "文書管理担当" in refused.value.ja
    # Each refusal is recorded, although the action it refused wrote nothing.
    written = Event.objects.exclude(pk__in=before).order_by("pk")
    assert [(e.event_type, e.actor_id, e.subject_id, e.details) for e in written] == [
        (
            "records.action_refused",
            str(kankyo_staff.pk),
            str(expired_file.pk),
            {"action": action, "reason": "not_records_officer"},
        )
        for action in attempts
    ]
    assert list(LegalHold.objects.filter(file=expired_file)) == [hold]
    assert LegalHold.objects.get(pk=hold.pk).released_at is None
    assert not DispositionProposal.objects.filter(file=expired_file).exists()


def test_a_refusal_inside_a_callers_transaction_fails_loudly(kankyo_staff, expired_file):
    """The refusal's event must outlive the refused action: inside a caller's transaction
    (whose rollback would take it away) the check refuses to run at all."""
    from django.db import transaction

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.place_hold(
            actor=kankyo_staff, file=expired_file, reason="litigation", description="x"
        )
    assert not Event.objects.filter(event_type="records.action_refused").exists()
    assert not LegalHold.objects.filter(file=expired_file).exists()


def test_a_returned_proposal_disposes_of_nothing(officer, director, expired_file):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason="満了"
    )
    (actionable,) = [
        item
        for item in approval_selectors.actionable_steps(director)
        if str(item.step.instance_id) == proposal.approval_reference
    ]
    approvals.return_step(
        step=actionable.step,
        actor=director,
        expected_version=actionable.step.version,
        comment="再検討を",
        to="drafter",
    )
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.RETURNED
    assert RecordFile.objects.get(pk=expired_file.pk).state == FileState.ACTIVE
    # A new proposal may be made.
    services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason="再起案"
    )


def test_the_command_refuses_without_an_approved_proposal(officer, expired_file):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason="満了"
    )
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="承認された起案がない"):
        call_command("records", "execute", str(proposal.pk), stdout=io.StringIO())
    assert RecordFile.objects.get(pk=expired_file.pk).state == FileState.ACTIVE


def test_the_offline_verifier_checks_stored_files_and_records_and_sees_lawful_disposal(
    officer, director, hanako, tmp_path
):
    from madoguchi.ledger.export import export_ledger
    from madoguchi.ledger.verifier import main as verify_main

    key_file = tmp_path / "key.txt"
    stored, record = filed_with_attachment(hanako, key_file)

    def verify(name: str) -> tuple[int, str]:
        export_ledger(tmp_path / name, names=["992011"], content=True)
        out = io.StringIO()
        return verify_main(
            [str(tmp_path / name), "--public-key", str(key_file), "--content"], out=out
        ), out.getvalue()

    status, output = verify("honest")
    assert status == 0, output
    # The stored attachment is changed on disk: detected.
    with stored.file.open("wb") as handle:
        handle.write(b"%PDF-1.4 changed")
    status, output = verify("changed")
    assert status == 1 and f"stored content {stored.sha256[:16]}… no longer hashes" in output
    # After an approved 廃棄, the content is gone and the verifier says so lawfully.
    proposal = services.propose_disposition(
        actor=officer, file=record.file, action="destroy", reason="満了"
    )
    approve_proposal(director, proposal)
    sequence_now()
    status, output = verify("disposed")
    assert status == 0, output
    assert "lawfully disposed" in output and ", 0 lawfully disposed" not in output


def test_approving_a_disposition_in_the_page_needs_the_second_factor_again(
    officer, director, expired_file
):
    from django.urls import reverse

    from madoguchi.identity.services import totp_code
    from madoguchi.sample.data import DEMO_TOTP_SECRET

    from ..conftest import login

    proposal = services.propose_disposition(
        actor=officer,
        file=expired_file,
        action="extend",
        reason="事業継続中のため",
        extension_years=2,
    )
    (actionable,) = [
        item
        for item in approval_selectors.actionable_steps(director)
        if str(item.step.instance_id) == proposal.approval_reference
    ]
    url = reverse("approvals:act", args=[actionable.step.pk])
    data = {"action": "approve", "version": str(actionable.step.version)}
    client = login(director)  # logged in long ago, as far as the session knows
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:reauthenticate"))
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.IN_APPROVAL
    # With the second factor, the suspended approval is carried out.
    client.post(
        reverse("mfa_reauthenticate") + "?next=" + url,
        {"code": totp_code(DEMO_TOTP_SECRET)},
        follow=True,
    )
    assert RecordFile.objects.get(pk=expired_file.pk).extension_years == 2
