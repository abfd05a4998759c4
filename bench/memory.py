"""`make bench`: peak memory of the CSV exports does not grow with their row count.

On PostgreSQL with production settings: the back office's queue export (the CSV staff
download of a unit's applications, backoffice.export.stream, served by a
StreamingHttpResponse) of one unit holding first --small (100,000) and then --large
(1,000,000) applications, in the same run. Each export runs in a fresh process that
requests it as a staff member (Django's test client through the URL, the view and its
middleware), reads the streamed response chunk by chunk keeping nothing, and reports its
peak resident memory (ru_maxrss) and the peak of Python's allocations (tracemalloc).

Target: peak at the large size ÷ peak at the small size ≤ 1.25 for both measures (a
growth with the rows would be ×10). Writes its section of docs/benchmarks.md between
<!-- bench:memory:start --> and <!-- bench:memory:end -->. Exit status 0 when the target
is met, 1 when not, 2 when the benchmark could not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def _load(name: str, filename: str):
    spec = importlib.util.spec_from_file_location(name, _HERE / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_bench = _load("bench_run", "run.py")
DOCS = _bench.DOCS
ROOT = _bench.ROOT
BenchError = _bench.BenchError
say, step = _bench.say, _bench.step
START_MARK = "<!-- bench:memory:start -->"
END_MARK = "<!-- bench:memory:end -->"
TARGET_RATIO = 1.25
UNIT = ("992011", "seikatsu-kankyo")
STAFF = "kankyo.tanto@aoba.example.jp"

# One export, in a process of its own: the staff member's request to the export URL,
# the streamed response read chunk by chunk and counted, nothing kept.
MEASURE = r"""
import json, resource, sys, time, tracemalloc, django
django.setup()
from django.test import Client
from django.urls import reverse
from madoguchi.identity import levels
from madoguchi.identity.models import User
from madoguchi.organisation.models import Unit
unit = Unit.objects.get(body__code=%(body)r, code=%(unit)r)
client = Client()
client.force_login(User.objects.get(email=%(staff)r))
session = client.session
session[levels.SESSION_KEY] = levels.MFA
session.save()
url = reverse("backoffice:export") + f"?unit={unit.pk}&state=all"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
traced = %(traced)r
if traced:
    tracemalloc.start()
started = time.perf_counter()
response = client.get(url)
assert response.status_code == 200, response.status_code
assert response.streaming, "the export is not streamed"
lines = size = 0
for chunk in response.streaming_content:
    lines += chunk.count(b"\n")
    size += len(chunk)
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1] if traced else None
print(json.dumps({
    "rows": lines - 1, "bytes": size, "seconds": seconds,
    "tracemalloc_peak_mib": peak / 2**20 if traced else None,
    "rss_before_mib": before / 1024,
    "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _mib(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} MiB"


def seed_unit(rows_from: int, rows_to: int, batch: int) -> None:
    """Adds applications `rows_from`..`rows_to` to the measured unit (its procedures in
    turn), with the queue benchmark's columns (bench/queue.py)."""
    from django.db import connection

    from madoguchi.catalogue.models import Procedure
    from madoguchi.counter.models import Application
    from madoguchi.identity.models import User

    queue = sys.modules.get("bench_queue") or _load("bench_queue", "queue.py")
    procedures = [
        p
        for p in Procedure.objects.select_related("unit", "body").filter(
            current_version__isnull=False
        )
        if (p.body.code, p.unit.code) == UNIT
    ]
    applicant = User.objects.get(email="hanako@example.jp")
    staff = User.objects.get(email=STAFF)
    pick = ", ".join(
        f"({i}, {p.pk}, {p.current_version_id}, {p.unit_id}, {p.body_id})"
        for i, p in enumerate(procedures)
    )
    expressions = {
        "id": "gen_random_uuid()",
        "body_id": "pr.body_id",
        "procedure_id": "pr.procedure_id",
        "procedure_version_id": "pr.version_id",
        "unit_id": "pr.unit_id",
        "applicant_id": str(applicant.pk),
        "state": (
            "(ARRAY['submitted','under_review','correction_requested','resubmitted',"
            "'awaiting_approval','approved','approved','approved','rejected','withdrawn'])"
            "[1 + (g.i * 7) % 10]"
        ),
        "receipt_number": "'M' || lpad(g.i::text, 12, '0')",
        "idempotency_key": "gen_random_uuid()",
        "answers_sha256": "md5(g.i::text) || md5(g.i::text)",
        "created_at": "now() - (g.i % 400) * interval '1 day'",
        "updated_at": "now()",
        "submitted_at": "now() - (g.i % 400) * interval '1 day' + (g.i % 86400) * interval '1 s'",
        "decided_at": (
            "CASE WHEN (g.i * 7) % 10 BETWEEN 5 AND 8 "
            "THEN now() - (g.i % 400) * interval '1 day' + interval '5 days' END"
        ),
        "lock_version": "1",
        "due_date": (
            "CASE WHEN (g.i * 7) % 10 = 2 THEN NULL ELSE current_date + ((g.i * 13) % 121 - 60) END"
        ),
        "clock_paused_on": "CASE WHEN (g.i * 7) % 10 = 2 THEN current_date - 3 END",
        "open_days_left": "CASE WHEN (g.i * 7) % 10 = 2 THEN 4 END",
        "assignee_id": f"CASE WHEN g.i % 3 = 0 THEN {staff.pk} END",
        "staff_notified_at": "now()",
    }
    columns, values = [], []
    for field in Application._meta.concrete_fields:
        columns.append(connection.ops.quote_name(field.column))
        if field.column in expressions:
            values.append(expressions[field.column])
        elif field.null:
            values.append("NULL")
        elif field.get_default() is not None:
            values.append(queue._literal(field, field.get_default()))
        else:
            raise BenchError(f"counter_application.{field.column}: no value for the seed")
    # Built from the model's own columns and constants of this script, not from input.
    sql = (
        f"INSERT INTO counter_application ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(__LOW__, __HIGH__) AS g(i) "
        f"JOIN (VALUES {pick}) AS pr(k, procedure_id, version_id, unit_id, body_id) "
        f"ON pr.k = g.i % {len(procedures)}"
    )
    from django.db import InterfaceError, OperationalError

    for low in range(rows_from, rows_to + 1, batch):
        high = min(low + batch - 1, rows_to)
        for attempt in range(5):
            # A batch is one statement (autocommit): lost with its connection when
            # PostgreSQL restarts (another benchmark's fault), it is simply run again.
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO off")
                    cursor.execute(sql.replace("__LOW__", str(low)).replace("__HIGH__", str(high)))
                break
            except (OperationalError, InterfaceError) as exc:
                say(f"    batch {low:,}: {type(exc).__name__}; again (attempt {attempt + 2})")
                connection.close()
                time.sleep(3)
        else:
            raise BenchError(f"the batch from {low:,} failed five times")
        say(f"    {high:,} applications")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE counter_application")


def measure(env: dict, traced: bool) -> dict:
    code = MEASURE % {"body": UNIT[0], "unit": UNIT[1], "staff": STAFF, "traced": traced}
    for _attempt in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if done.returncode == 0:
            return json.loads(done.stdout.strip().splitlines()[-1])
        if "OperationalError" not in done.stderr:
            break
        say("    the database connection was lost (a restart?); measuring again")
        time.sleep(3)
    raise BenchError(f"the export failed:\n{done.stderr[-3000:]}")


def markdown(results: list[dict], ratios: dict, setup: dict) -> str:
    info = setup["machine"]
    met = all(value <= TARGET_RATIO for value in ratios.values())
    now = dt.datetime.now(dt.UTC)
    lines = [
        START_MARK,
        f"## Memory of the queue's CSV export at {results[0]['seeded']:,} and "
        f"{results[1]['seeded']:,} rows (`make bench`, bench/memory.py)",
        "",
        f"Run {now:%Y-%m-%d %H:%M} UTC on {info['cpu_model']}, {info['cores']} cores, "
        f"{info['ram']} RAM ({info['os']}); PostgreSQL {setup['postgres']}; revision "
        f"{_bench.git_revision()}; command `{_bench.invocation()}`.",
        "",
        "The back office's queue export (the CSV of a unit's applications, all states, as a "
        "staff member downloads it: GET /staff/queue/export.csv through the view and its "
        "StreamingHttpResponse) of one unit holding first the small and then the large "
        "number of applications, in the same run, each in a fresh process. Peak resident "
        "memory of that process (ru_maxrss, which includes the database driver's buffers) "
        "and the peak of Python's allocations while streaming (tracemalloc).",
        "",
        "| applications in the unit | rows written | CSV size | seconds | peak RSS | RSS before the request | tracemalloc peak |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['seeded']:,} | {r['rows']:,} | {r['bytes'] / 2**20:.1f} MiB | "
            f"{r['seconds']:.1f} | {r['rss_peak_mib']:.1f} MiB | {r['rss_before_mib']:.1f} MiB "
            f"| {_mib(r['tracemalloc_peak_mib'])} |"
        )
    lines += [
        "",
        f"Ratio large ÷ small: peak RSS {ratios['rss']:.2f}"
        + (
            f", tracemalloc peak {ratios['tracemalloc']:.2f}"
            if "tracemalloc" in ratios
            else " (tracemalloc not measured: `--tracemalloc`)"
        )
        + f" (target ≤ {TARGET_RATIO}: "
        f"{'met' if met else 'MISSED'}). Ten times the rows, the same memory: the rows are "
        f"read with a server-side cursor (`iterator(chunk_size=2000)`) and written line by "
        f"line.",
        "",
        END_MARK,
        "",
    ]
    return "\n".join(lines)


def write_docs(text: str) -> None:
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start, end = current.find(START_MARK), current.find(END_MARK)
    if start != -1 and end > start:
        current = current[:start] + text + current[end + len(END_MARK) :].lstrip("\n")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    DOCS.write_text(current)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="madoguchi_bench_memory")
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also the peak of Python's allocations (tracemalloc slows the export ~3x)",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return _main(args)
    except BenchError as exc:
        say(f"benchmark could not run: {exc}")
        return 2


def _main(args) -> int:
    from cryptography.fernet import Fernet

    pg = _bench.Postgres(args.pg_host, args.pg_port, args.pg_user)
    step(f"PostgreSQL at {pg.host}:{pg.port}")
    postgres_version = pg.ensure_up()
    pg.recreate(args.database)
    try:
        with tempfile.TemporaryDirectory(prefix="madoguchi-bench-memory-") as tmp:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "MADOGUCHI_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "DATABASE_URL": pg.url(args.database),
                "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
                "TASKS_BACKEND": "database",
                "MADOGUCHI_DATA_DIR": str(Path(tmp) / "data"),
                "LOG_LEVEL": "WARNING",
                "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
                "MADOGUCHI_DEMO_IDENTITY": "1",
                "MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION": "1",
                "SECURE_COOKIES": "0",
            }
            for name in ("DEBUG_SQL", "CACHE_URL", "EMAIL_HOST"):
                env.pop(name, None)
            os.environ.update(env)
            manage = [sys.executable, "-m", "madoguchi"]
            step("migrate, createcachetable, sample load")
            _bench._run([*manage, "migrate", "--no-input", "-v0"], env=env, what="migrate")
            _bench._run([*manage, "createcachetable"], env=env, what="createcachetable")
            _bench._run(
                [*manage, "sample", "load", "--force", "--without-applications"],
                env=env,
                what="sample load",
            )
            import django

            django.setup()
            results = []
            seeded = 0
            for size in (args.small, args.large):
                step(f"seeding the unit up to {size:,} applications")
                started = time.perf_counter()
                seed_unit(seeded + 1, size, args.batch)
                seeded = size
                say(f"    {time.perf_counter() - started:.0f} s")
                from django.db import connection

                connection.close()
                step(f"the queue export at {size:,} applications, in a fresh process")
                result = {"seeded": size, **measure(env, args.tracemalloc)}
                say(
                    f"    {result['rows']:,} rows, {result['bytes'] / 2**20:.1f} MiB in "
                    f"{result['seconds']:.1f} s; peak RSS {result['rss_peak_mib']:.1f} MiB, "
                    f"tracemalloc peak {_mib(result['tracemalloc_peak_mib'])}"
                )
                if result["rows"] < size:
                    raise BenchError(f"the export wrote {result['rows']} rows of {size}")
                results.append(result)
            small, large = results
            ratios = {"rss": large["rss_peak_mib"] / small["rss_peak_mib"]}
            if args.tracemalloc:
                ratios["tracemalloc"] = (
                    large["tracemalloc_peak_mib"] / small["tracemalloc_peak_mib"]
                )
            say(f"ratio large/small: {ratios}")
            section = markdown(
                results, ratios, {"machine": _bench.machine(), "postgres": postgres_version}
            )
    finally:
        if not args.keep_database:
            from django.db import connections

            connections.close_all()
            pg.drop(args.database)
    if not args.no_docs:
        write_docs(section)
    return 0 if all(value <= TARGET_RATIO for value in ratios.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
