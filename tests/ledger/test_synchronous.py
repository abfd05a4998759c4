"""When entries reach the log: at once after commit in the embedded default, before the
receipt in a procedure's synchronous mode, and by the worker otherwise."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.urls import reverse

from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.catalogue.services import load_catalogue
from madoguchi.counter.services import create_and_submit
from madoguchi.ledger.models import Entry, Event, PendingEvent
from madoguchi.ledger.services import await_checkpoint, sequence_now
from madoguchi.sample.services import CATALOGUE_DIR

from ..api.payloads import DOG
from ..conftest import login

pytestmark = pytest.mark.django_db


def _submit(hanako, identifier="dog-registration"):
    return create_and_submit(
        procedure=procedure_by_identifier("992011", identifier),
        applicant=hanako,
        answers=DOG,
        idempotency_key=uuid.uuid4(),
        identity_level="account",
    )[0]


def _submitted_entry(application):
    event = Event.objects.get(event_type="application.submitted", subject_id=str(application.pk))
    return Entry.objects.filter(event=event).first()


@pytest.fixture
def synchronous_dog(sample, tmp_path: Path):
    text = (CATALOGUE_DIR / "992011" / "dog-registration.yaml").read_text(encoding="utf-8")
    text = text.replace("id: dog-registration", "id: dog-registration-sync", 1)
    text += "\nledger:\n  synchronous: true\n"
    (tmp_path / "992011").mkdir()
    (tmp_path / "992011" / "dog-registration-sync.yaml").write_text(text, encoding="utf-8")
    load_catalogue(tmp_path)
    return "dog-registration-sync"


def test_the_embedded_default_sequences_right_after_the_commit(
    hanako, settings, django_capture_on_commit_callbacks
):
    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        application = _submit(hanako)
    # One sequencer run for the whole transaction, however many events it wrote.
    assert sum(1 for c in callbacks if c.__name__ == "_run_sequencer_task") == 1
    assert _submitted_entry(application) is not None
    assert not PendingEvent.objects.exists()


def test_in_production_the_worker_sequences_and_the_request_does_not(
    hanako, settings, django_capture_on_commit_callbacks
):
    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True):
        application = _submit(hanako)
    assert _submitted_entry(application) is None
    sequence_now()  # what `madoguchi ledger sequence --interval 2` does
    assert _submitted_entry(application) is not None


def test_a_synchronous_procedure_answers_after_the_checkpoint(
    hanako, synchronous_dog, settings, django_capture_on_commit_callbacks
):
    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True):
        application = _submit(hanako, synchronous_dog)
    entry = _submitted_entry(application)
    assert entry is not None
    assert entry.log.checkpoints.filter(size__gt=entry.index).exists()
    # The receipt page shows the entry and links its proof.
    page = login(hanako).get(reverse("counter:done", args=[application.pk]))
    text = page.content.decode()
    assert f"台帳の第{entry.index}項目" in text
    assert reverse("ledger:entry", args=["992011", entry.index]) in text
    assert reverse("api:ledger_inclusion_proof", args=["992011"]) in text


def test_the_application_page_lists_its_ledger_entries(
    hanako, settings, django_capture_on_commit_callbacks
):
    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True):
        application = _submit(hanako)
    client = login(hanako)
    before = client.get(reverse("counter:detail", args=[application.pk])).content.decode()
    assert "数秒のうちに台帳に載ります" in before
    sequence_now()
    entry = _submitted_entry(application)
    after = client.get(reverse("counter:detail", args=[application.pk])).content.decode()
    assert f"台帳の第{entry.index}項目" in after
    assert "数秒のうちに台帳に載ります" not in after


def test_a_receipt_does_not_wait_forever_when_the_ledger_cannot_sign(hanako, settings, tmp_path):
    settings.MADOGUCHI_LEDGER_KEY_DIR = str(tmp_path)
    settings.MADOGUCHI_LEDGER_DEMO_KEYS = False
    settings.MADOGUCHI_LEDGER_PSEUDONYM_KEY = "configured"
    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = False
    application = _submit(hanako)
    event = Event.objects.get(event_type="application.submitted", subject_id=str(application.pk))
    assert await_checkpoint(event, timeout=1) is None
