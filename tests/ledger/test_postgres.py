"""PostgreSQL: the triggers refuse changes, and a change made after dropping them is
still found by the verifier and by the platform's own check."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from madoguchi.ledger import keys
from madoguchi.ledger.check import check_database
from madoguchi.ledger.export import export_ledger
from madoguchi.ledger.models import Entry, Log
from madoguchi.ledger.services import sequence_now
from madoguchi.ledger.verifier import main as verify_main
from madoguchi.organisation.models import Body

from .helpers import write_events

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the append-only triggers are PostgreSQL's"
    ),
    pytest.mark.django_db,
]


@pytest.fixture
def log(db):
    body = Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)
    write_events(12, body_id=body.pk)
    sequence_now()
    return Log.objects.get(body=body)


def _sql(statement: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_event SET details = '{}'",
        "DELETE FROM ledger_event",
        "UPDATE ledger_entry SET leaf = 'x'::bytea",
        "DELETE FROM ledger_entry",
        "UPDATE ledger_checkpoint SET root_hash = ''",
        "DELETE FROM ledger_checkpoint",
        "UPDATE ledger_log SET origin = 'elsewhere'",
        "UPDATE ledger_logkey SET verifier_key = 'x'",
        "DELETE FROM ledger_logkey",
    ],
)
def test_the_database_refuses_updates_and_deletes(log, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        _sql(statement)
    assert Entry.objects.filter(log=log).count() == 13


def _verify(directory, key_file) -> tuple[int, str]:
    out = io.StringIO()
    return verify_main([str(directory), "--public-key", str(key_file)], out=out), out.getvalue()


def test_a_leaf_changed_after_dropping_the_trigger_is_found(log, tmp_path):
    _sql("DROP TRIGGER ledger_entry_append_only ON ledger_entry")
    entry = Entry.objects.get(log=log, index=4)
    document = json.loads(bytes(entry.leaf))
    document["type"] = "application.approve"
    _sql(
        "UPDATE ledger_entry SET leaf = %s WHERE id = %s",
        [json.dumps(document, separators=(",", ":")).encode(), entry.pk],
    )
    export_ledger(tmp_path / "export")
    key_file = tmp_path / "key.txt"
    key_file.write_text(keys.signer_for(log.origin)[0].verifier().to_string())
    status, output = _verify(tmp_path / "export", key_file)
    assert status == 1
    assert "first bad entry: 4\n" in output
    problems = check_database().problems
    assert any("entry 4: the event row" in problem for problem in problems)


def test_a_deleted_entry_after_dropping_the_trigger_is_found(log, tmp_path):
    _sql("DROP TRIGGER ledger_entry_append_only ON ledger_entry")
    _sql("DELETE FROM ledger_entry WHERE log_id = %s AND index = 7", [log.pk])
    # The export itself refuses a log with a hole; a hand-made bundle is then verified.
    with pytest.raises(Exception, match="entry 7 is missing"):
        export_ledger(tmp_path / "export")
    assert any("entry 7 is missing" in problem for problem in check_database().problems)


def test_an_event_changed_after_dropping_its_trigger_is_found_by_the_check(log):
    _sql("DROP TRIGGER ledger_event_append_only ON ledger_event")
    event_id = Entry.objects.get(log=log, index=2).event_id
    _sql("UPDATE ledger_event SET details = '{\"n\": 99}' WHERE id = %s", [event_id])
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("ledger", "check", stdout=out)
    assert f"entry 2: the event row {event_id} no longer builds its leaf" in out.getvalue()
