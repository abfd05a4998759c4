"""`make bench`: the back office's queue at 1,000,000 applications (PostgreSQL).

Seeds a fresh PostgreSQL database with the sample municipality and 1,000,000 applications
(one INSERT … SELECT over generate_series per batch), then times the queue's list query —
one unit's overdue applications sorted by due date, the first page — through the service
layer (`backoffice.selectors.queue_page`, which builds the query, reads the rows into
queue rows and works out each row's due status) against the very same SQL and parameters run
raw on a cursor, alternately in the same run. Prints p50/p99 and the ratio, shows the query
plan (EXPLAIN ANALYZE, which must use an index), streams the CSV export of a unit's
100,000+ applications measuring its peak memory, and writes its section of
docs/benchmarks.md between its markers. See bench/README.md.

Exit status: 0 when the targets are met (ratio ≤ 2, p99 < 50 ms, an index scan), 1 when
one is missed (the result is still written), 2 when the benchmark could not run.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py, like the standard library's `queue` (which psycopg and
# threading use): its folder, which Python puts first on the path, must not shadow it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402


def _submission_benchmark():
    """bench/run.py, for its PostgreSQL and machine helpers (the same report header)."""
    spec = importlib.util.spec_from_file_location("bench_run", _HERE / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


_bench = _submission_benchmark()
DOCS = _bench.DOCS
BenchError = _bench.BenchError
Postgres = _bench.Postgres
_run = _bench._run
git_revision = _bench.git_revision
invocation = _bench.invocation
machine = _bench.machine
say = _bench.say
step = _bench.step

START_MARK = "<!-- bench:queue:start -->"
END_MARK = "<!-- bench:queue:end -->"
TARGET_RATIO = 2.0
TARGET_P99_MS = 50.0
# The unit measured (the sample's 生活環境課) gets this share of the applications.
UNIT_SHARE = 0.25
UNIT = ("992011", "seikatsu-kankyo")


# --- seeding ----------------------------------------------------------------------------


def _literal(field, value) -> str:
    """An SQL literal for a field's default, for the columns the seed does not set."""
    import json

    from django.db import models

    if value is None:
        return "NULL"
    if isinstance(field, models.JSONField):
        return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def seed(rows: int, batch: int) -> dict:
    """Inserts `rows` applications: a quarter in the measured unit, the rest in the other
    units that have procedures. About 40% are open, with due dates from 60 days ago to 60
    days ahead (so a tenth of the unit's applications is overdue); the rest are decided."""
    from django.db import connection

    from madoguchi.catalogue.models import Procedure
    from madoguchi.counter.models import Application
    from madoguchi.identity.models import User

    procedures = list(
        Procedure.objects.select_related("unit", "body").filter(current_version__isnull=False)
    )
    measured = [p for p in procedures if (p.body.code, p.unit.code) == UNIT]
    others = [p for p in procedures if (p.body.code, p.unit.code) != UNIT]
    if not measured or not others:
        raise BenchError("the sample has no procedure of 生活環境課 or of other units")
    applicant = User.objects.get(email="hanako@example.jp")
    staff = User.objects.get(email="kankyo.tanto@aoba.example.jp")
    # VALUES lists to pick a procedure by index (unit, body and version come with it).
    pick = ", ".join(
        f"({i}, {p.pk}, {p.current_version_id}, {p.unit_id}, {p.body_id})"
        for i, p in enumerate(measured + others)
    )
    n_measured, n_others = len(measured), len(others)
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
        "receipt_number": "'B' || lpad(g.i::text, 12, '0')",
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
        # Open ones are due from 60 days ago to 60 days ahead; a 補正 stops the clock.
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
        elif field.get_default() is not None:  # a default, or "" for a text field
            values.append(_literal(field, field.get_default()))
        else:
            raise BenchError(f"counter_application.{field.column}: no value for the seed")
    # A quarter to the measured unit (its procedures in turn), the rest spread over the
    # other units' procedures.
    choose = (
        f"CASE WHEN g.i % 4 = 0 THEN (g.i / 4) % {n_measured} "
        f"ELSE {n_measured} + g.i % {n_others} END"
    )
    # Built from the model's own columns and constants of this script, not from input.
    sql = (
        f"INSERT INTO counter_application ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(__LOW__, __HIGH__) AS g(i) "
        f"JOIN (VALUES {pick}) AS pr(k, procedure_id, version_id, unit_id, body_id) "
        f"ON pr.k = {choose}"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")  # the seed only, not the measurement
        for low in range(1, rows + 1, batch):
            high = min(low + batch - 1, rows)
            # No parameters: the expressions use %, and the bounds are our own integers.
            cursor.execute(sql.replace("__LOW__", str(low)).replace("__HIGH__", str(high)))
            say(f"    {high:,} applications")
        cursor.execute("RESET synchronous_commit")
        cursor.execute("VACUUM ANALYZE counter_application")
        cursor.execute("SELECT count(*) FROM counter_application")
        total = cursor.fetchone()[0]
    return {"seconds": time.perf_counter() - started, "rows": total}


# --- measuring --------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure(iterations: int, warmup: int) -> dict:
    from django.db import connection

    from madoguchi.backoffice import selectors
    from madoguchi.identity.models import User
    from madoguchi.organisation.models import Unit

    unit = Unit.objects.get(body__code=UNIT[0], code=UNIT[1])
    staff = User.objects.get(email="kankyo.tanto@aoba.example.jp")
    flt = selectors.QueueFilter(unit_id=unit.pk, overdue=True)
    on = dt.date.today()
    # The SQL and parameters the service layer runs, taken from its own queryset.
    queryset = selectors.queue(unit, flt, user=staff, on=on)[: selectors.PAGE_SIZE + 1]
    sql, params = (
        queryset.values_list(*selectors.LIST_COLUMNS).query.get_compiler(connection.alias).as_sql()
    )

    def service() -> int:
        return len(selectors.queue_page(unit, flt, user=staff, on=on).rows)

    def raw() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return len(cursor.fetchall()[: selectors.PAGE_SIZE])

    for _ in range(warmup):
        service(), raw()
    times = {"service": [], "raw": []}
    shown = set()
    for index in range(iterations):
        # Alternating, and starting with each in turn, so both meet the same conditions.
        order = (
            (("service", service), ("raw", raw))
            if index % 2
            else (("raw", raw), ("service", service))
        )
        for name, call in order:
            started = time.perf_counter_ns()
            count = call()
            times[name].append((time.perf_counter_ns() - started) / 1e6)
            shown.add(count)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT count(*) FROM counter_application WHERE unit_id = %s", [unit.pk])
        unit_rows = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM counter_application WHERE unit_id = %s AND due_date < %s "
            "AND state IN ('submitted','under_review','correction_requested','resubmitted',"
            "'awaiting_approval')",
            [unit.pk, on],
        )
        overdue = cursor.fetchone()[0]
    result = {
        name: {
            "p50": statistics.median(values),
            "p99": _percentile(values, 0.99),
            "mean": statistics.fmean(values),
            "max": max(values),
        }
        for name, values in times.items()
    }
    return {
        **result,
        "ratio_p50": result["service"]["p50"] / result["raw"]["p50"],
        "ratio_p99": result["service"]["p99"] / result["raw"]["p99"],
        "iterations": iterations,
        "rows_shown": sorted(shown),
        "unit_rows": unit_rows,
        "overdue": overdue,
        "plan": plan,
        "sql": sql,
        "index_used": "Index Scan using application_unit_due_idx" in plan
        or "Index Only Scan using application_unit_due_idx" in plan,
    }


def measure_export() -> dict:
    """Streams the CSV export of every application of the measured unit (all states),
    counting its lines and the peak of Python's allocations while it does."""
    from madoguchi.backoffice import export, selectors
    from madoguchi.identity.models import User
    from madoguchi.organisation.models import Unit

    unit = Unit.objects.get(body__code=UNIT[0], code=UNIT[1])
    staff = User.objects.get(email="kankyo.tanto@aoba.example.jp")
    flt = selectors.QueueFilter(unit_id=unit.pk, state="all")
    tracemalloc.start()
    started = time.perf_counter()
    lines = size = 0
    for line in export.stream(unit, flt, user=staff):
        lines += 1
        size += len(line.encode())
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": lines - 1, "bytes": size, "seconds": seconds, "peak_mib": peak / 2**20}


# --- reporting --------------------------------------------------------------------------


def markdown(result: dict, seeded: dict, export_result: dict, setup: dict) -> str:
    service, raw = result["service"], result["raw"]
    ratio_ok = result["ratio_p50"] <= TARGET_RATIO
    p99_ok = service["p99"] < TARGET_P99_MS
    met = ratio_ok and p99_ok and result["index_used"]
    info = setup["machine"]
    lines = [
        START_MARK,
        "## The back office's queue at 1,000,000 applications (`bench/queue.py`)",
        "",
        "_Written by `bench/queue.py`; the text between the markers is replaced on each run._",
        "",
        f"**Result: {'targets met' if met else 'target missed'}** — ratio "
        f"{result['ratio_p50']:.2f} (service ÷ raw SQL at p50; target ≤ {TARGET_RATIO:g}, "
        f"{'met' if ratio_ok else 'missed'}), p99 through the service layer "
        f"{service['p99']:.2f} ms (target < {TARGET_P99_MS:g} ms, "
        f"{'met' if p99_ok else 'missed'}), "
        f"{'an index scan' if result['index_used'] else 'NO index scan'} "
        "(application_unit_due_idx).",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{invocation()}`",
        f"- Machine: {info['cores']} cores ({info['cpu_model']}), {info['ram']} RAM, {info['os']}",
        f"- Load average (1 min) before / after measuring: {setup['load'][0]:.1f} / "
        f"{setup['load'][1]:.1f} — with other work on the machine both columns are slower "
        "than on an idle one; the ratio, measured in the same run, moves less",
        f"- Software: Python {sys.version.split()[0]}, Django {setup['django']}, "
        f"PostgreSQL {setup['postgres']}",
        f"- Code: commit {git_revision()}",
        "",
        f"Data: {seeded['rows']:,} applications seeded in {seeded['seconds']:.0f} s "
        f"(INSERT … SELECT over generate_series, then VACUUM ANALYZE); the measured unit "
        f"(あおば市 生活環境課) has {result['unit_rows']:,} of them, {result['overdue']:,} "
        "open and overdue. The query: that unit's overdue applications sorted by due date, "
        f"first page ({result['rows_shown'][-1] if result['rows_shown'] else 0} rows shown, "
        "one more read to know there is a next page), with the procedure's name and the "
        "assignee.",
        "",
        "| | through the service layer | the same SQL, raw |",
        "|---|---:|---:|",
        f"| p50 | **{service['p50']:.2f} ms** | {raw['p50']:.2f} ms |",
        f"| p99 | **{service['p99']:.2f} ms** | {raw['p99']:.2f} ms |",
        f"| mean | {service['mean']:.2f} ms | {raw['mean']:.2f} ms |",
        f"| max | {service['max']:.2f} ms | {raw['max']:.2f} ms |",
        f"| runs | {result['iterations']} | {result['iterations']} |",
        "",
        f"**Ratio service ÷ raw: {result['ratio_p50']:.2f} at p50, "
        f"{result['ratio_p99']:.2f} at p99.**",
        "",
        "How it ran: in one process, with production settings (`DEBUG=0`), on a warm "
        "cache (warm-up runs first); the service layer is "
        "`backoffice.selectors.queue_page(unit, QueueFilter(overdue=True))`, which builds "
        "the queryset, reads the rows (with the procedure's name and the assignee) into "
        "queue rows, and works out each row's due status (open days late) — what the queue "
        "page and the API do before rendering. The raw run executes the SQL and "
        "parameters that queryset compiles to, on a cursor, and fetches the rows. The two "
        "alternate, each going first every other time.",
        "",
        "The SQL:",
        "",
        "```sql",
        result["sql"],
        "```",
        "",
        "The plan (`EXPLAIN (ANALYZE, BUFFERS)`):",
        "",
        "```",
        result["plan"],
        "```",
        "",
        f"CSV export of the unit's {export_result['rows']:,} applications (all states), "
        f"streamed: {export_result['bytes'] / 2**20:.1f} MiB of CSV in "
        f"{export_result['seconds']:.1f} s, peak Python memory while streaming "
        f"{export_result['peak_mib']:.1f} MiB (tracemalloc, which also slows it down): "
        "the rows are read from a server-side cursor in chunks of 2,000 and written one "
        "line at a time, never held together.",
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


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--database", default="madoguchi_bench_queue")
    parser.add_argument("--rows", type=int, default=1_000_000, help="applications to seed")
    parser.add_argument("--batch", type=int, default=250_000, help="rows per INSERT")
    parser.add_argument("--iterations", type=int, default=400, help="timed runs of each")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.batch < 1 or args.iterations < 10 or args.warmup < 0:
        parser.error("--rows ≥ 1000, --batch ≥ 1, --iterations ≥ 10, --warmup ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _main(args)
    except BenchError as exc:
        say(f"benchmark could not run: {exc}")
        return 2


def _main(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    pg = Postgres(args.pg_host, args.pg_port, args.pg_user)
    step(f"PostgreSQL at {pg.host}:{pg.port}")
    postgres_version = pg.ensure_up()
    step(f"fresh database {args.database}")
    pg.recreate(args.database)
    try:
        with tempfile.TemporaryDirectory(prefix="madoguchi-bench-queue-") as tmp:
            env = {
                "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "MADOGUCHI_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "DATABASE_URL": pg.url(args.database),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "TASKS_BACKEND": "database",
                "MADOGUCHI_DATA_DIR": str(Path(tmp) / "data"),
                "LOG_LEVEL": "WARNING",
                "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
            }
            for name in ("DEBUG_SQL", "CACHE_URL", "EMAIL_HOST"):
                os.environ.pop(name, None)
            os.environ.update(env)
            manage = [sys.executable, "-m", "madoguchi"]
            step("migrate, sample load")
            # No system checks: the signing keys they ask for play no part in the queue.
            _run(
                [*manage, "migrate", "--no-input", "-v0", "--skip-checks"],
                env=dict(os.environ),
                what="migrate",
            )
            _run(
                [*manage, "sample", "--skip-checks", "load", "--force", "--without-applications"],
                env=dict(os.environ),
                what="sample load",
            )
            import django

            django.setup()
            step(f"seeding {args.rows:,} applications")
            seeded = seed(args.rows, args.batch)
            step(f"timing the queue's list query, {args.iterations} runs each")
            load_before = os.getloadavg()[0]
            result = measure(args.iterations, args.warmup)
            load_after = os.getloadavg()[0]
            step("streaming the CSV export of the unit")
            export_result = measure_export()
            from django.db import connection

            connection.close()
            section = markdown(
                result,
                seeded,
                export_result,
                {
                    "machine": machine(),
                    "django": django.get_version(),
                    "postgres": postgres_version,
                    "load": (load_before, load_after),
                },
            )
    finally:
        if not args.keep_database:
            with contextlib.suppress(Exception):
                pg.drop(args.database)
    say(section)
    if not args.no_docs:
        write_docs(section)
        step(f"written to {DOCS}")
    met = (
        result["ratio_p50"] <= TARGET_RATIO
        and result["service"]["p99"] < TARGET_P99_MS
        and result["index_used"]
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
