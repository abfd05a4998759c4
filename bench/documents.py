"""`make bench`: issued documents rendered and signed per second by the task workers.

On a fresh PostgreSQL database with production settings (DEBUG off, tasks queued in the
database, a PKCS#12 signing key named by MADOGUCHI_SIGNING_CONFIG), creates approved
おもいやり駐車場利用証 applications and schedules their issuance: one task row per
document. Then starts `madoguchi db_worker` processes (one per core by default) and
measures how many documents per second they render (WeasyPrint, PDF/A-2b with the embedded
fonts and the QR code), sign (pyHanko, PAdES B-B) and store with their ledger event. In
the same run, rendering alone and signing alone are timed in one process, so that the
split is visible. Writes its section of docs/benchmarks.md between its markers.

Exit status: 0 when the target is met, 1 when it is missed or the check of the database
fails, 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The scripts' own folder is first on sys.path; a sibling named like a standard module
# (bench/queue.py) must not shadow it for the libraries imported here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
START_MARK = "<!-- bench:documents:start -->"
END_MARK = "<!-- bench:documents:end -->"
TARGET_PER_S = 10.0
DATABASE = "madoguchi_bench_documents"
MADOGUCHI = str(Path(sys.executable).with_name("madoguchi"))


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


def say(message: str = "") -> None:
    print(message, flush=True)


# --- PostgreSQL and keys ------------------------------------------------------------------


def postgres(args: argparse.Namespace):
    import psycopg

    try:
        return psycopg.connect(
            host=args.pg_host,
            port=args.pg_port,
            user=args.pg_user,
            dbname="postgres",
            autocommit=True,
        )
    except psycopg.OperationalError as exc:
        raise BenchError(
            f"PostgreSQL is not reachable at {args.pg_host}:{args.pg_port}: {exc}"
        ) from exc


def recreate_database(args: argparse.Namespace) -> str:
    from psycopg import sql

    with postgres(args) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    return version


def drop_database(args: argparse.Namespace) -> None:
    from psycopg import sql

    with postgres(args) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
        )


def signing_key(directory: Path) -> Path:
    """A CA and an RSA-2048 signer (like an LGPKI 職責証明書) in a PKCS#12 file, and the
    TOML configuration that names them: the production code path, not the demo one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("bench CA"))
        .issuer_name(name("bench CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = (
        x509.CertificateBuilder()
        .subject_name(name("さくら県知事（bench）"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "signer.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"bench", key, signer, [ca], serialization.BestAvailableEncryption(b"bench")
        )
    )
    (directory / "passphrase").write_text("bench\n")
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    config = directory / "signing.toml"
    config.write_text(
        f'[default]\npkcs12 = "{directory / "signer.p12"}"\n'
        f'passphrase_file = "{directory / "passphrase"}"\n\n'
        f'[verification]\ntrust_anchors = ["{directory / "ca.pem"}"]\n'
    )
    return config


# --- steps run inside the platform --------------------------------------------------------

SETUP = r"""
import json, sys, time, uuid
import django
django.setup()
from django.db import transaction
from madoguchi.sample.services import load_sample
from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.counter import services as counter
from madoguchi.counter.models import Application
from madoguchi.files.services import store_upload
from madoguchi.identity.models import User
from madoguchi.issuance import services
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
import io
from PIL import Image

count = int(sys.argv[1])
load_sample(with_applications=False)
hanako = User.objects.get(email="hanako@example.jp")
procedure = procedure_by_identifier("990001", "omoiyari-parking")
buffer = io.BytesIO(); Image.new("RGB", (600, 400), (200, 210, 230)).save(buffer, format="PNG")
png = buffer.getvalue()
address = {"postal_code": "9990001", "prefecture": "さくら県", "city": "あおば市",
           "street": "中央一丁目2番3号", "building": ""}
# Typical names; one in ten with a character only IPAmj明朝 has (𠮷), which makes the
# renderer read and subset that large font too. 髙 and 﨑 are in BIZ UDゴシック.
NAMES = [
    {"family": "山田", "given": "花子", "family_kana": "やまだ", "given_kana": "はなこ"},
    {"family": "佐藤", "given": "太郎", "family_kana": "さとう", "given_kana": "たろう"},
    {"family": "髙橋", "given": "美咲", "family_kana": "たかはし", "given_kana": "みさき"},
    {"family": "鈴木", "given": "一郎", "family_kana": "すずき", "given_kana": "いちろう"},
    {"family": "田中", "given": "健", "family_kana": "たなか", "given_kana": "けん"},
    {"family": "伊藤", "given": "さくら", "family_kana": "いとう", "given_kana": "さくら"},
    {"family": "渡辺", "given": "翔", "family_kana": "わたなべ", "given_kana": "しょう"},
    {"family": "山﨑", "given": "直子", "family_kana": "やまさき", "given_kana": "なおこ"},
    {"family": "中村", "given": "優", "family_kana": "なかむら", "given_kana": "ゆう"},
    {"family": "𠮷田", "given": "陽子", "family_kana": "よしだ", "given_kana": "ようこ"},
]
ids = []
started = time.perf_counter()
for number in range(count):
    stored = store_upload(SimpleUploadedFile("evidence.png", png, "image/png"), owner=hanako,
                          accept=["image", "pdf"])
    application, _ = counter.create_and_submit(
        procedure=procedure, applicant=hanako, idempotency_key=uuid.uuid4(),
        identity_level="mynumber_card",
        answers={"category": "elderly_care", "care_level": "要介護2",
                 "evidence_files": [str(stored.pk)],
                 "user_name": NAMES[number % len(NAMES)],
                 "user_birth_date": "1950-01-02", "user_address": address,
                 "contact_phone": "03-1234-5678", "delivery": "download", "declaration": True})
    ids.append(application.pk)
# The decision itself is the back office's benchmark; here the applications are approved.
Application.objects.filter(pk__in=ids).update(state="approved", decided_at=timezone.now())
for application_id in ids:
    with transaction.atomic():
        services.schedule_issuance(application_id=application_id)
print(json.dumps({"applications": len(ids), "setup_s": time.perf_counter() - started}))
"""

SPLIT = r"""
import json, sys, time, statistics
import django
django.setup()
from madoguchi.issuance import keys, rendering, services, signing, verification
from madoguchi.issuance.models import IssuedDocument

samples = int(sys.argv[1])
issued = IssuedDocument.objects.select_related("body", "unit", "application",
    "application__procedure_version").filter(state="issued")
documents = list(issued.order_by("number")[:10])
document = next(d for d in documents if "𠮷" not in str(d.application.answers["user_name"]))
gaiji = next(d for d in documents if "𠮷" in str(d.application.answers["user_name"]))
config = keys.load_config()
loaded = keys.signer_for(document.body.code, document.body.name)
rendering.render_document(document, demo=False)  # warm: fonts, templates, CSS
render_ms, sign_ms, render_cpu, sign_cpu = [], [], [], []
pdf = None
for _ in range(samples):
    t, c = time.perf_counter(), time.process_time()
    pdf = rendering.render_document(document, demo=False)
    render_ms.append((time.perf_counter() - t) * 1000)
    render_cpu.append((time.process_time() - c) * 1000)
gaiji_cpu = []
rendering.render_document(gaiji, demo=False)
for _ in range(max(samples // 2, 1)):
    c = time.process_time()
    rendering.render_document(gaiji, demo=False)
    gaiji_cpu.append((time.process_time() - c) * 1000)
signing.sign_pdf(pdf, loaded, config)
for _ in range(samples):
    t, c = time.perf_counter(), time.process_time()
    signed = signing.sign_pdf(pdf, loaded, config)
    sign_ms.append((time.perf_counter() - t) * 1000)
    sign_cpu.append((time.process_time() - c) * 1000)
with document.pdf.open("rb") as handle:
    verdict = verification.verify_pdf(handle.read()).verdict
def summary(values):
    values = sorted(values)
    return {"mean": statistics.fmean(values), "p50": values[len(values) // 2],
            "p90": values[int(len(values) * 0.9) - 1], "min": values[0]}
print(json.dumps({"render_ms": summary(render_ms), "sign_ms": summary(sign_ms),
                  "render_cpu_ms": summary(render_cpu), "sign_cpu_ms": summary(sign_cpu),
                  "gaiji_render_cpu_ms": summary(gaiji_cpu),
                  "pdf_bytes": len(signed.data), "verdict": verdict}))
"""


def run_python(code: str, argument: str, env: dict[str, str], what: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", code, argument], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchError(f"{what} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def database_state(args: argparse.Namespace) -> dict:
    import psycopg

    with psycopg.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=DATABASE, autocommit=True
    ) as conn:
        counts = dict(
            conn.execute(
                "SELECT state, count(*) FROM issuance_issueddocument GROUP BY state"
            ).fetchall()
        )
        hashes = conn.execute(
            "SELECT count(DISTINCT pdf_sha256) FROM issuance_issueddocument WHERE state='issued'"
        ).fetchone()[0]
        events = conn.execute(
            "SELECT count(*), min(occurred_at), max(occurred_at) FROM ledger_event "
            "WHERE event_type = 'document.issued'"
        ).fetchone()
    return {
        "states": counts,
        "distinct_hashes": hashes,
        "issued_events": events[0],
        "first": events[1],
        "last": events[2],
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cores": str(os.cpu_count()), "cpu": model, "ram": ram, "os": platform.platform()}


def markdown(
    result: dict, split: dict, state: dict, setup: dict, met: bool, problems: list[str]
) -> str:
    per_s = result["per_s"]
    render, sign = split["render_ms"], split["sign_ms"]
    per_core = 1000 / (render["mean"] + sign["mean"])
    lines = [
        START_MARK,
        "## Issued documents rendered and signed per second (`bench/documents.py`)",
        "",
        "_Written by `bench/documents.py`; the text between the markers is replaced on each run._",
        "",
        f"**Result: {'target met' if met else 'target missed'}** — **{per_s:.1f} signed "
        f"documents/s** with {setup['workers']} task workers (target ≥ {TARGET_PER_S:g}).",
        "",
        f"- Date: {setup['date']}",
        f"- Command: `{setup['command']}`",
        f"- Machine: {setup['cores']} cores ({setup['cpu']}), {setup['ram']} RAM, {setup['os']}",
        f"- Software: Python {platform.python_version()}, PostgreSQL {setup['postgres']}, "
        f"WeasyPrint {setup['weasyprint']}, pyHanko {setup['pyhanko']}",
        f"- Code: commit {setup['git']}",
        "",
        "| | |",
        "|---|---:|",
        f"| documents (おもいやり駐車場利用証, permit-card template; one name in ten with 𠮷) | "
        f"{result['documents']} |",
        f"| task workers (`madoguchi db_worker`) | {setup['workers']} |",
        f"| **rendered + signed + stored, documents/s** | **{per_s:.1f}** |",
        f"| first to last document issued | {result['span_s']:.2f} s |",
        f"| wall time from starting the workers (includes their start-up) | {result['wall_s']:.1f} s |",
        f"| rendering alone (WeasyPrint, PDF/A-2b, fonts, QR), one process: mean / p50 / p90 | "
        f"{render['mean']:.1f} / {render['p50']:.1f} / {render['p90']:.1f} ms "
        f"(CPU {split['render_cpu_ms']['mean']:.1f} ms) |",
        f"| signing alone (pyHanko PAdES B-B, RSA-2048 PKCS#12), one process: mean / p50 / p90 | "
        f"{sign['mean']:.1f} / {sign['p50']:.1f} / {sign['p90']:.1f} ms "
        f"(CPU {split['sign_cpu_ms']['mean']:.1f} ms) |",
        f"| … rendering a permit whose name has 𠮷 (IPAmj明朝 read and subset too), CPU | "
        f"{split['gaiji_render_cpu_ms']['mean']:.1f} ms |",
        f"| render + sign per process (from the two lines above) | {per_core:.1f} documents/s |",
        f"| CPU time of the workers per document (render, sign, store, ledger) | "
        f"{result['cpu_ms']:.0f} ms — {setup['cores']} idle cores would do "
        f"{int(setup['cores']) * 1000 / result['cpu_ms']:.1f} documents/s |"
        if result["cpu_ms"]
        else "| CPU time of the workers per document | — |",
        f"| load average of the machine before the workers started | {result['load_before']} |",
        f"| size of a signed permit | {split['pdf_bytes'] / 1024:.0f} KiB |",
        "",
        f"Database check after the run: {state['states']}; {state['distinct_hashes']} distinct "
        f"PDF hashes; {state['issued_events']} `document.issued` ledger events; a sample "
        f"document verifies as `{split['verdict']}` — "
        + ("all consistent." if not problems else "**problems:** " + "; ".join(problems)),
        "",
        "How it ran: a fresh PostgreSQL database with the sample bodies and procedures, "
        "`DEBUG=0`, `TASKS_BACKEND=database`, a PKCS#12 key from `MADOGUCHI_SIGNING_CONFIG` "
        "(no TSA: B-B). The applications are created and their issuance scheduled first "
        "(one task row per document); then the workers start, and the rate is measured from "
        "the first to the last `document.issued` ledger event, so the workers' start-up is "
        "not counted. Each document is rendered, signed, stored and committed with its "
        "ledger event exactly once (the row lock decides if a task runs twice). Rendering and "
        "signing alone are timed in one process on the same machine in the same run. The "
        "workers' CPU time per document (from /proc) does not depend on what else runs on "
        "the machine; the documents/s do: a load average above the number of cores means "
        "the machine was shared and the measured rate is lower than on an idle one.",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARK) :].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text)


def version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--samples", type=int, default=40, help="renders and signatures timed alone"
    )
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    workers: list[subprocess.Popen] = []
    directory = Path(tempfile.mkdtemp(prefix="madoguchi-bench-documents-"))
    try:
        say("==> PostgreSQL: fresh database")
        pg_version = recreate_database(args)
        from cryptography.fernet import Fernet

        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "MADOGUCHI_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{DATABASE}",
            "TASKS_BACKEND": "database",
            "MADOGUCHI_DATA_DIR": str(directory / "var"),
            "MADOGUCHI_SIGNING_CONFIG": str(signing_key(directory)),
            "MADOGUCHI_DEMO_IDENTITY": "0",
            "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        }
        say("==> migrate")
        migrate = subprocess.run(
            [MADOGUCHI, "migrate", "--no-input", "-v0"], env=env, capture_output=True, text=True
        )
        if migrate.returncode != 0:
            raise BenchError(f"migrate failed:\n{migrate.stderr[-4000:]}")
        say(f"==> {args.documents} approved applications, issuance scheduled")
        setup_result = run_python(SETUP, str(args.documents), env, "setup")
        say(f"    done in {setup_result['setup_s']:.1f} s")
        load_before = load_average()
        say(f"==> {args.workers} task workers (load average before: {load_before})")
        started = time.monotonic()
        for number in range(args.workers):
            log = open(directory / f"worker-{number}.log", "w")  # noqa: SIM115 - kept open for the child
            workers.append(
                subprocess.Popen(
                    [
                        MADOGUCHI,
                        "db_worker",
                        "--interval",
                        "0.05",
                        "--no-startup-delay",
                        "--no-reload",
                        "--worker-id",
                        f"bench-{number}",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = started + max(120, args.documents * 2)
        first_sample = None  # (documents issued, workers' CPU seconds) once they are working
        while True:
            state = database_state(args)
            done = state["states"].get("issued", 0) + state["states"].get("failed", 0)
            cpu = sum(cpu_seconds(worker.pid) for worker in workers)
            if first_sample is None and done >= 1:
                first_sample = (done, cpu)
            if done >= args.documents:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"the workers did not finish in time: {state['states']}")
            if any(worker.poll() is not None for worker in workers):
                raise BenchError(f"a worker exited; see {directory}/worker-*.log")
            time.sleep(0.1)
        wall = time.monotonic() - started
        worked = done - first_sample[0] if first_sample else 0
        cpu_ms_per_document = (cpu - first_sample[1]) * 1000 / worked if worked > 0 else 0.0
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        workers = []
        span = (state["last"] - state["first"]).total_seconds()
        per_s = (state["issued_events"] - 1) / span if span > 0 else 0.0
        say(f"    {state['issued_events']} issued in {span:.2f} s: {per_s:.1f} documents/s")
        say(f"    workers' CPU per document: {cpu_ms_per_document:.0f} ms")
        say(f"==> rendering and signing alone ({args.samples} each, one process)")
        split = run_python(SPLIT, str(args.samples), env, "split timing")
        say(
            f"    render {split['render_ms']['mean']:.1f} ms (CPU "
            f"{split['render_cpu_ms']['mean']:.1f}), sign {split['sign_ms']['mean']:.1f} ms "
            f"(CPU {split['sign_cpu_ms']['mean']:.1f})"
        )
        problems = []
        if state["states"].get("issued", 0) != args.documents:
            problems.append(f"not every document was issued: {state['states']}")
        if state["distinct_hashes"] != args.documents:
            problems.append(f"{state['distinct_hashes']} distinct PDFs for {args.documents}")
        if state["issued_events"] != args.documents:
            problems.append(f"{state['issued_events']} ledger events for {args.documents}")
        if split["verdict"] != "valid":
            problems.append(f"a sample document verifies as {split['verdict']}")
        met = per_s >= TARGET_PER_S and not problems
        git = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        setup = {
            **machine(),
            "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "command": shlex.join(["python", "bench/documents.py", *(argv or sys.argv[1:])]),
            "workers": str(args.workers),
            "postgres": pg_version,
            "weasyprint": version_of("weasyprint"),
            "pyhanko": version_of("pyhanko"),
            "git": git or "?",
        }
        result = {
            "documents": args.documents,
            "per_s": per_s,
            "span_s": span,
            "wall_s": wall,
            "cpu_ms": cpu_ms_per_document,
            "load_before": load_before,
        }
        section = markdown(result, split, state, setup, met, problems)
        if not args.no_docs:
            write_docs(section)
        say(
            f"result: {per_s:.1f} documents/s (target >= {TARGET_PER_S:g}): "
            f"{'TARGET MET' if met else 'TARGET MISSED'}"
        )
        for problem in problems:
            say(f"problem: {problem}")
        return 0 if met else 1
    except BenchError as exc:
        say(f"error: {exc}")
        return 2
    finally:
        for worker in workers:
            try:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        # The result is already printed: a database that cannot be dropped changes nothing.
        with contextlib.suppress(Exception):
            drop_database(args)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
