"""`make faults`: the platform under steady submission load while things break.

Real processes on PostgreSQL, with production settings: two gunicorn web servers behind
haproxy (round-robin, loopback ports, a configuration written to a temporary directory),
the task worker (`madoguchi db_worker`), the e-mail sweeper (`deliver_email`), the ledger
sequencer, a local SMTP server (aiosmtpd, in this process) and an "approver" that approves
submitted applications so that documents are rendered and signed during the load.

Load: resident threads upload a photo (POST /api/files) and submit the 思いやり駐車場
application (POST /api/applications, an Idempotency-Key per application, resent with the
same key after any error, as a resident would). Every 受付番号 received is recorded.

Faults, one per phase, each under load:

1. kill -9 one web server (gunicorn master and workers); haproxy sends the load to the
   other; the server is started again.
2. PostgreSQL restarted (pg_ctlcluster … restart): every process loses its connections.
3. kill -9 the task worker while it renders and signs a document; it is started again,
   `madoguchi tasks recover` puts the orphaned task (still marked running) back in the
   queue and the worker runs it again: the task ends successful, the document is issued
   once. (The operator's sweep, `documents issue --pending`, is the fallback.)
4. The SMTP server refuses every mail (451) for a minute, then accepts again.

After each phase, once the backlog has drained: every submission that received a 受付番号
exists once, with its answers and its file (hash checked); no application twice; every
approved application has one document, rendered and signed once (one `document.issued`
event), none left pending; every e-mail sent (the outbox retried with backoff) and received
by the SMTP server; the ledger checks (`madoguchi ledger check`) with nothing waiting.
Before the faults: a resident's session, draft and upload used across both web servers
(haproxy's round-robin; each answer says which server gave it).

Writes its section of docs/benchmarks.md between <!-- bench:faults:start --> and
<!-- bench:faults:end -->. Exit status 0 when every check passes, 1 when one fails, 2 when
the harness could not run. Process supervision: a managed process that exits is started
again (as systemd's Restart=always would) and counted in the report.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import email
import email.header
import hashlib
import io
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _load_submission_benchmark():
    """bench/run.py, for its PostgreSQL, machine and docs helpers (loaded by path: bench/
    has scripts named like standard modules)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_run", Path(__file__).resolve().parent / "run.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


submission = _load_submission_benchmark()
ROOT = submission.ROOT
DOCS = submission.DOCS
START_MARK = "<!-- bench:faults:start -->"
END_MARK = "<!-- bench:faults:end -->"
say, step, BenchError = submission.say, submission.step, submission.BenchError

BODY = "990001"
PROCEDURE = "omoiyari-parking"
RESIDENT = "hanako@example.jp"

# --- the SMTP server --------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler: accepts and records mail, or refuses it (451) while `refusing`."""

    def __init__(self) -> None:
        self.refusing = False
        self.refused = 0
        self.received: list[dict] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusing:
            with self.lock:
                self.refused += 1
            return "451 4.3.2 madoguchi faults: not accepting mail for a minute"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        with self.lock:
            self.received.append({"to": list(envelope.rcpt_tos), "subject": subject})
        return "250 OK"


# --- processes --------------------------------------------------------------------------


class Managed:
    """A server process in its own process group, restarted by the supervisor if it exits
    when it was not asked to."""

    def __init__(self, name: str, cmd: list[str], env: dict, log_dir: Path) -> None:
        self.name, self.cmd, self.env = name, cmd, env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.expected_down = False
        self.restarts = 0
        self.exits: list[str] = []

    def start(self) -> None:
        metrics_dir = self.env.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:
            # Emptied before each start, as prometheus-client's multiprocess mode needs.
            shutil.rmtree(metrics_dir, ignore_errors=True)
            Path(metrics_dir).mkdir(parents=True)
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.expected_down = False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """SIGKILL to the whole process group (a gunicorn master and its workers)."""
        self.expected_down = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.expected_down = True
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def log_problems(self) -> list[str]:
        if not self.log_path.exists():
            return []
        pattern = re.compile(r"Traceback|\bCRITICAL\b|WORKER TIMEOUT")
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if pattern.search(line)
        ]


class Supervisor(threading.Thread):
    def __init__(self, processes: list[Managed]) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            for proc in self.processes:
                if not proc.expected_down and proc.process is not None and not proc.alive():
                    proc.exits.append(f"exit {proc.process.returncode}")
                    proc.restarts += 1
                    time.sleep(1)
                    proc.start()


# --- the load ---------------------------------------------------------------------------


def _png(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 400), (seed % 256, (seed // 256) % 256, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def parking_answers(file_id: str, n: int) -> dict:
    return {
        "category": "elderly_care",
        "care_level": "要介護2",
        "evidence_files": [file_id],
        "user_name": {
            "family": "𠮷田",
            "given": "髙﨑子",
            "family_kana": "よしだ",
            "given_kana": "たかさきこ",
        },
        "user_birth_date": "1950-01-02",
        "user_address": {
            "postal_code": "9990001",
            "prefecture": "さくら県",
            "city": "あおば市",
            "street": f"中央一丁目{n % 50 + 1}番3号",
            "building": "",
        },
        "contact_phone": "03-1234-5678",
        "delivery": "download",
        "declaration": True,
    }


class Load:
    """Resident threads submitting through haproxy; every 受付番号 received is recorded."""

    def __init__(self, base_url: str, token: str, threads: int, pause: float) -> None:
        self.base_url, self.token, self.threads, self.pause = base_url, token, threads, pause
        self.records: list[dict] = []
        self.errors: dict[str, int] = {}
        self.resent = 0
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.counter = 0
        self.workers: list[threading.Thread] = []

    def start(self) -> None:
        for _ in range(self.threads):
            thread = threading.Thread(target=self._loop, daemon=True)
            thread.start()
            self.workers.append(thread)

    def pause_load(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def stop(self) -> None:
        self.stopped.set()
        self.running.set()
        for thread in self.workers:
            thread.join(timeout=120)

    def _error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1

    def _request(self, session, method: str, path: str, **kwargs):
        import requests

        try:
            response = session.request(method, self.base_url + path, timeout=30, **kwargs)
        except requests.RequestException as exc:
            self._error(type(exc).__name__)
            return None
        if response.status_code >= 500:
            self._error(f"HTTP {response.status_code}")
            return None
        return response

    def _loop(self) -> None:
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        while not self.stopped.is_set():
            self.running.wait()
            if self.stopped.is_set():
                return
            with self.lock:
                self.counter += 1
                n = self.counter
            self._one(session, n)
            time.sleep(self.pause)

    def _one(self, session, n: int) -> None:
        data = _png(n)
        upload = None
        for _attempt in range(60):
            upload = self._request(
                session,
                "POST",
                "/api/files",
                files={"file": (f"photo-{n}.png", data, "image/png")},
                data={"accept": "image"},
            )
            if upload is not None:
                break
            time.sleep(0.5)
        if upload is None or upload.status_code != 201:
            self._error(f"upload {getattr(upload, 'status_code', 'none')}")
            return
        file_id = upload.json()["id"]
        key = str(uuid.uuid4())
        answers = parking_answers(file_id, n)
        body = {"body": BODY, "procedure": PROCEDURE, "answers": answers, "submit": True}
        for attempt in range(120):
            response = self._request(
                session,
                "POST",
                "/api/applications",
                json=body,
                headers={"Idempotency-Key": key},
            )
            if response is not None and response.status_code in (200, 201):
                out = response.json()
                with self.lock:
                    if attempt:
                        self.resent += 1
                    self.records.append(
                        {
                            "key": key,
                            "id": out["id"],
                            "receipt_number": out["receipt_number"],
                            "file_id": file_id,
                            "file_sha256": hashlib.sha256(data).hexdigest(),
                            "answers": answers,
                            "at": time.time(),
                        }
                    )
                return
            if response is not None:
                self._error(f"submit {response.status_code}")
                if response.status_code < 500 and response.status_code not in (409, 429):
                    return
            time.sleep(0.5)
        self._error("gave up")


# --- scripts run with the platform's settings -------------------------------------------

SETUP = r"""
import json, django
django.setup()
from madoguchi.identity.models import ApiToken, User
user = User.objects.get(email=%(resident)r)
_token, raw = ApiToken.issue(user=user, name="make faults")
from madoguchi.sample.data import DEMO_PASSWORD
print(json.dumps({"token": raw, "password": DEMO_PASSWORD}))
"""

# Approves submitted applications of the procedure, as the back office's final decision
# does (the state and the time; the decision flow itself is tested in tests/backoffice),
# and schedules issuance in the same transaction: the task is queued for the worker.
APPROVER = r"""
import sys, time, django
django.setup()
from django.db import transaction, OperationalError, InterfaceError
from django.utils import timezone
from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.counter.models import Application
from madoguchi.issuance.services import schedule_issuance
procedure = procedure_by_identifier(%(body)r, %(procedure)r)
while True:
    try:
        ids = list(Application.objects.filter(procedure=procedure, state="submitted")
                   .order_by("submitted_at").values_list("pk", flat=True)[:5])
        for pk in ids:
            with transaction.atomic():
                if Application.objects.filter(pk=pk, state="submitted").update(
                        state="approved", decided_at=timezone.now()):
                    schedule_issuance(application_id=pk)
    except (OperationalError, InterfaceError) as exc:
        print("approver: database away:", type(exc).__name__, flush=True)
        from django.db import connection
        connection.close()
    time.sleep(0.5)
"""

STATE = r"""
import json, django
django.setup()
from django_tasks_db.models import DBTaskResult
from madoguchi.counter.models import Application
from madoguchi.issuance.models import IssuedDocument
from madoguchi.ledger.models import PendingEvent
from madoguchi.notifications.models import OutboundEmail
print(json.dumps({
    "submitted": Application.objects.filter(state="submitted").count(),
    "documents_pending": IssuedDocument.objects.filter(state="pending").count(),
    "tasks_ready": DBTaskResult.objects.filter(status="READY").count(),
    "tasks_running": DBTaskResult.objects.filter(status="RUNNING").count(),
    "outbox_pending": OutboundEmail.objects.filter(status="pending").count(),
    "outbox_retrying": OutboundEmail.objects.filter(status="pending", attempts__gt=0).count(),
    "events_pending": PendingEvent.objects.count(),
}))
"""

VERIFY = r"""
import hashlib, json, sys, django
django.setup()
from django.db.models import Count
from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.catalogue.fieldtypes import unseal
from madoguchi.counter.models import Application, ApplicationFile
from madoguchi.files.models import StoredFile
from madoguchi.files.services import read_stored
from madoguchi.issuance.models import IssuedDocument
from madoguchi.ledger.check import check_database
from madoguchi.ledger.models import Event, PendingEvent
from madoguchi.notifications.models import OutboundEmail

records = json.load(open(sys.argv[1]))
problems = []
procedure = procedure_by_identifier(%(body)r, %(procedure)r)
for r in records:
    found = list(Application.objects.filter(idempotency_key=r["key"]))
    if len(found) != 1:
        problems.append(f"{r['receipt_number']}: {len(found)} applications for its key")
        continue
    a = found[0]
    if str(a.pk) != r["id"] or a.receipt_number != r["receipt_number"]:
        problems.append(f"{r['receipt_number']}: another application or number ({a.receipt_number})")
    if a.state == "draft" or a.submitted_at is None:
        problems.append(f"{r['receipt_number']}: not submitted ({a.state})")
    def phone(value):
        # Stored in E.164 (+81…), as the form normalises it; sent as 03-1234-5678.
        digits = "".join(c for c in str(value) if c.isdigit())
        return "81" + digits[1:] if digits.startswith("0") else digits
    for name, value in r["answers"].items():
        if name == "evidence_files":
            continue
        # Sensitive answers rest sealed (decision 0022): compared in clear.
        stored = unseal(a.answers.get(name))
        if name == "contact_phone" and phone(stored) == phone(value):
            continue
        if stored != value:
            problems.append(f"{r['receipt_number']}: answer {name} differs")
    links = list(ApplicationFile.objects.filter(application=a).select_related("stored_file"))
    if [str(link.stored_file_id) for link in links] != [r["file_id"]]:
        problems.append(f"{r['receipt_number']}: files {[str(l.stored_file_id) for l in links]}")
    for link in links:
        # The evidence is a sensitive field's: stored encrypted, its content as uploaded.
        if not link.stored_file.encrypted:
            problems.append(f"{r['receipt_number']}: evidence stored in clear")
        digest = hashlib.sha256(read_stored(link.stored_file)).hexdigest()
        if digest != r["file_sha256"] or link.stored_file.sha256 != r["file_sha256"]:
            problems.append(f"{r['receipt_number']}: file hash differs")

mine = Application.objects.filter(procedure=procedure).exclude(state="draft")
twice = mine.values("idempotency_key").annotate(n=Count("pk")).filter(n__gt=1).count()
if twice:
    problems.append(f"{twice} idempotency keys with more than one application")
numbers = list(mine.values_list("receipt_number", flat=True))
if len(numbers) != len(set(numbers)):
    problems.append("a receipt number given twice")
recorded = {r["key"] for r in records}
unrecorded = mine.exclude(idempotency_key__in=recorded).count()

documents = list(IssuedDocument.objects.filter(application__procedure=procedure))
per_application = {}
for d in documents:
    per_application[d.application_id] = per_application.get(d.application_id, 0) + 1
    if d.state != "issued":
        problems.append(f"document {d.number}: {d.state} ({d.last_error})")
        continue
    with d.pdf.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != d.pdf_sha256 or not d.signature_level:
        problems.append(f"document {d.number}: PDF hash or signature missing")
    issued_events = Event.objects.filter(event_type="document.issued", subject_id=str(d.pk)).count()
    if issued_events != 1:
        problems.append(f"document {d.number}: {issued_events} document.issued events")
if any(n > 1 for n in per_application.values()):
    problems.append("an application with more than one document")
approved = Application.objects.filter(procedure=procedure, state="approved").count()
if approved != len(per_application):
    problems.append(f"{approved} approved applications, {len(per_application)} with a document")

emails = dict(OutboundEmail.objects.values_list("status").annotate(n=Count("pk")))
check = check_database()
problems += [f"ledger: {p}" for p in check.problems]
pending_events = PendingEvent.objects.count()
if pending_events:
    problems.append(f"ledger: {pending_events} events not sequenced")
print(json.dumps({
    "records": len(records),
    "applications": mine.count(),
    "unrecorded": unrecorded,
    "documents": len(documents),
    "emails": emails,
    "ledger_entries": check.entries,
    "problems": problems,
}))
"""


# --- the harness ------------------------------------------------------------------------


class Harness:
    def __init__(self, args, tmpdir: Path) -> None:
        self.args = args
        self.tmpdir = tmpdir
        self.pg = submission.Postgres(args.pg_host, args.pg_port, args.pg_user)
        self.processes: list[Managed] = []
        self.haproxy: subprocess.Popen | None = None
        self.smtp = None
        self.mailbox = Mailbox()
        self.phases: list[dict] = []
        self.pg_restarts = 0
        self.metrics_token = secrets.token_urlsafe(24)
        self.metrics: dict = {}

    # environment and commands

    def environment(self, smtp_port: int) -> dict:
        from cryptography.fernet import Fernet

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "MADOGUCHI_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": self.pg.url(self.args.database),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TASKS_BACKEND": "database",
            "MADOGUCHI_DATA_DIR": str(self.tmpdir / "data"),
            "MADOGUCHI_LEDGER_SEQUENCE_AFTER_COMMIT": "0",
            "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
            "MADOGUCHI_DEMO_IDENTITY": "1",
            "MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION": "1",
            # The ledger signs with generated demo keys (allowed by the line above).
            "MADOGUCHI_LEDGER_DEMO_KEYS": "1",
            "MADOGUCHI_LEDGER_PSEUDONYM_KEY": secrets.token_urlsafe(40),
            "SECURE_COOKIES": "0",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_TIMEOUT": "5",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "MADOGUCHI_METRICS_TOKEN": self.metrics_token,
        }
        for name in ("DEBUG_SQL", "CACHE_URL", "PROMETHEUS_MULTIPROC_DIR"):
            env.pop(name, None)
        return env

    def manage(self, *args: str, what: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "madoguchi", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise BenchError(f"{what} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def script(self, code: str, *args: str, timeout: float = 600) -> dict:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise BenchError(f"script failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    # setting up

    def setup(self) -> None:
        from aiosmtpd.controller import Controller

        step(f"PostgreSQL at {self.pg.host}:{self.pg.port}")
        self.postgres_version = self.pg.ensure_up()
        self.pg.recreate(self.args.database)
        smtp_port = submission._free_port()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=smtp_port)
        self.smtp.start()
        self.env = self.environment(smtp_port)
        step("migrate, createcachetable, sample load")
        self.manage("migrate", "--no-input", "-v0", what="migrate")
        self.manage("createcachetable", what="createcachetable")
        # The log-in page is a template: with DEBUG off its static files need the manifest.
        self.manage("collectstatic", "--no-input", "-v0", what="collectstatic")
        self.manage("sample", "load", "--force", "--without-applications", what="sample load")
        prepared = self.script(SETUP % {"resident": RESIDENT})
        self.token, self.password = prepared["token"], prepared["password"]

        logs = self.tmpdir / "logs"
        logs.mkdir()
        python = sys.executable
        self.web_ports = [submission._free_port(), submission._free_port()]
        self.webs = []
        for index, port in enumerate(self.web_ports, start=1):
            web_env = {
                **self.env,
                "PROMETHEUS_MULTIPROC_DIR": str(self.tmpdir / f"metrics-web{index}"),
            }
            self.webs.append(
                Managed(
                    f"web{index}",
                    [
                        python,
                        "-m",
                        "gunicorn",
                        "--workers",
                        str(self.args.workers),
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--timeout",
                        "60",
                        "--log-level",
                        "warning",
                        "madoguchi.wsgi:application",
                    ],
                    web_env,
                    logs,
                )
            )
        self.worker = Managed("worker", [python, "-m", "madoguchi", "db_worker"], self.env, logs)
        self.sweeper = Managed(
            "sweeper",
            [python, "-m", "madoguchi", "deliver_email", "--interval", "5"],
            self.env,
            logs,
        )
        self.sequencer = Managed(
            "sequencer",
            [python, "-m", "madoguchi", "ledger", "sequence", "--interval", "1"],
            self.env,
            logs,
        )
        self.approver = Managed(
            "approver",
            [python, "-c", APPROVER % {"body": BODY, "procedure": PROCEDURE}],
            self.env,
            logs,
        )
        self.processes = [*self.webs, self.worker, self.sweeper, self.sequencer, self.approver]
        for proc in self.processes:
            proc.start()
        self.start_haproxy()
        self.supervisor = Supervisor(self.processes)
        self.supervisor.start()
        self.wait_web()

    def start_haproxy(self) -> None:
        if shutil.which("haproxy") is None:
            raise BenchError("haproxy not found: `make system-deps` installs it")
        self.proxy_port = submission._free_port()
        config = self.tmpdir / "haproxy.cfg"
        servers = "\n".join(
            f"    server web{i} 127.0.0.1:{port} check"
            for i, port in enumerate(self.web_ports, start=1)
        )
        config.write_text(f"""global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend madoguchi
    bind 127.0.0.1:{self.proxy_port}
    default_backend web
backend web
    balance roundrobin
    option httpchk GET /healthz/live
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Served-By %[srv_name]
{servers}
""")
        self.haproxy_log = (self.tmpdir / "logs" / "haproxy.log").open("w")
        self.haproxy = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)],
            stdout=self.haproxy_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.base_url = f"http://127.0.0.1:{self.proxy_port}"

    def wait_web(self, timeout: float = 90) -> None:
        import requests

        # Not the first answer of each: while every process of the harness starts at once
        # on two cores, a worker's first requests can outlast haproxy's health check
        # (500 ms), which takes the server out for a second or two just after it
        # answered. Both are in when the last six answers alternate, as round robin does
        # with both servers up.
        deadline = time.monotonic() + timeout
        recent: collections.deque[str] = collections.deque(maxlen=6)
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                response = requests.get(self.base_url + "/healthz/live", timeout=5)
                if response.ok:
                    recent.append(response.headers.get("X-Served-By", ""))
                    alternating = all(a != b for a, b in itertools.pairwise(recent))
                    if len(recent) == recent.maxlen and alternating and len(set(recent)) == 2:
                        return
            time.sleep(0.3)
        raise BenchError(f"the web servers did not both answer behind haproxy ({list(recent)})")

    def stop(self) -> None:
        if getattr(self, "supervisor", None):
            self.supervisor.stopping.set()
        for proc in self.processes:
            proc.stop()
        if self.haproxy is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.haproxy.pid, signal.SIGKILL)
            self.haproxy.wait(timeout=10)
        if self.smtp is not None:
            self.smtp.stop()

    # the round-robin check

    def across_servers(self) -> dict:
        """A resident logs in, uploads, saves a draft, reads it and submits, each request
        answered by the next server in turn."""
        import requests

        session = requests.Session()
        served: list[str] = []

        def call(method, path, **kwargs):
            response = session.request(method, self.base_url + path, timeout=30, **kwargs)
            served.append(response.headers.get("X-Served-By", "?"))
            return response

        call("GET", "/account/login/")
        csrf = session.cookies.get("madoguchi_csrf")
        login = call(
            "POST",
            "/account/login/",
            data={"login": RESIDENT, "password": self.password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": self.base_url + "/account/login/"},
            allow_redirects=False,
        )
        if login.status_code != 302:
            raise BenchError(f"log-in through haproxy: {login.status_code}")
        csrf = session.cookies.get("madoguchi_csrf")
        headers = {"X-CSRFToken": csrf, "Referer": self.base_url + "/"}
        mine = call("GET", "/api/applications", headers=headers)
        data = _png(999_999)
        upload = call(
            "POST",
            "/api/files",
            headers=headers,
            files={"file": ("photo.png", data, "image/png")},
            data={"accept": "image"},
        )
        file_id = upload.json()["id"]
        draft = call(
            "POST",
            "/api/applications",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "body": BODY,
                "procedure": PROCEDURE,
                "answers": parking_answers(file_id, 1),
                "submit": False,
            },
        )
        draft_id = draft.json()["id"]
        read = call("GET", f"/api/applications/{draft_id}", headers=headers)
        submitted = call("POST", f"/api/applications/{draft_id}/submit", headers=headers)
        result = {
            "served_by": served,
            "statuses": [
                mine.status_code,
                upload.status_code,
                draft.status_code,
                read.status_code,
                submitted.status_code,
            ],
            "draft_state": read.json().get("state"),
            "receipt_number": submitted.json().get("receipt_number"),
        }
        ok = (
            mine.status_code == 200
            and upload.status_code == 201
            and draft.status_code in (200, 201)
            and read.status_code == 200
            and read.json().get("state") == "draft"
            and submitted.status_code in (200, 201)
            and bool(result["receipt_number"])
            and len(set(served)) == 2
        )
        result["ok"] = ok
        return result

    def scrape(self) -> dict:
        """/metrics of each server through haproxy (with the token): the requests counted
        over all gunicorn workers of the server that answers, and the platform's state."""
        import requests

        found = {}
        for _ in range(2):
            response = requests.get(
                self.base_url + "/metrics",
                headers={"Authorization": f"Bearer {self.metrics_token}"},
                timeout=30,
            )
            server = response.headers.get("X-Served-By", "?")
            text = response.text if response.ok else ""
            requests_total = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("madoguchi_http_requests_total{")
            )
            submissions = re.search(r"^madoguchi_submissions_total (\S+)$", text, re.MULTILINE)
            found[server] = {
                "status": response.status_code,
                "http_requests_total": requests_total,
                "submissions_total": float(submissions.group(1)) if submissions else None,
            }
        return found

    # faults

    def state(self) -> dict:
        return self.script(STATE)

    def drain(self, timeout: float) -> dict:
        """Waits until nothing is left to do (the load paused): every submitted application
        approved and its document issued, tasks run, e-mails sent, events sequenced."""
        deadline = time.monotonic() + timeout
        swept = recovered = False
        while True:
            try:
                state = self.state()
            except BenchError:
                if time.monotonic() > deadline:
                    return {"error": "the state could not be read"}
                time.sleep(2)
                continue
            idle = not any(
                state[k]
                for k in (
                    "submitted",
                    "documents_pending",
                    "tasks_ready",
                    "outbox_pending",
                    "events_pending",
                )
            )
            if idle:
                return state
            waited = time.monotonic() - (deadline - timeout)
            if state["documents_pending"] and not state["tasks_ready"] and not recovered:
                if waited > 20:
                    # A document whose task died with its worker: the row still says
                    # RUNNING; recovery queues it again for the restarted worker.
                    say(f"    recovery: tasks recover ({state['tasks_running']} running)")
                    self.manage("tasks", "recover", "--lost-after", "15", what="tasks recover")
                    recovered = True
                    continue
            elif (
                state["documents_pending"]
                and not state["tasks_ready"]
                and not swept
                and waited > 60
            ):
                # Recovery did not finish it: the operator's sweep.
                say(f"    sweep: documents issue --pending ({state['documents_pending']} pending)")
                self.manage("documents", "issue", "--pending", what="documents issue --pending")
                swept = True
                continue
            if time.monotonic() > deadline:
                return state
            time.sleep(2)

    def phase(self, name: str, fault, load: Load) -> None:
        step(name)
        started = time.monotonic()
        load.resume()
        time.sleep(self.args.steady)
        records_before = len(load.records)
        detail = fault()
        time.sleep(self.args.steady)
        load.pause_load()
        time.sleep(2)
        drained = self.drain(self.args.drain)
        records_file = self.tmpdir / "records.json"
        with load.lock:
            records_file.write_text(json.dumps(load.records, ensure_ascii=False))
            errors = dict(load.errors)
            load.errors.clear()
        verdict = self.script(VERIFY % {"body": BODY, "procedure": PROCEDURE}, str(records_file))
        received = len(self.mailbox.received)
        sent = verdict["emails"].get("sent", 0)
        if verdict["emails"].get("pending") or verdict["emails"].get("failed"):
            verdict["problems"].append(f"e-mails not sent: {verdict['emails']}")
        if received < sent:
            verdict["problems"].append(f"{sent} e-mails marked sent, {received} received")
        if detail.get("task"):
            # The task the killed worker left marked running: recovered and run again.
            with self.pg.connect(self.args.database) as conn:
                status, workers = conn.execute(
                    "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult "
                    "WHERE id = %s",
                    (detail["task"],),
                ).fetchone()
            detail["task_after_recovery"] = f"{status}, claimed by {len(workers)} workers"
            if status != "SUCCESSFUL" or len(workers) < 2:
                verdict["problems"].append(
                    f"the orphaned task ended {status} after {len(workers)} workers"
                )
        result = {
            "name": name,
            "detail": detail,
            "seconds": round(time.monotonic() - started, 1),
            "submissions": len(load.records),
            "during_fault": len(load.records) - records_before,
            "client_errors": errors,
            "drained": drained,
            "emails_received": received,
            "restarts": {p.name: p.restarts for p in self.processes if p.restarts},
            **verdict,
        }
        self.phases.append(result)
        status = "ok" if not verdict["problems"] else "FAILED"
        say(
            f"    {status}: {len(load.records)} receipts, {verdict['applications']} applications, "
            f"{verdict['documents']} documents, e-mails {verdict['emails']}, received {received}, "
            f"client errors {errors}"
        )
        for problem in verdict["problems"][:20]:
            say(f"    problem: {problem}")

    def kill_web(self) -> dict:
        victim = self.webs[0]
        victim.kill9()
        time.sleep(self.args.steady)
        victim.start()
        return {"killed": f"{victim.name} (gunicorn master and workers), SIGKILL"}

    def restart_postgres(self) -> dict:
        version = self.postgres_version.split(".")[0].split()[0]
        started = time.monotonic()
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            capture_output=True,
            text=True,
        )
        self.pg_restarts += 1
        if done.returncode != 0:
            raise BenchError(f"pg_ctlcluster restart failed: {done.stderr}")
        self.pg.ensure_up()
        return {
            "restarted": f"PostgreSQL {version}/main",
            "seconds": round(time.monotonic() - started, 1),
        }

    def kill_worker_rendering(self) -> dict:
        """SIGKILL to the task worker while it runs a document's rendering and signing."""
        deadline = time.monotonic() + 60
        with self.pg.connect(self.args.database) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT id FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING' "
                    "AND task_path LIKE '%%issue_document_task'"
                ).fetchone()
                if row:
                    self.worker.kill9()
                    orphan = str(row[0])
                    break
                time.sleep(0.01)
            else:
                return {"killed": None, "note": "no document was being rendered in 60 s"}
        time.sleep(2)
        self.worker.start()
        return {"killed": "db_worker, SIGKILL, while running issue_document_task", "task": orphan}

    def refuse_mail(self) -> dict:
        self.mailbox.refusing = True
        refused_before = self.mailbox.refused
        time.sleep(self.args.smtp_down)
        self.mailbox.refusing = False
        state = self.state()
        return {
            "refused_for_s": self.args.smtp_down,
            "refusals": self.mailbox.refused - refused_before,
            "retrying_when_back": state["outbox_retrying"],
        }


def section(harness: Harness, across: dict, total: float) -> str:
    now = dt.datetime.now(dt.UTC)
    info = submission.machine()
    lines = [
        START_MARK,
        "## Faults under load (`make faults`, bench/faults.py)",
        "",
        f"Run {now:%Y-%m-%d %H:%M} UTC on {info['cpu_model']}, {info['cores']} cores, "
        f"{info['ram']} RAM ({info['os']}); PostgreSQL {harness.postgres_version}; revision "
        f"{submission.git_revision()}; command `{submission.invocation()}`; {total:.0f} s in all. "
        f"Two gunicorn servers ({harness.args.workers} sync workers each) behind haproxy "
        f"(round-robin, loopback), `db_worker`, `deliver_email --interval 5`, `ledger sequence "
        f"--interval 1`, an approver, a local SMTP server; {harness.args.threads} resident "
        f"threads uploading a photo and submitting 思いやり駐車場 through haproxy, resending "
        f"with the same Idempotency-Key after an error.",
        "",
        f"Round-robin: log-in, upload, draft, read, submit answered by "
        f"{' → '.join(across['served_by'])}: {'ok' if across['ok'] else 'FAILED'} "
        f"(statuses {across['statuses']}, draft read back as `{across['draft_state']}`, "
        f"受付番号 {across['receipt_number']}).",
        "",
        "| fault | receipts so far (during the fault) | applications | documents | e-mails sent / received | client errors (resent) | restarts by the supervisor | checks |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in harness.phases:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(p["client_errors"].items())) or "none"
        restarts = ", ".join(f"{k} {v}" for k, v in p["restarts"].items()) or "none"
        checks = "ok" if not p["problems"] else "FAILED: " + "; ".join(p["problems"][:3])
        lines.append(
            f"| {p['name']} | {p['submissions']} ({p['during_fault']}) | {p['applications']} "
            f"| {p['documents']} | {p['emails'].get('sent', 0)} / {p['emails_received']} "
            f"| {errors} | {restarts} | {checks} |"
        )
    lines += [
        "",
        "Checked after each fault, once the backlog drained: every submission that received "
        "a 受付番号 exists once with its answers and its photo (SHA-256 of the stored file); "
        "no Idempotency-Key or 受付番号 twice; every approved application has one document, "
        "issued, its PDF's hash as recorded, signed, with one `document.issued` ledger event; "
        "no e-mail pending or failed, and the SMTP server received at least as many as were "
        "marked sent; `ledger check` passes with no event waiting; the task the killed "
        "worker left marked running was queued again by `madoguchi tasks recover` and "
        "ended successful, run by a second worker.",
        "",
        f"`/metrics` after the run (each server's gunicorn workers added up through "
        f"PROMETHEUS_MULTIPROC_DIR): {json.dumps(harness.metrics)}.",
        "",
        "Details: "
        + "; ".join(
            f"{p['name']}: {json.dumps(p['detail'], ensure_ascii=False)}" for p in harness.phases
        ),
        "",
        END_MARK,
        "",
    ]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    """Replaces this benchmark's section of docs/benchmarks.md (between its markers)."""
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = current.find(START_MARK), current.find(END_MARK)
    if start != -1 and end > start:
        current = current[:start] + text + current[end + len(END_MARK) :].lstrip("\n")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    DOCS.write_text(current)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="madoguchi_faults")
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=3, help="resident threads")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between submissions")
    parser.add_argument("--steady", type=float, default=10, help="seconds of load around a fault")
    parser.add_argument("--smtp-down", type=float, default=60)
    parser.add_argument("--drain", type=float, default=600, help="longest wait for the backlog")
    parser.add_argument("--skip-postgres-restart", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="madoguchi-faults-") as tmp:
        harness = Harness(args, Path(tmp))
        load = None
        try:
            harness.setup()
            step("a resident's session, upload and draft across both servers")
            across = harness.across_servers()
            say(f"    {'ok' if across['ok'] else 'FAILED'}: {across}")
            load = Load(harness.base_url, harness.token, args.threads, args.pause)
            load.start()
            harness.phase("kill -9 a web server", harness.kill_web, load)
            if not args.skip_postgres_restart:
                harness.phase("PostgreSQL restarted", harness.restart_postgres, load)
            harness.phase(
                "kill -9 the task worker while it signs", harness.kill_worker_rendering, load
            )
            harness.phase("SMTP refuses mail for a minute", harness.refuse_mail, load)
            load.stop()
            harness.metrics = harness.scrape()
            say(f"    /metrics: {harness.metrics}")
        except BenchError as exc:
            say(f"faults: {exc}")
            for proc in harness.processes:
                if proc.log_path.exists():
                    tail = proc.log_path.read_text(errors="replace").splitlines()[-15:]
                    say(f"--- {proc.name}.log\n" + "\n".join(tail))
            return 2
        finally:
            if load is not None:
                load.stop()
            problems = {p.name: p.log_problems()[:5] for p in harness.processes}
            harness.stop()
            with contextlib.suppress(Exception):
                harness.pg.drop(args.database)
        for name, lines in problems.items():
            for line in lines:
                say(f"    log of {name}: {line}")
        total = time.monotonic() - started
        if not args.no_docs:
            write_docs(section(harness, across, total))
        failed = not across["ok"] or any(p["problems"] for p in harness.phases)
        say(f"faults: {'FAILED' if failed else 'all checks passed'} in {total:.0f} s")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
