"""Holds and disposition proposals are ledger events (issue 4: "the ledger records record
registered, retention changed, disposition, legal hold"), written in the transaction of
the change, about the file, with hashes and no personal data in their details."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.utils import timezone

from madoguchi.approvals import services as approvals
from madoguchi.approvals.models import ApprovalInstance
from madoguchi.ledger.models import Event
from madoguchi.records import services
from madoguchi.records.models import DispositionProposal, LegalHold, ProposalState

from .conftest import approve_proposal

pytestmark = pytest.mark.django_db

DESCRIPTION = "令和8年（行ウ）第1号 花子さんの不服申立て"
REASON = "保存期間満了のため（青葉花子さんの件を含む）"


@pytest.fixture
def expired_file(old_application):
    return services.file_record(kind="application", subject=old_application).file


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _only(event_type: str, file) -> Event:
    (event,) = Event.objects.filter(event_type=event_type, subject_id=str(file.pk))
    assert event.subject_type == "record_file" and event.body_id == file.body_id
    return event


def _no_personal_data(event: Event, *texts: str) -> None:
    dumped = json.dumps(event.details, ensure_ascii=False)
    for text in texts:
        assert text not in dumped


@pytest.fixture
def fail_after(monkeypatch):
    """Makes the records event `name` fail right after it is written: whatever the action
    changed must roll back with it (one transaction)."""

    def arm(name: str) -> None:
        real = services._event

        def event(event_name, **kwargs):
            written = real(event_name, **kwargs)
            if event_name == name:
                raise RuntimeError(f"after {name}")
            return written

        monkeypatch.setattr(services, "_event", event)

    return arm


def _personal(hanako) -> tuple[str, ...]:
    return tuple(text for text in (hanako.email, hanako.display_name, DESCRIPTION, REASON) if text)


def test_placing_a_hold_writes_hold_placed_with_the_descriptions_hash_only(
    officer, expired_file, hanako
):
    ends_on = timezone.localdate() + dt.timedelta(days=30)
    hold = services.place_hold(
        actor=officer,
        file=expired_file,
        reason="appeal",
        description=DESCRIPTION,
        ends_on=ends_on,
        end_event="裁決の確定（花子さん）",
    )
    event = _only("records.hold_placed", expired_file)
    assert (event.actor_kind, event.actor_id) == ("staff", str(officer.pk))
    assert event.content_sha256 == _sha256(DESCRIPTION)
    assert event.details == {
        "hold": hold.pk,
        "reason": "appeal",
        "ends_on": ends_on.isoformat(),
        "end_event": True,
    }
    _no_personal_data(event, *_personal(hanako), "裁決の確定")
    # The hold moved the expiry: a second event, in the same order.
    changed = _only("records.retention_changed", expired_file)
    assert changed.pk > event.pk and changed.details["cause"] == "hold_placed"


def test_hold_placed_and_the_hold_are_one_transaction(officer, expired_file, fail_after):
    fail_after("records.hold_placed")
    with pytest.raises(RuntimeError):
        services.place_hold(
            actor=officer,
            file=expired_file,
            reason="litigation",
            description=DESCRIPTION,
            end_event="判決の確定",
        )
    assert not LegalHold.objects.filter(file=expired_file).exists()
    assert not Event.objects.filter(event_type="records.hold_placed").exists()
    expired_file.refresh_from_db()
    assert not expired_file.on_hold


def test_hold_released_and_the_release_are_one_transaction(officer, expired_file, fail_after):
    hold = services.place_hold(
        actor=officer,
        file=expired_file,
        reason="litigation",
        description=DESCRIPTION,
        end_event="判決の確定",
    )
    # A failure after the event: the hold stays in force, and no event is left behind.
    fail_after("records.hold_released")
    with pytest.raises(RuntimeError):
        services.release_hold(actor=officer, hold=hold, note="判決確定")
    assert LegalHold.objects.get(pk=hold.pk).released_at is None
    assert not Event.objects.filter(event_type="records.hold_released").exists()


def test_releasing_a_hold_writes_hold_released_with_no_note(officer, expired_file, hanako):
    hold = services.place_hold(
        actor=officer,
        file=expired_file,
        reason="litigation",
        description=DESCRIPTION,
        end_event="判決の確定",
    )
    note = "判決確定（花子さん勝訴）"
    services.release_hold(actor=officer, hold=hold, note=note)
    event = _only("records.hold_released", expired_file)
    assert (event.actor_kind, event.actor_id) == ("staff", str(officer.pk))
    assert event.details == {"hold": hold.pk, "reason": "litigation"}
    _no_personal_data(event, *_personal(hanako), note)
    assert LegalHold.objects.get(pk=hold.pk).released_at is not None


def test_a_hold_ending_on_its_date_writes_hold_released_by_the_system(officer, expired_file):
    ends_on = timezone.localdate() + dt.timedelta(days=1)
    hold = services.place_hold(
        actor=officer,
        file=expired_file,
        reason="audit",
        description=DESCRIPTION,
        ends_on=ends_on,
    )
    assert services.release_expired_holds(today=ends_on + dt.timedelta(days=1)) == 1
    event = _only("records.hold_released", expired_file)
    assert (event.actor_kind, event.actor_id) == ("system", "")
    assert event.details == {"hold": hold.pk, "reason": "audit", "ended": True}


def test_proposing_writes_disposition_proposed_with_the_reasons_hash_only(
    officer, expired_file, hanako
):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason=REASON
    )
    event = _only("records.disposition_proposed", expired_file)
    assert (event.actor_kind, event.actor_id) == ("staff", str(officer.pk))
    assert event.content_sha256 == _sha256(REASON)
    assert event.details == {
        "proposal": str(proposal.pk),
        "action": "destroy",
        "extension_years": None,
        "approval": proposal.approval_reference,
    }
    _no_personal_data(event, *_personal(hanako))


def test_disposition_proposed_the_proposal_and_its_route_are_one_transaction(
    officer, expired_file, fail_after
):
    fail_after("records.disposition_proposed")
    with pytest.raises(RuntimeError):
        services.propose_disposition(
            actor=officer, file=expired_file, action="extend", reason=REASON, extension_years=1
        )
    assert not DispositionProposal.objects.filter(file=expired_file).exists()
    assert not ApprovalInstance.objects.filter(kind=services.DISPOSITION_KIND).exists()
    assert not Event.objects.filter(event_type="records.disposition_proposed").exists()


def test_approving_writes_disposition_approved_by_the_approver(
    officer, director, expired_file, hanako
):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="extend", reason=REASON, extension_years=2
    )
    proposal = approve_proposal(director, proposal, comment="花子さんの件、了承")
    assert proposal.state == ProposalState.EXECUTED
    event = _only("records.disposition_approved", expired_file)
    assert (event.actor_kind, event.actor_id) == ("staff", str(director.pk))
    assert event.details == {
        "proposal": str(proposal.pk),
        "action": "extend",
        "approval": proposal.approval_reference,
    }
    _no_personal_data(event, *_personal(hanako), "了承")
    # Then the execution's own event, after it.
    changed = _only("records.retention_changed", expired_file)
    assert changed.pk > event.pk and changed.details["cause"] == "extended"


def test_disposition_approved_is_one_transaction_with_the_approval(
    officer, director, expired_file, fail_after
):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason=REASON
    )
    fail_after("records.disposition_approved")
    with pytest.raises(RuntimeError):
        approve_proposal(director, proposal)
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.IN_APPROVAL and proposal.decided_at is None
    instance = ApprovalInstance.objects.get(pk=proposal.approval_reference)
    assert instance.state == "in_progress"
    assert not Event.objects.filter(event_type="records.disposition_approved").exists()
    assert not Event.objects.filter(event_type="approval.completed").exists()
    assert not Event.objects.filter(event_type="records.destroyed").exists()


def test_an_execution_refused_after_approval_leaves_no_disposition_approved(
    officer, director, expired_file
):
    proposal = services.propose_disposition(
        actor=officer, file=expired_file, action="destroy", reason=REASON
    )
    services.place_hold(
        actor=officer,
        file=expired_file,
        reason="information_request",
        description=DESCRIPTION,
        ends_on=timezone.localdate() + dt.timedelta(days=60),
    )
    with pytest.raises(approvals.ApprovalError):
        approve_proposal(director, proposal)
    assert not Event.objects.filter(event_type="records.disposition_approved").exists()
    assert DispositionProposal.objects.get(pk=proposal.pk).state == ProposalState.IN_APPROVAL
