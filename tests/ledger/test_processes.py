"""Real processes on PostgreSQL: two web servers take submissions at once while sequencers
run, are killed with SIGKILL in the middle of a batch and restarted. The result is one
consistent log per body with every event exactly once."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from madoguchi.counter.models import Application
from madoguchi.identity.models import ApiToken, User
from madoguchi.ledger import keys
from madoguchi.ledger.check import check_database
from madoguchi.ledger.export import export_ledger
from madoguchi.ledger.models import Entry, Event, Log, PendingEvent
from madoguchi.ledger.services import sequence_now
from madoguchi.ledger.verifier import main as verify_main

from ..api.payloads import DOG
from .helpers import assert_log_consistent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (advisory locks, concurrent server processes)",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]


def _environment(**extra: str) -> dict[str, str]:
    settings_dict = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=(
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        ),
        MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT="0",
        **extra,
    )
    return env


def _sequencer(log_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "madoguchi",
            "ledger",
            "sequence",
            "--interval",
            "0.1",
            "--batch-size",
            "2000",
        ],
        env=_environment(),
        cwd=ROOT,
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server(port: int, log_path: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "madoguchi.wsgi:application",
        ],
        env=_environment(),
        cwd=ROOT,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ledger/logs", timeout=2)
            return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"gunicorn did not start: {log_path.read_text()[-2000:]}")


def _advisory_lock_holders() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def _kill_mid_batch(process: subprocess.Popen, timeout: float = 60) -> bool:
    """SIGKILL the sequencer while a batch transaction holds the advisory lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _advisory_lock_holders():
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            return True
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return False


def _post(port: int, token: str, results: list, count: int) -> None:
    for _number in range(count):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/applications",
            data=json.dumps(
                {"body": "992011", "procedure": "dog-registration", "answers": DOG}
            ).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                results.append(response.status)
        except urllib.error.HTTPError as exc:
            results.append((exc.code, exc.read()[:300]))


def _backlog(count: int) -> None:
    now = timezone.now()
    with transaction.atomic():
        Event.objects.bulk_create(
            [
                Event(
                    occurred_at=now,
                    event_type="test.backlog",
                    actor_kind="system",
                    subject_type="test",
                    subject_id=str(number),
                    body_id=None,
                    details={"n": number},
                )
                for number in range(count)
            ],
            batch_size=2000,
        )


def test_two_servers_and_killed_sequencers_yield_one_consistent_log(sample, tmp_path):
    tokens = [
        ApiToken.issue(user=User.objects.get(email=email), name="processes")[1]
        for email in ("hanako@example.jp", "taro@example.jp")
    ]
    _backlog(12_000)
    connections.close_all()
    kills = 0
    sequencer = _sequencer(tmp_path / "sequencer.log")
    kills += _kill_mid_batch(sequencer)
    # Two sequencers at once: the second waits for the first's lock.
    sequencers = [_sequencer(tmp_path / "sequencer.log"), _sequencer(tmp_path / "sequencer.log")]
    servers = []
    try:
        ports = [_free_port(), _free_port()]
        servers = [_server(port, tmp_path / f"server-{port}.log") for port in ports]
        results: list = []
        threads = [
            threading.Thread(target=_post, args=(port, token, results, 12))
            for port in ports
            for token in tokens
        ]
        for thread in threads:
            thread.start()
        # Kill one of the sequencers mid-batch while the servers are writing; restart it.
        kills += _kill_mid_batch(sequencers[0])
        sequencers[0] = _sequencer(tmp_path / "sequencer.log")
        for thread in threads:
            thread.join(timeout=300)
        assert results == [201] * 48, results
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        for process in sequencers:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    connections.close_all()
    assert kills == 2, (tmp_path / "sequencer.log").read_text()[-3000:]
    sequence_now()

    assert not PendingEvent.objects.exists()
    assert Entry.objects.count() == Event.objects.count()
    assert Application.objects.filter(receipt_number__isnull=False).count() == 48
    submitted = Event.objects.filter(event_type="application.submitted")
    assert submitted.count() == 48
    assert Entry.objects.filter(event__in=submitted).count() == 48
    for log in Log.objects.all():
        assert_log_consistent(log)
    assert check_database().problems == []
    export_ledger(tmp_path / "export")
    key_file = tmp_path / "keys.txt"
    key_file.write_text(
        "".join(
            keys.signer_for(log.origin)[0].verifier().to_string() + "\n"
            for log in Log.objects.all()
        )
    )
    out = io.StringIO()
    assert verify_main([str(tmp_path / "export"), "--public-key", str(key_file)], out=out) == 0, (
        out.getvalue()
    )
