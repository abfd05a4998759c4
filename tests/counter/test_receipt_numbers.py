"""A 受付番号 drawn twice is drawn again; the application, its event and its e-mail are
written once, with the new number. Receipt numbers are random (receipts.py), so the
tests choose the draws; the uniqueness itself is the database's."""

from __future__ import annotations

import itertools
import uuid

import pytest

from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.counter import services
from madoguchi.counter.models import Application, State
from madoguchi.identity import levels
from madoguchi.ledger.models import Event
from madoguchi.notifications.models import OutboundEmail
from tests.api.payloads import DOG

from ..conftest import login
from .helpers import fill_dog_registration

pytestmark = pytest.mark.django_db

TAKEN = "261201-00000018"
FRESH = "261201-00000026"


@pytest.fixture
def draws(monkeypatch):
    """The receipt numbers the counter will draw, in order."""

    def choose(*numbers: str) -> None:
        sequence = itertools.chain(numbers, itertools.repeat(numbers[-1]))
        monkeypatch.setattr(services, "new_receipt_number", lambda _day: next(sequence))

    return choose


def _create(hanako) -> tuple[Application, bool]:
    return services.create_and_submit(
        procedure=procedure_by_identifier("992011", "dog-registration"),
        applicant=hanako,
        answers=DOG,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.ACCOUNT,
    )


def _writes_for(application: Application) -> tuple[int, int]:
    events = Event.objects.filter(
        event_type="application.submitted", subject_id=str(application.pk)
    ).count()
    emails = OutboundEmail.objects.filter(related_id=str(application.pk)).count()
    return events, emails


def test_created_and_submitted_at_once_draws_again(hanako, draws):
    draws(TAKEN)
    first, _created = _create(hanako)
    draws(TAKEN, FRESH)
    second, created = _create(hanako)
    assert created and second.receipt_number == FRESH
    stored = Application.objects.get(pk=second.pk)
    assert stored.state == State.SUBMITTED and stored.receipt_number == FRESH
    assert _writes_for(second) == (1, 1)
    assert Event.objects.get(subject_id=str(second.pk)).details["receipt_number"] == FRESH
    assert Application.objects.count() == 2 and _writes_for(first) == (1, 1)


def test_a_draft_submitted_draws_again(hanako, draws):
    draws(TAKEN)
    _create(hanako)
    draft = Application.objects.get(pk=fill_dog_registration(login(hanako)))
    draws(TAKEN, FRESH)
    submitted = services.submit_application(
        application=draft, actor=hanako, identity_level=levels.ACCOUNT
    )
    assert submitted.receipt_number == FRESH
    assert Application.objects.get(pk=draft.pk).state == State.SUBMITTED
    assert _writes_for(submitted) == (1, 1)


def test_when_every_draw_is_taken_nothing_is_written(hanako, draws):
    draws(TAKEN)
    _create(hanako)
    with pytest.raises(services.CounterError) as refused:
        _create(hanako)
    assert refused.value.ja == "受付番号を発行できませんでした。もう一度お試しください。"
    assert Application.objects.count() == 1
    assert Event.objects.filter(event_type="application.submitted").count() == 1
    assert OutboundEmail.objects.count() == 1
