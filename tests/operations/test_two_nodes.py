"""Two web server processes behind haproxy (Debian's package, round-robin, loopback): a
resident's log-in, upload and draft work whichever process answers. Each answer names
the server that gave it (haproxy's X-Served-By), so the test sees them alternate."""

from __future__ import annotations

import io
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="several server processes need PostgreSQL"
    ),
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy: make system-deps"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment() -> dict[str, str]:
    db = connection.settings_dict
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
    )


def _wait(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited at start: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own loopback URL
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"did not answer: {log.read_text()[-2000:]}")


@pytest.fixture
def balanced(tmp_path, sample):
    """haproxy on a loopback port in front of two gunicorn servers; yields its URL."""
    processes = []
    ports = [_free_port(), _free_port()]
    try:
        for index, port in enumerate(ports, start=1):
            log = tmp_path / f"web{index}.log"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    "1",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "madoguchi.wsgi:application",
                ],
                env=_environment(),
                cwd=ROOT,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append(process)
            _wait(f"http://127.0.0.1:{port}/healthz/live", process, log)
        front = _free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n"
            "  timeout server 30s\n"
            f"frontend madoguchi\n  bind 127.0.0.1:{front}\n  default_backend web\n"
            "backend web\n  balance roundrobin\n"
            "  http-response set-header X-Served-By %[srv_name]\n"
            + "".join(f"  server web{i} 127.0.0.1:{p}\n" for i, p in enumerate(ports, 1))
        )
        log = tmp_path / "haproxy.log"
        proxy = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(proxy)
        _wait(f"http://127.0.0.1:{front}/healthz/live", proxy, log)
        yield f"http://127.0.0.1:{front}"
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_session_draft_and_upload_across_two_servers(balanced, hanako):
    from madoguchi.counter.models import Application
    from madoguchi.sample.data import DEMO_PASSWORD

    session = requests.Session()
    served: list[str] = []

    def call(method: str, path: str, **kwargs) -> requests.Response:
        response = session.request(method, balanced + path, timeout=60, **kwargs)
        served.append(response.headers["X-Served-By"])
        return response

    call("GET", "/account/login/")
    login = call(
        "POST",
        "/account/login/",
        data={
            "login": hanako.email,
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": session.cookies["madoguchi_csrf"],
        },
        allow_redirects=False,
    )
    assert login.status_code == 302, login.text[:500]
    headers = {"X-CSRFToken": session.cookies["madoguchi_csrf"]}
    # Logged in on one server, known to the other.
    mine = call("GET", "/api/applications", headers=headers)
    assert mine.status_code == 200
    upload = call(
        "POST",
        "/api/files",
        headers=headers,
        files={"file": ("photo.png", _png(), "image/png")},
        data={"accept": "image"},
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    answers = {
        "category": "elderly_care",
        "care_level": "要介護2",
        "evidence_files": [file_id],
        "user_name": {
            "family": "山田",
            "given": "花子",
            "family_kana": "やまだ",
            "given_kana": "はなこ",
        },
        "user_birth_date": "1950-01-02",
        "user_address": {
            "postal_code": "9990001",
            "prefecture": "さくら県",
            "city": "あおば市",
            "street": "中央一丁目2番3号",
            "building": "",
        },
        "contact_phone": "03-1234-5678",
        "delivery": "download",
        "declaration": True,
    }
    # The upload, made on one server, named in a draft saved on the other.
    draft = call(
        "POST",
        "/api/applications",
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        json={
            "body": "990001",
            "procedure": "omoiyari-parking",
            "answers": answers,
            "submit": False,
        },
    )
    assert draft.status_code in (200, 201), draft.text
    draft_id = draft.json()["id"]
    read = call("GET", f"/api/applications/{draft_id}", headers=headers)
    assert read.status_code == 200 and read.json()["state"] == "draft"
    submitted = call("POST", f"/api/applications/{draft_id}/submit", headers=headers)
    assert submitted.status_code in (200, 201), submitted.text
    assert submitted.json()["receipt_number"]
    # Round-robin: consecutive requests went to alternating servers, both of them.
    assert set(served) == {"web1", "web2"}
    assert all(a != b for a, b in itertools.pairwise(served)), served
    application = Application.objects.get(pk=draft_id)
    assert application.state == "submitted"
    assert [str(f.stored_file_id) for f in application.files.all()] == [file_id]
