"""A task whose worker was killed stays RUNNING in django-tasks' database backend; the
health check reports it and `madoguchi tasks recover` hands it to a worker again."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from madoguchi.ledger.models import PendingEvent
from madoguchi.ledger.services import record_event
from madoguchi.operations.task_recovery import recover_lost_tasks

pytestmark = pytest.mark.django_db(transaction=True)

SEQUENCE = "madoguchi.ledger.tasks.sequence_ledger"


@pytest.fixture(autouse=True)
def _database_tasks(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = False
    settings.MADOGUCHI_TASK_LOST_AFTER = 3600
    settings.MADOGUCHI_TASK_MAX_ATTEMPTS = 3


def claimed(*, by: list[str], hours_ago: float) -> DBTaskResult:
    """A sequencer task claimed by the workers `by` (the last one killed while it ran):
    the row exactly as django-tasks' worker leaves it, RUNNING with its start time."""
    from madoguchi.ledger.tasks import sequence_ledger

    result = sequence_ledger.enqueue()
    row = DBTaskResult.objects.get(pk=result.id)
    for worker in by:
        row.claim(worker)
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )
    row.refresh_from_db()
    return row


def _health() -> tuple[int, dict]:
    response = Client().get("/healthz")
    return response.status_code, json.loads(response.content)


def _lost_metric() -> str:
    scraper = Client(headers={"Authorization": "Bearer scrape-token"})
    lines = scraper.get("/metrics").content.decode().splitlines()
    return next(line for line in lines if line.startswith("madoguchi_tasks_lost "))


def test_a_lost_task_is_queued_again_and_a_worker_runs_it(sample, settings):
    settings.MADOGUCHI_METRICS_TOKEN = "scrape-token"
    with transaction.atomic():
        record_event(
            event_type="test.recovery",
            actor_kind="system",
            actor_id=None,
            subject_type="test",
            subject_id=1,
        )
    waiting = PendingEvent.objects.count()
    assert waiting >= 1
    row = claimed(by=["worker-killed"], hours_ago=2)
    status, body = _health()
    assert status == 503 and "tasks" in body["failed"]
    assert body["checks"]["tasks"]["lost"] == 1
    assert _lost_metric() == "madoguchi_tasks_lost 1.0"

    call_command("tasks", "recover")
    row.refresh_from_db()
    assert row.status == "READY"
    # Queued again from now: the hours it was marked running are no backlog either.
    tasks = _health()[1]["checks"]["tasks"]
    assert tasks["lost"] == 0 and tasks["ok"] and tasks["oldest_ready_age_s"] < 60
    assert _lost_metric() == "madoguchi_tasks_lost 0.0"

    call_command("db_worker", "--batch", "--no-startup-delay", "--worker-id", "worker-2")
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"
    assert row.worker_ids == ["worker-killed", "worker-2"]
    # The task did its work: the events that waited are in the ledger now.
    assert row.return_value >= waiting
    assert PendingEvent.objects.count() == 0


def test_a_task_running_for_less_than_the_limit_is_left_alone():
    row = claimed(by=["worker-busy"], hours_ago=0.5)
    recovery = recover_lost_tasks(lost_after=dt.timedelta(hours=1), max_attempts=3)
    assert recovery.requeued == [] and recovery.failed == []
    row.refresh_from_db()
    assert row.status == "RUNNING"
    assert _health()[1]["checks"]["tasks"]["lost"] == 0


def test_a_task_that_lost_every_worker_is_given_up(sample):
    row = claimed(by=["w1", "w2", "w3"], hours_ago=2)
    recovery = recover_lost_tasks(lost_after=dt.timedelta(hours=1), max_attempts=3)
    assert recovery.failed == [str(row.pk)] and recovery.requeued == []
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert row.exception_class_path == "madoguchi.operations.task_recovery.WorkerLost"
    assert "3 workers" in row.traceback
    # A failed task is no longer lost (its row keeps the error): the check is green again.
    _status, body = _health()
    assert body["checks"]["tasks"]["lost"] == 0 and "tasks" not in body["failed"]


def test_the_command_takes_its_limits_from_the_arguments():
    row = claimed(by=["w1"], hours_ago=0.2)
    call_command("tasks", "recover", "--lost-after", "3600")
    row.refresh_from_db()
    assert row.status == "RUNNING"
    call_command("tasks", "recover", "--lost-after", "600", "--max-attempts", "1")
    row.refresh_from_db()
    assert row.status == "FAILED"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--lost-after", "0"], "must be at least 1"),
        (["--lost-after", "-5"], "must be at least 1"),
        (["--lost-after", "an hour"], "not a whole number"),
        (["--max-attempts", "0"], "must be at least 1"),
        (["--interval", "x"], "not a whole number"),
    ],
)
def test_bad_arguments_are_named_and_nothing_changes(arguments, message):
    row = claimed(by=["w1"], hours_ago=2)
    with pytest.raises(CommandError, match=message):
        call_command("tasks", "recover", *arguments)
    row.refresh_from_db()
    assert row.status == "RUNNING"


def test_the_service_refuses_limits_that_would_recover_running_work():
    with pytest.raises(ValueError):
        recover_lost_tasks(lost_after=dt.timedelta(0), max_attempts=3)
    with pytest.raises(ValueError):
        recover_lost_tasks(lost_after=dt.timedelta(hours=1), max_attempts=0)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL; SQLite serialises writers"
)
def test_a_row_another_process_holds_locked_is_left_for_the_next_run():
    import threading

    row = claimed(by=["w1"], hours_ago=2)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                DBTaskResult.objects.select_for_update().get(pk=row.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        recovery = recover_lost_tasks(lost_after=dt.timedelta(hours=1), max_attempts=3)
        assert recovery.requeued == [] and recovery.failed == []
    finally:
        release.set()
        holder.join()
    assert recover_lost_tasks(lost_after=dt.timedelta(hours=1), max_attempts=3).requeued == [
        str(row.pk)
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker's lock needs PostgreSQL")
def test_a_slow_worker_is_left_alone_and_a_killed_one_recovered(sample, tmp_path):
    """A real `db_worker` process runs the sequencer task, which waits for the sequencer's
    advisory lock held here: the worker is alive however old its row. Killed, its lock
    goes with its connection and recovery hands the task on."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    from madoguchi.ledger.sequencer import ADVISORY_LOCK_KEY
    from madoguchi.ledger.tasks import sequence_ledger

    root = Path(__file__).resolve().parents[2]
    db = connection.settings_dict
    environment = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(root),
        TASKS_BACKEND="database",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
    )
    locked, release = threading.Event(), threading.Event()

    def hold_the_sequencer() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
                locked.set()
                release.wait(120)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_sequencer)
    holder.start()
    log = tmp_path / "worker.log"
    worker = None
    try:
        assert locked.wait(30)
        task = DBTaskResult.objects.get(pk=sequence_ledger.enqueue().id)
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "madoguchi",
                    "db_worker",
                    "--batch",
                    "--no-startup-delay",
                    "--worker-id",
                    "slow-worker",
                ],
                cwd=root,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while DBTaskResult.objects.get(pk=task.pk).status != "RUNNING":
            assert worker.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        time.sleep(1)  # the worker takes the task's lock when it starts running it
        DBTaskResult.objects.filter(pk=task.pk).update(
            started_at=timezone.now() - dt.timedelta(hours=2)
        )
        # Two hours "running", but alive: neither recovered nor counted lost.
        recovery = recover_lost_tasks(lost_after=dt.timedelta(hours=1), max_attempts=3)
        assert recovery.requeued == [] and recovery.failed == []
        assert _health()[1]["checks"]["tasks"]["lost"] == 0

        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        deadline = time.monotonic() + 30
        while not (
            recovered := recover_lost_tasks(lost_after=dt.timedelta(hours=1), max_attempts=3)
        ).requeued:
            assert time.monotonic() < deadline, "the killed worker's lock was never released"
            time.sleep(0.5)
        assert recovered.requeued == [str(task.pk)]
    finally:
        release.set()
        holder.join()
        if worker is not None and worker.poll() is None:
            worker.kill()
    call_command("db_worker", "--batch", "--no-startup-delay", "--worker-id", "second")
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.worker_ids == ["slow-worker", "second"]
