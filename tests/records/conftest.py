"""Applications filed in the register, and the people who work on it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.counter.models import Application
from madoguchi.counter.services import create_and_submit
from madoguchi.identity.models import User

from ..api.payloads import DOG


@pytest.fixture
def officer(sample):
    return User.objects.get(email="bunsho@aoba.example.jp")


@pytest.fixture
def director(sample):
    """総務課長: approves disposition proposals (route records-disposition)."""
    return User.objects.get(email="somu.kacho@aoba.example.jp")


def submit_dog(user, *, submitted_at: dt.datetime | None = None) -> Application:
    application, _created = create_and_submit(
        procedure=procedure_by_identifier("992011", "dog-registration"),
        applicant=user,
        answers=DOG,
        idempotency_key=uuid.uuid4(),
        identity_level="account",
    )
    if submitted_at is not None:
        Application.objects.filter(pk=application.pk).update(submitted_at=submitted_at)
        application.refresh_from_db()
    return application


def filed_with_attachment(user, key_path):
    """An application of 2012 (its file long expired) with one PDF attachment, filed in
    the register and sequenced into the ledger, and the body's public key written to
    `key_path`: what the offline verifier's content checks start from. Returns the
    stored file and the record."""
    from madoguchi.counter.models import ApplicationFile
    from madoguchi.files.services import store_upload
    from madoguchi.ledger import keys
    from madoguchi.ledger.models import Log
    from madoguchi.ledger.services import sequence_now
    from madoguchi.records import services

    from ..counter.uploads import pdf, upload

    stored = store_upload(upload("写真.pdf", pdf()), owner=user, accept=["pdf"])
    application = submit_dog(user)
    ApplicationFile.objects.create(application=application, stored_file=stored, field_id="proof")
    Application.objects.filter(pk=application.pk).update(
        submitted_at=timezone.make_aware(dt.datetime(2012, 5, 1, 9, 0))
    )
    application.refresh_from_db()
    record = services.file_record(kind="application", subject=application)
    sequence_now()
    log = Log.objects.get(body__code="992011")
    key_path.write_text(keys.signer_for(log.origin)[0].verifier().to_string())
    return stored, record


@pytest.fixture
def old_application(hanako):
    """Submitted in 年度 2015: its 3-year file expired on 2019-03-31."""
    return submit_dog(hanako, submitted_at=timezone.make_aware(dt.datetime(2015, 6, 1, 10, 0)))


def approve_proposal(director, proposal, *, comment: str = ""):
    """The 総務課長 approves the proposal's step on the route (the real approval path)."""
    from madoguchi.approvals import selectors as approval_selectors
    from madoguchi.approvals import services as approvals

    (actionable,) = [
        item
        for item in approval_selectors.actionable_steps(director)
        if str(item.step.instance_id) == proposal.approval_reference
    ]
    approvals.approve_step(
        step=actionable.step,
        actor=director,
        expected_version=actionable.step.version,
        comment=comment,
    )
    proposal.refresh_from_db()
    return proposal
