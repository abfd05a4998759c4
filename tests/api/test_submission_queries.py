"""What a submission through the API costs the database (make bench measures its speed).

Every statement is a round trip, planning work for PostgreSQL and compile time in the
ORM, and the submission is the hot path of a deployment: these tests pin the statements,
so that an extra lookup or an UPDATE of the row just inserted does not creep back in.
Change the expected statements only with a reason (and a run of `make bench`).
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from madoguchi.counter.models import Application, State

from .payloads import DOG, post_application

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_in_database")]

# Each statement of POST /api/applications with "submit": true, in order, without the
# transaction's own (BEGIN, SAVEPOINT, RELEASE, COMMIT).
# No lookup of the Idempotency-Key (its unique constraint answers at the INSERT), no
# query of the version (the process keeps versions it read: they never change) and none
# of the history (the answer's is the event just recorded).
SUBMISSION = [
    ("SELECT", "identity_user"),  # the user of the bearer token, joined to the token
    ("SELECT", "catalogue_procedure"),  # the procedure and its body
    ("INSERT", "counter_application"),  # the application, inserted already submitted
    ("INSERT", "ledger_event"),  # application.submitted
    ("INSERT", "notifications_outboundemail"),  # the confirmation e-mail
    ("INSERT", "django_tasks_database_dbtaskresult"),  # its delivery, queued
]
TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b")
STATEMENT = re.compile(r'^(SELECT|INSERT|UPDATE|DELETE)\b.*?\b(?:FROM|INTO|UPDATE)\s+"([a-z_]+)"')


@pytest.fixture
def tasks_in_database(settings):
    """As in production (and in make bench): the e-mail's delivery is a task row written
    in the submission's transaction, not run in the web process."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _statements(captured) -> list[tuple[str, str]]:
    found = []
    for query in captured:
        sql = query["sql"].strip()
        if TRANSACTION_CONTROL.match(sql):
            continue
        match = STATEMENT.match(sql)
        found.append((match[1], match[2]) if match else (sql[:60], ""))
    return found


def _submit(client, token: str):
    response = post_application(client, token=token, answers=DOG)
    assert response.status_code == 201, response.content.decode()[:2000]
    return response


def test_a_submission_costs_the_statements_it_needs(client, hanako_token):
    _submit(client, hanako_token)  # the first request of a process loads what it caches
    with CaptureQueriesContext(connection) as captured:
        response = _submit(client, hanako_token)
    assert _statements(captured.captured_queries) == SUBMISSION
    application = Application.objects.get(pk=response.json()["id"])
    assert application.state == State.SUBMITTED and application.receipt_number


def test_a_submission_in_number_of_queries(client, hanako_token, django_assert_num_queries):
    _submit(client, hanako_token)
    # SUBMISSION plus the transaction: BEGIN, SAVEPOINT and RELEASE around the INSERT
    # (a receipt number drawn twice is drawn again), COMMIT; SQLite and PostgreSQL alike.
    with django_assert_num_queries(len(SUBMISSION) + 4):
        _submit(client, hanako_token)


def test_replaying_a_key_writes_nothing_new(client, hanako_token):
    from madoguchi.ledger.models import Event
    from madoguchi.notifications.models import OutboundEmail

    key = str(uuid.uuid4())
    first = post_application(client, token=hanako_token, answers=DOG, key=key)
    assert first.status_code == 201
    counts = (Application.objects.count(), Event.objects.count(), OutboundEmail.objects.count())
    with CaptureQueriesContext(connection) as captured:
        again = post_application(client, token=hanako_token, answers=DOG, key=key)
    assert again.status_code == 200 and again.json() == first.json()
    # The replay's INSERT meets the key's unique constraint and is rolled back with its
    # savepoint: nothing else is written, and nothing is left behind.
    writes = [
        (verb, table) for verb, table in _statements(captured.captured_queries) if verb != "SELECT"
    ]
    assert writes == [("INSERT", "counter_application")]
    assert not any(sql["sql"].startswith("COMMIT") for sql in captured.captured_queries)
    assert counts == (
        Application.objects.count(),
        Event.objects.count(),
        OutboundEmail.objects.count(),
    )


def test_the_answers_history_is_the_one_read_later(client, hanako_token):
    """The answer of a new application shows the event just recorded, not read back: it
    is the history that GET /api/applications/{id} reads from the ledger."""
    from .payloads import bearer

    created = _submit(client, hanako_token).json()
    read = client.get(f"/api/applications/{created['id']}", headers=bearer(hanako_token))
    assert read.status_code == 200
    assert created["history"] == read.json()["history"]
    assert [item["event"] for item in created["history"]] == ["application.submitted"]
