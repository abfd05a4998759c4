"""The health endpoint and the metrics: healthy, then each check made to really fail (the
database unreachable, the storage not writable, a task no worker takes, an e-mail no
sweeper sends, an event the sequencer has not appended)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from madoguchi.ledger.models import Event, PendingEvent
from madoguchi.ledger.services import record_event, sequence_now
from madoguchi.notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT = False
    settings.MADOGUCHI_METRICS_TOKEN = ""
    settings.MADOGUCHI_METRICS_ALLOW = []


def _health(client=None):
    response = (client or Client()).get("/healthz")
    return response.status_code, json.loads(response.content)


def test_healthy_when_every_check_passes(settings):
    status, body = _health()
    assert status == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "storage", "tasks", "outbox", "sequencer"}
    assert all(check["ok"] for check in body["checks"].values())
    # The storage probe leaves nothing behind.
    assert not list((settings.MEDIA_ROOT / "health").iterdir())


def test_liveness_needs_nothing():
    response = Client().get("/healthz/live")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


_PROBE = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": json.loads(response.content)}))
"""


def test_database_unreachable_is_503(tmp_path):
    # A process of its own whose database cannot be reached (nothing listens on port 1;
    # an SQLite file in a directory that does not exist): the suite's own connection is
    # not touched.
    if connection.vendor == "postgresql":
        url = "postgres://postgres@127.0.0.1:1/nowhere"
    else:
        url = f"sqlite:///{tmp_path}/missing/db.sqlite3"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        MADOGUCHI_DATA_DIR=str(tmp_path / "data"),
    )
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 503
    body = result["body"]
    assert "database" in body["failed"]
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    # The storage does not need the database and still answers.
    assert body["checks"]["storage"]["ok"] is True


def test_storage_not_writable_is_503(settings, tmp_path):
    # The storage root's parent is a regular file: every write fails with ENOTDIR (a
    # read-only mode bit would not stop root, under which the tests may run).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker / "files"
    status, body = _health()
    assert status == 503
    assert body["failed"] == ["storage"]
    assert body["checks"]["storage"]["ok"] is False
    assert body["checks"]["storage"]["error"] in {"NotADirectoryError", "FileNotFoundError"}


def test_a_task_no_worker_takes_is_503(settings):
    from django_tasks_db.models import DBTaskResult, get_date_max

    settings.MADOGUCHI_HEALTH_TASK_MAX_AGE = 300
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [1], "kwargs": {}},
        task_path="madoguchi.notifications.tasks.deliver_email",
        backend_name="default",
        run_after=get_date_max(),
    )
    status, body = _health()
    assert status == 200 and body["checks"]["tasks"]["ready"] == 1
    DBTaskResult.objects.filter(pk=task.pk).update(
        enqueued_at=timezone.now() - dt.timedelta(minutes=10)
    )
    status, body = _health()
    assert status == 503 and body["failed"] == ["tasks"]
    assert body["checks"]["tasks"]["oldest_ready_age_s"] >= 600
    # A task scheduled for later is not a backlog.
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=timezone.now() + dt.timedelta(hours=1))
    assert _health()[0] == 200


def test_an_email_no_sweeper_sends_is_503_and_names_no_one(settings):
    settings.MADOGUCHI_HEALTH_OUTBOX_MAX_AGE = 900
    # Waiting out its backoff after the mail server refused it: not this node's fault.
    OutboundEmail.objects.create(
        to_address="hanako@example.jp",
        subject="申請を受け付けました",
        body_text="…",
        template="submitted",
        attempts=3,
        next_attempt_at=timezone.now() + dt.timedelta(minutes=4),
    )
    status, body = _health()
    assert status == 200
    assert body["checks"]["outbox"]["retrying"] == 1
    OutboundEmail.objects.create(
        to_address="taro@example.jp",
        subject="申請を受け付けました",
        body_text="…",
        template="submitted",
        next_attempt_at=timezone.now() - dt.timedelta(hours=1),
    )
    status, body = _health()
    assert status == 503 and body["failed"] == ["outbox"]
    assert body["checks"]["outbox"]["due"] == 1
    text = json.dumps(body, ensure_ascii=False)
    assert "@" not in text and "申請" not in text


def test_an_old_unsequenced_event_is_503_until_the_sequencer_runs(settings):
    settings.MADOGUCHI_HEALTH_SEQUENCER_MAX_LAG = 120
    with transaction.atomic():
        fresh = record_event(
            event_type="test.health",
            actor_kind=Event.ActorKind.SYSTEM,
            actor_id=None,
            subject_type="test",
            subject_id="1",
        )
    assert PendingEvent.objects.filter(event=fresh).exists()
    assert _health()[0] == 200  # just written: within the allowed lag
    # An event that occurred ten minutes ago and that no sequencer has appended (events
    # are append-only, so it is written already old; the trigger queues it).
    with transaction.atomic():
        Event.objects.create(
            event_type="test.health",
            actor_kind=Event.ActorKind.SYSTEM,
            subject_type="test",
            subject_id="2",
            occurred_at=timezone.now() - dt.timedelta(minutes=10),
        )
    status, body = _health()
    assert status == 503 and body["failed"] == ["sequencer"]
    assert body["checks"]["sequencer"]["pending_events"] == 2
    assert body["checks"]["sequencer"]["lag_s"] >= 600
    sequence_now()
    status, body = _health()
    assert status == 200, body
    assert body["checks"]["sequencer"] == {"ok": True, "pending_events": 0, "lag_s": 0.0}


def _metric(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name}{labels} not in the metrics"
    return float(found.group(1))


def test_metrics_are_off_without_a_token_or_an_allowlist(settings):
    settings.DEBUG = False
    assert Client().get("/metrics").status_code == 404


def test_metrics_with_the_token(settings, sample):
    settings.MADOGUCHI_METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 404
    wrong = Client(headers={"Authorization": "Bearer nope"})
    assert wrong.get("/metrics").status_code == 404
    OutboundEmail.objects.create(
        to_address="hanako@example.jp",
        subject="x",
        body_text="x",
        template="submitted",
        status=OutboundEmail.Status.FAILED,
        attempts=10,
    )
    Client().get("/healthz")  # a request, counted by this process
    scraper = Client(headers={"Authorization": "Bearer s3cret-token"})
    response = scraper.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert _metric(text, "madoguchi_outbox_failed") == 1
    assert _metric(text, "madoguchi_health_check_ok", '{check="database"}') == 1
    assert _metric(text, "madoguchi_ledger_sequencer_lag_seconds") >= 0
    assert _metric(text, "madoguchi_tasks_ready") == 0
    assert _metric(text, "madoguchi_submissions_total") == 0
    assert (
        _metric(
            text,
            "madoguchi_http_requests_total",
            '{method="GET",route="operations:health",status="2xx"}',
        )
        >= 1
    )
    assert "hanako" not in text


def test_metrics_from_an_allowed_network(settings):
    settings.MADOGUCHI_METRICS_ALLOW = ["10.0.5.0/24"]
    assert Client(REMOTE_ADDR="10.0.5.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.0.6.7").get("/metrics").status_code == 404
