"""`make bench` (booking): 1,000 residents try to book the last 10 slots of a day at once.

Starts gunicorn on a fresh PostgreSQL database with production settings (DEBUG off, tasks
queued in the database), fills a counter's day so that exactly 10 slots (one place each)
are left, opens 1,000 connections and sends 1,000 booking requests
(POST /api/appointments/bookings, each by another resident with its own token and
Idempotency-Key) at the same moment, 100 for each of the 10 slots. Then checks:

- exactly 10 answers 201 (one per slot) and 990 answers 409 with code "full";
- in the database: each slot holds one booking, no slot more than its capacity, 10 new
  bookings with their ledger events and confirmation e-mails, nothing else;
- no error in the server log.

Reports latency (p50/p90/p99/max, from sending a request to its complete answer; every
request waits behind the others for one of the 4 workers) and writes its section of
docs/benchmarks.md between its markers.

Exit status: 0 when the result is exact, 1 when it is not, 2 when the benchmark could not
run (PostgreSQL down, …).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/booking.py`, this folder comes first on sys.path, and its other
# scripts (bench/queue.py) would shadow modules of the standard library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
START_MARK = "<!-- bench:booking:start -->"
END_MARK = "<!-- bench:booking:end -->"
PATH = "/api/appointments/bookings"
SLOTS_LEFT = 10


class BenchError(Exception):
    pass


def say(message: str = "") -> None:
    print(message, flush=True)


def _run(cmd: list[str], *, env: dict[str, str], what: str) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {result.returncode}): {shlex.join(cmd)}\n"
            f"{result.stdout[-2000:]}{result.stderr[-4000:]}"
        )
    return result.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- inside Django (run as a subprocess with the benchmark's settings) -------------------


def prepare(attempts: int) -> dict:
    """A counter with capacity 1 whose chosen day has exactly SLOTS_LEFT free slots (the
    last ones); `attempts` residents with API tokens."""
    import hashlib

    from django.utils import timezone

    from madoguchi.appointments import services, slots
    from madoguchi.appointments.models import Counter
    from madoguchi.core import calendar
    from madoguchi.identity.models import ApiToken, User

    counter = Counter.objects.get(body__code="992011", code="shimin-madoguchi")
    Counter.objects.filter(pk=counter.pk).update(capacity=1, lead_minutes=0, horizon_days=60)
    counter.refresh_from_db()
    day = calendar.next_open_day(timezone.localdate() + dt.timedelta(days=1))
    (found,) = slots.days(counter, day, 1)
    times = [slot.starts_at for slot in found.slots]
    if len(times) <= SLOTS_LEFT:
        raise SystemExit(f"the counter has only {len(times)} slots on {day}")
    filler = User.objects.create_user(email="bench-filler@example.jp", password=None)
    for moment in times[:-SLOTS_LEFT]:
        services.book(counter=counter, starts_at=moment, user=filler, idempotency_key=uuid.uuid4())
    users = User.objects.bulk_create(
        # "!" is Django's unusable password: these residents only use their API tokens.
        [User(email=f"bench-{n:05d}@example.jp", password="!") for n in range(attempts)]  # noqa: S106
    )
    raws = ["mdg_" + secrets.token_urlsafe(32) for _ in users]
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                user=user,
                name="bench",
                token_sha256=hashlib.sha256(raw.encode()).hexdigest(),
                prefix=raw[:12],
            )
            for user, raw in zip(users, raws, strict=True)
        ]
    )
    return {
        "counter": counter.pk,
        "day": day.isoformat(),
        "capacity": counter.capacity,
        "slots_in_day": len(times),
        "targets": [moment.isoformat() for moment in times[-SLOTS_LEFT:]],
        "tokens": raws,
    }


def verify(day_text: str) -> dict:
    from django.db.models import Count

    from madoguchi.appointments.models import Booking, BookingSeat, Counter
    from madoguchi.appointments.selectors import day_bounds
    from madoguchi.ledger.models import Event
    from madoguchi.notifications.models import OutboundEmail

    counter = Counter.objects.get(body__code="992011", code="shimin-madoguchi")
    start, end = day_bounds(dt.date.fromisoformat(day_text))
    racers = Booking.objects.filter(user__email__startswith="bench-0")
    per_slot = (
        BookingSeat.objects.filter(counter=counter, starts_at__gte=start, starts_at__lt=end)
        .values("starts_at")
        .annotate(n=Count("id"))
    )
    return {
        "bookings_by_racers": racers.count(),
        "distinct_slots_booked_by_racers": racers.values("starts_at").distinct().count(),
        "bookings_in_day": Booking.objects.filter(
            counter=counter, starts_at__gte=start, starts_at__lt=end
        ).count(),
        "max_seats_in_a_slot": max((row["n"] for row in per_slot), default=0),
        "booked_events_of_racers": Event.objects.filter(
            event_type="appointment.booked",
            subject_id__in=[str(pk) for pk in racers.values_list("pk", flat=True)],
        ).count(),
        "confirmation_emails_of_racers": OutboundEmail.objects.filter(
            template="appointment_booked", to_address__startswith="bench-0"
        ).count(),
    }


# --- the load ----------------------------------------------------------------------------


async def _attempt(host: str, port: int, token: str, body: bytes, start: asyncio.Event):
    reader, writer = await asyncio.open_connection(host, port)
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Idempotency-Key: {uuid.uuid4()}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    await start.wait()
    began = time.perf_counter()
    writer.write(request)
    await writer.drain()
    data = await reader.read()
    elapsed = time.perf_counter() - began
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    try:
        code = json.loads(payload).get("code", "") if status >= 400 else ""
    except ValueError:
        code = "unparsable"
    return status, code, elapsed


async def _storm(host: str, port: int, prepared: dict, attempts: int):
    start = asyncio.Event()
    tasks = []
    for index in range(attempts):
        target = prepared["targets"][index % SLOTS_LEFT]
        body = json.dumps({"counter": prepared["counter"], "starts_at": target}).encode()
        tasks.append(
            asyncio.create_task(_attempt(host, port, prepared["tokens"][index], body, start))
        )
    await asyncio.sleep(1.0)  # every connection open (accepted into the listen queue)
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return results, time.perf_counter() - began


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(server_pgid: int) -> tuple[float, float, float]:
    """CPU seconds so far: the whole machine (steal included), the server's process group
    and PostgreSQL's processes; the difference of two samples is what each used."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    machine = (sum(values) - values[3] - values[4]) / CLOCK_TICKS
    server = postgres = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2 :].split()
        ticks = int(rest[11]) + int(rest[12])
        if int(rest[2]) == server_pgid:
            server += ticks
        elif comm == "postgres":
            postgres += ticks
    return machine, server / CLOCK_TICKS, postgres / CLOCK_TICKS


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- the report --------------------------------------------------------------------------


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.MULTILINE)
    os_release = Path("/etc/os-release")
    pretty = (
        re.search(r'^PRETTY_NAME="?([^"\n]+)"?', os_release.read_text(), re.MULTILINE)
        if os_release.exists()
        else None
    )
    return (
        f"{len(os.sched_getaffinity(0))} cores ({models[0].strip() if models else 'unknown'}), "
        f"{int(total[1]) / 1024 / 1024:.1f} GiB RAM, "
        f"{pretty[1] if pretty else platform.system()}, kernel {platform.release()}"
    )


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(ROOT), "status", "--porcelain"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def invocation() -> str:
    if os.environ.get("MAKELEVEL") and len(sys.argv) == 1:
        return "make bench"
    return shlex.join([".venv/bin/python", "bench/booking.py", *sys.argv[1:]])


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARK) :].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text)


def report(result: dict) -> str:
    ok = result["ok"]
    lat = result["latency_ms"]
    lines = [
        START_MARK,
        "## Booking the last slots of a day (`make bench`, bench/booking.py)",
        "",
        "_Written by `bench/booking.py`; the text between the markers is replaced on each run._",
        "",
        f"**Result: {'exact' if ok else 'NOT exact'}** — {result['created']} bookings for "
        f"{SLOTS_LEFT} free places, {result['full']} clear “full” answers (409, code `full`) "
        f"of {result['attempts']} attempts, other answers: {result['other'] or 'none'}; "
        f"p99 latency **{lat['p99']:.0f} ms**.",
        "",
        f"- Date: {result['date']}",
        f"- Command: `{result['command']}`",
        f"- Machine: {result['machine']}",
        f"- Software: Python {platform.python_version()}, PostgreSQL {result['postgres']}, "
        f"gunicorn {result['gunicorn']}",
        f"- Code: commit {result['revision']}",
        "",
        "| | |",
        "|---|---:|",
        f"| attempts (one resident, token and Idempotency-Key each) | {result['attempts']} |",
        f"| free places (10 slots × capacity 1; the day's other {result['slots_in_day'] - SLOTS_LEFT} slots full) | {SLOTS_LEFT} |",
        f"| answers 201 (booked) | **{result['created']}** |",
        f"| answers 409 `full` | **{result['full']}** |",
        f"| other answers / connection errors | {result['other'] or 0} / {result['errors']} |",
        f"| latency p50 / p90 / p99 / max | {lat['p50']:.0f} / {lat['p90']:.0f} / "
        f"**{lat['p99']:.0f}** / {lat['max']:.0f} ms |",
        f"| all answered after | {result['wall_s']:.2f} s ({result['attempts'] / result['wall_s']:.0f} requests/s) |",
        f"| CPU per request: gunicorn workers / PostgreSQL | {result['cpu']['server_ms_per_request']:.1f} / {result['cpu']['postgres_ms_per_request']:.1f} ms |",
        f"| CPU used by other processes during the run | {result['cpu']['other_share']:.0%} of the machine |",
        "",
        f"Database check after the run: {result['db']['bookings_by_racers']} bookings by the "
        f"racers in {result['db']['distinct_slots_booked_by_racers']} distinct slots, at most "
        f"{result['db']['max_seats_in_a_slot']} place taken in any slot (capacity "
        f"{result['capacity']}), {result['db']['bookings_in_day']} bookings that day in all, "
        f"{result['db']['booked_events_of_racers']} ledger events and "
        f"{result['db']['confirmation_emails_of_racers']} confirmation e-mails for the racers' "
        f"bookings; server log: {result['log'] or 'no errors'}.",
        "",
        "How it ran: gunicorn with 4 sync workers on PostgreSQL (fresh database, the sample "
        "without applications), production settings (`DEBUG=0`, `TASKS_BACKEND=database`: the "
        "confirmation e-mail and its task row are written in the booking's transaction). The "
        "1,000 connections are opened first and the requests sent at the same instant from one "
        "asyncio client on the same machine; 100 requests aim at each of the 10 slots. A place "
        "is a row whose (counter, slot, seat) is unique, so the database decides who gets it: "
        "no lock is held to count places (docs/decisions/0019-booking-capacity-as-a-constraint.md). Latency "
        "counts from sending to the complete answer and includes waiting for a free worker "
        "(1,000 requests queue for 4 workers), so it is mostly queueing: p99 is about the "
        "time to serve all of them. When other processes used a large share of the machine "
        "during the run (see the table), the server had less of it and every latency is "
        "longer than on an idle machine.",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", default="madoguchi_bench_booking")
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verify", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare or args.verify:
        import django

        django.setup()
        print(json.dumps(prepare(args.attempts) if args.prepare else verify(args.verify)))
        return 0
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database) or args.attempts < SLOTS_LEFT:
        parser.error("--database: lower-case letters, digits and _; --attempts ≥ 10")
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        return run(args)
    except BenchError as exc:
        say(f"bench: {exc}")
        return 2


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def run(args) -> int:
    import psycopg
    from cryptography.fernet import Fernet
    from psycopg import sql

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.attempts + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.attempts + 1000), hard))
    conninfo = {
        "host": args.pg_host,
        "port": args.pg_port,
        "user": args.pg_user,
        "dbname": "postgres",
        "autocommit": True,
    }
    try:
        with psycopg.connect(**conninfo) as conn:
            postgres_version = conn.execute("SHOW server_version").fetchone()[0]
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(args.database)
                )
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.database)))
    except psycopg.OperationalError as exc:
        raise BenchError(
            f"PostgreSQL is not reachable at {args.pg_host}:{args.pg_port}: {exc}"
        ) from None
    port = _free_port()
    url = f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.database}"
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-booking-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "MADOGUCHI_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TASKS_BACKEND": "database",
            "MADOGUCHI_DATA_DIR": str(Path(tmp) / "data"),
            "LOG_LEVEL": "WARNING",
            "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
            # The sample's demo keys (signing, ledger) instead of configured ones: booking
            # signs nothing, and the demo is refused in production unless allowed like this.
            "MADOGUCHI_DEMO_IDENTITY": "1",
            "MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION": "1",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DEBUG_SQL", "DATABASE_CONN_MAX_AGE", "CACHE_URL", "EMAIL_HOST"):
            env.pop(name, None)
        manage = [sys.executable, "-m", "madoguchi"]
        say("==> migrate, createcachetable, sample load")
        _run([*manage, "migrate", "--no-input", "-v0"], env=env, what="migrate")
        _run([*manage, "createcachetable"], env=env, what="createcachetable")
        _run(
            [*manage, "sample", "load", "--force", "--without-applications"],
            env=env,
            what="sample load",
        )
        say(f"==> prepare a day with {SLOTS_LEFT} free places and {args.attempts} residents")
        prepared = json.loads(
            _run(
                [sys.executable, __file__, "--prepare", "--attempts", str(args.attempts)],
                env=env,
                what="prepare",
            )
        )
        log_path = Path(tmp) / "gunicorn.log"
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else tmp,
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "madoguchi.wsgi:application",
        ]
        with log_path.open("w") as log:
            server = subprocess.Popen(
                gunicorn,
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for(server, f"http://127.0.0.1:{port}/api/appointments/counters", log_path)
            say(
                f"==> {args.attempts} attempts at once on the last {SLOTS_LEFT} slots of "
                f"{prepared['day']}"
            )
            before = _cpu(server.pid)
            client_before = resource.getrusage(resource.RUSAGE_SELF)
            results, wall = asyncio.run(_storm("127.0.0.1", port, prepared, args.attempts))
            after = _cpu(server.pid)
            client_after = resource.getrusage(resource.RUSAGE_SELF)
            client_cpu = (client_after.ru_utime + client_after.ru_stime) - (
                client_before.ru_utime + client_before.ru_stime
            )
            machine_cpu = after[0] - before[0]
            cores = len(os.sched_getaffinity(0))
            cpu = {
                "server_ms_per_request": (after[1] - before[1]) * 1000 / args.attempts,
                "postgres_ms_per_request": (after[2] - before[2]) * 1000 / args.attempts,
                "other_share": max(
                    machine_cpu - (after[1] - before[1]) - (after[2] - before[2]) - client_cpu,
                    0.0,
                )
                / (wall * cores),
            }
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
        db = json.loads(
            _run([sys.executable, __file__, "--verify", prepared["day"]], env=env, what="verify")
        )
        problems = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if re.search(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT", line)
        ]
    if not args.keep_database:
        with contextlib.suppress(Exception), psycopg.connect(**conninfo) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(args.database)
                )
            )
    answered = [r for r in results if not isinstance(r, BaseException)]
    errors = len(results) - len(answered)
    created = sum(1 for status, _code, _t in answered if status == 201)
    full = sum(1 for status, code, _t in answered if status == 409 and code == "full")
    other: dict[str, int] = {}
    for status, code, _t in answered:
        if status not in (201,) and not (status == 409 and code == "full"):
            other[f"{status} {code}".strip()] = other.get(f"{status} {code}".strip(), 0) + 1
    latencies = [t * 1000 for _s, _c, t in answered]
    result = {
        "attempts": args.attempts,
        "created": created,
        "full": full,
        "other": ", ".join(f"{k}: {v}" for k, v in sorted(other.items())),
        "errors": errors,
        "latency_ms": {
            "p50": statistics.median(latencies) if latencies else 0.0,
            "p90": percentile(latencies, 0.90),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=0.0),
        },
        "wall_s": wall,
        "cpu": cpu,
        "db": db,
        "capacity": prepared["capacity"],
        "slots_in_day": prepared["slots_in_day"],
        "log": "; ".join(problems[:3]),
        "postgres": postgres_version,
        "gunicorn": _gunicorn_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": invocation(),
        "machine": machine(),
        "revision": git_revision(),
    }
    result["ok"] = (
        created == SLOTS_LEFT
        and full == args.attempts - SLOTS_LEFT
        and not errors
        and not problems
        and db["bookings_by_racers"] == SLOTS_LEFT
        and db["distinct_slots_booked_by_racers"] == SLOTS_LEFT
        and db["max_seats_in_a_slot"] <= prepared["capacity"]
        and db["booked_events_of_racers"] == SLOTS_LEFT
        and db["confirmation_emails_of_racers"] == SLOTS_LEFT
    )
    section = report(result)
    say(section)
    if not args.no_docs:
        write_docs(section)
    return 0 if result["ok"] else 1


def _gunicorn_version() -> str:
    with contextlib.suppress(Exception):
        import gunicorn

        return gunicorn.__version__
    return "unknown"


def _wait_for(server: subprocess.Popen, url: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise BenchError(f"gunicorn exited at start:\n{log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise BenchError(
                    f"gunicorn did not answer:\n{log_path.read_text()[-3000:]}"
                ) from None
            time.sleep(0.3)


if __name__ == "__main__":
    sys.exit(main())
