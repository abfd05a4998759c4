"""`madoguchi ledger check`: events lost from the sequencer's queue and access-log rows
that no longer say what their access.logged events recorded are found and named."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection

from madoguchi.ledger.check import check_database
from madoguchi.ledger.models import AccessLog, Entry, PendingEvent
from madoguchi.ledger.services import log_access, log_accesses, sequence_now
from madoguchi.organisation.models import Body, Unit

from .helpers import write_events

pytestmark = pytest.mark.django_db


def _sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _bypass_access_log_trigger() -> None:
    """As a database administrator would (rolled back with the test's transaction)."""
    if connection.vendor == "postgresql":
        _sql("DROP TRIGGER ledger_accesslog_append_only ON ledger_accesslog")


def _check() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("ledger", "check", stdout=out)
    except SystemExit as exit_info:
        return exit_info.code, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def shiminka(sample):
    return Unit.objects.get(body__code="992011", code="shiminka")


@pytest.fixture
def accesses(hanako, taro, shimin_staff, shiminka):
    single = log_access(
        actor=shimin_staff,
        unit=shiminka,
        subject_user=hanako,
        what="application",
        object_type="application",
        object_id="3f0c1e9a-0000-4000-8000-000000000001",
        purpose="review",
    )
    profile = log_access(
        actor=shimin_staff,
        unit=shiminka,
        subject_user=taro,
        what="profile",
        object_type="user",
        object_id=taro.pk,
        purpose="counter",
    )
    log_accesses(
        actor=shimin_staff,
        unit=shiminka,
        what="export",
        purpose="review",
        items=[(hanako, "application", "a-1"), (taro.pk, "application", "a-2")],
    )
    sequence_now()
    return single, profile


def test_an_untouched_database_passes(accesses):
    assert check_database().problems == []
    status, output = _check()
    assert status == 0 and output.strip().endswith("ok"), output


def test_queued_events_not_yet_sequenced_are_not_lost(db):
    body = Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)
    write_events(3, body_id=body.pk)
    sequence_now()
    write_events(2, body_id=body.pk, prefix="later")  # committed, waiting for the sequencer
    result = check_database()
    assert result.problems == [] and result.pending == 2


def test_an_event_deleted_from_the_queue_is_reported_lost(db):
    body = Body.objects.create(code="992011", name="あおば市", kind=Body.Kind.MUNICIPALITY)
    write_events(3, body_id=body.pk)
    sequence_now()
    queued = write_events(2, body_id=body.pk, prefix="later")
    victim = queued[0]
    # ledger_pendingevent has no append-only trigger: a plain DELETE removes the row.
    _sql("DELETE FROM ledger_pendingevent WHERE event_id = %s", [victim.pk])
    status, output = _check()
    assert status == 1, output
    assert (
        f"problem: event {victim.pk} (later.happened application:app-0) is in no log and "
        "not queued for the sequencer: lost from ledger_pendingevent"
    ) in output
    assert f"event {queued[1].pk} " not in output  # still queued: fine
    # Sequencing the rest does not bring it back.
    sequence_now()
    assert not Entry.objects.filter(event=victim).exists()
    assert not PendingEvent.objects.filter(event=victim).exists()
    assert any(f"event {victim.pk} " in problem for problem in check_database().problems)


@pytest.mark.parametrize(
    ("column", "value", "named"),
    [
        ("purpose", "audit", "the purpose"),
        ("what", "profile", "what was opened"),
        ("object_id", "another-application", "the object"),
        ("object_type", "document", "the object type"),
    ],
)
def test_an_access_log_row_changed_behind_the_triggers_is_reported(accesses, column, value, named):
    single, _profile = accesses
    _bypass_access_log_trigger()
    # An UPDATE that skips the model's refusal (the trigger is gone on PostgreSQL).
    AccessLog.objects.filter(pk=single.pk).update(**{column: value})
    status, output = _check()
    assert status == 1, output
    assert (
        f"problem: access log {single.pk} no longer matches its access.logged event "
        f"{single.event_id}: {named}"
    ) in output


def test_an_access_log_row_moved_to_another_person_unit_or_time_is_reported(
    accesses, hanako, shimin_staff, sample
):
    _single, profile = accesses
    other_unit = Unit.objects.filter(body__code="992011").exclude(pk=profile.unit_id).first()
    _bypass_access_log_trigger()
    AccessLog.objects.filter(pk=profile.pk).update(
        subject_user=hanako,
        actor=hanako,
        unit=other_unit,
        at=profile.at - dt.timedelta(hours=3),
    )
    problems = check_database().problems
    (problem,) = [p for p in problems if p.startswith(f"access log {profile.pk} ")]
    for named in ("the staff member", "the person", "the unit", "the time"):
        assert named in problem


def test_an_access_log_row_deleted_behind_the_triggers_is_reported(accesses):
    single, _profile = accesses
    _bypass_access_log_trigger()
    _sql("DELETE FROM ledger_accesslog WHERE id = %s", [single.pk])
    status, output = _check()
    assert status == 1, output
    assert (
        f"problem: access.logged event {single.event_id} has no access-log row: removed "
        "from the person's history"
    ) in output
