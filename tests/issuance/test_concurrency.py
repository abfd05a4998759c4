"""The issuance task run twice at the same moment (PostgreSQL): one document, one file."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from madoguchi.issuance import services
from madoguchi.issuance.models import DocumentState, IssuedDocument
from madoguchi.ledger.models import Event

from .helpers import approved_parking

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (row locks and concurrent transactions); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_workers_running_the_same_task_issue_it_once(hanako, settings):
    from django.core.files.storage import default_storage

    # Queued, not run: the dummy backend keeps the task as a queue would.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    application = approved_parking(hanako)
    document = services.schedule_issuance(application_id=application.pk)
    document.refresh_from_db()
    assert document.state == DocumentState.PENDING
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = services.issue_document(document_id=document.pk)
        except Exception as exc:  # reported by the assertion below
            outcomes[index] = repr(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["issued", "skipped"], outcomes
    document.refresh_from_db()
    assert document.state == DocumentState.ISSUED
    assert (
        Event.objects.filter(event_type="document.issued", subject_id=str(document.pk)).count() == 1
    )
    # The losing attempt's PDF was deleted: only the document's own file remains.
    _dirs, files = default_storage.listdir(f"issued/{document.body_id}")
    mine = [name for name in files if name.startswith(document.pk.hex)]
    assert mine == [document.pdf.name.rsplit("/", 1)[1]]
    assert IssuedDocument.objects.filter(application=application).count() == 1
