"""`make bench`: the ledger (issue 4) on PostgreSQL, with production settings.

Three measurements, in one run on one machine:

1. **Submissions with and without the ledger.** gunicorn (4 sync workers) takes complete
   applications at POST /api/applications (wrk, as bench/run.py does), alternately with
   the ledger off (the queue trigger disabled, no sequencer: events are written as before
   issue 4) and on (trigger on, `madoguchi ledger sequence --interval 2` running beside
   the server). Target: submissions/s with the ledger ≥ 90 % of without.
2. **Appends under concurrent writers.** End to end (the target): --writers processes
   write events through `record_event` (one per transaction, as requests do) as fast as
   they can while the sequencer runs, from an empty queue; appends/s is the writers'
   events in the Merkle log ÷ the time from their start until the last one is in a signed
   checkpoint. Target: ≥ 5,000 appends/s. The same with the cheapest writer (psycopg
   without Django), and that writer with the ledger off: what one-event-per-transaction
   writers commit on these cores at all. Then the sequencer's capacity: a backlog of
   --entries events, the writers at --writer-rate, and the entries committed meanwhile.
3. **Verification of the export.** `madoguchi ledger export` of the (≥ 1,000,000-entry)
   log, then the offline verifier (tools/verifier.py, standard library + cryptography)
   against `sha256sum` over the same leaf bytes (entries.jsonl). Target: ≤ 3× sha256sum.

Writes its section of docs/benchmarks.md between <!-- bench:ledger:start --> and
<!-- bench:ledger:end -->. Exit status 0 when the targets are met, 1 when one is missed or
a check fails, 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# `python bench/ledger.py` puts bench/ first on the path, where bench/queue.py would hide
# the standard library's queue (which psycopg imports): take bench/ off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _load_submission_benchmark():
    """bench/run.py, for its server, wrk and machine helpers. Loaded by path: bench/ has
    scripts named like standard modules (queue.py), so it must not go on sys.path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_run", Path(__file__).resolve().parent / "run.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


submission = _load_submission_benchmark()

ROOT = submission.ROOT
DOCS = submission.DOCS
START_MARK = "<!-- bench:ledger:start -->"
END_MARK = "<!-- bench:ledger:end -->"
TARGET_APPENDS = 5000.0
TARGET_SUBMISSION_RATIO = 0.9
TARGET_VERIFY_RATIO = 3.0
BODY = "992011"

say, step, BenchError = submission.say, submission.step, submission.BenchError

WRITER = r"""
import os, sys, time, django
django.setup()
from django.db import transaction
from madoguchi.ledger.services import record_event
from madoguchi.organisation.models import Body
body = Body.objects.get(code=os.environ["BENCH_BODY"])
print("ready", flush=True)
sys.stdin.readline()  # all writers start together, after their start-up
started = time.monotonic()
deadline = started + float(sys.argv[1])
written = 0
worker = int(sys.argv[2])
rate = float(sys.argv[3])
while time.monotonic() < deadline:
    if rate and time.monotonic() < started + written / rate:
        time.sleep(max(started + written / rate - time.monotonic(), 0))
        continue
    with transaction.atomic():
        record_event(
            event_type="bench.written",
            actor_kind="resident",
            actor_id=worker * 1_000_000 + written,
            subject_type="application",
            subject_id=f"w{worker}-{written}",
            body_id=body.pk,
            content={"worker": worker, "n": written},
            details={"procedure": "dog-registration", "procedure_version": 1,
                     "receipt_number": f"261201-{worker:02d}{written:06d}", "files": []},
        )
    written += 1
print(written)
"""

# The cheapest writer there is, for comparison with WRITER in the same run: psycopg
# without Django, one prepared INSERT of the same event and a COMMIT per event. What it
# reaches is what one-event-per-transaction writers can reach on these cores at all.
BARE_WRITER = r"""
import hashlib, json, os, sys, time, psycopg
conn = psycopg.connect(os.environ["DATABASE_URL"], prepare_threshold=0)
body = conn.execute("SELECT id FROM organisation_body WHERE code = %s",
                    [os.environ["BENCH_BODY"]]).fetchone()[0]
conn.commit()
insert = ("INSERT INTO ledger_event (occurred_at, event_type, actor_kind, actor_id, "
          "subject_type, subject_id, content_sha256, details, body_id) "
          "VALUES (now(), 'bench.written', 'resident', %s, 'application', %s, %s, %s, %s)")
print("ready", flush=True)
sys.stdin.readline()
deadline = time.monotonic() + float(sys.argv[1])
written = 0
worker = int(sys.argv[2])
while time.monotonic() < deadline:
    content = json.dumps({"n": written, "worker": worker}, separators=(",", ":")).encode()
    details = json.dumps({"procedure": "dog-registration", "procedure_version": 1,
                          "receipt_number": f"261201-{worker:02d}{written:06d}", "files": []})
    conn.execute(insert, (str(worker * 1_000_000 + written), f"b{worker}-{written}",
                          hashlib.sha256(content).hexdigest(), details, body))
    conn.commit()
    written += 1
print(written)
"""

PREFILL = """
INSERT INTO ledger_event (occurred_at, event_type, actor_kind, actor_id, subject_type,
                          subject_id, content_sha256, details, body_id)
SELECT now(), 'application.submitted', 'resident', (i %% 50000)::text, 'application',
       md5(i::text), md5(i::text) || md5((i + 1)::text),
       jsonb_build_object('procedure', 'dog-registration', 'procedure_version', 1,
                          'receipt_number', '261201-' || lpad(i::text, 8, '0'),
                          'applicant_role', 'self',
                          'files', jsonb_build_array(md5((i + 2)::text) || md5((i + 3)::text))),
       %s
FROM generate_series(1, %s) AS i
"""


def _sql(pg, dbname: str, statement: str, params=None) -> None:
    with pg.connect(dbname) as conn:
        conn.execute(statement, params)


def _scalar(pg, dbname: str, statement: str, params=None):
    with pg.connect(dbname) as conn:
        return conn.execute(statement, params).fetchone()[0]


class Process:
    """A background command (the sequencer), stopped with SIGTERM (it finishes its batch)."""

    def __init__(self, cmd: list[str], env: dict, log: Path) -> None:
        self.log = log.open("a")
        self.process = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )

    def cpu_seconds(self) -> float:
        try:
            rest = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(rest[11]) + int(rest[12])) / submission.CLOCK_TICKS

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


# --- 1. submissions with and without the ledger -------------------------------------------


def measure_submissions(args, pg, env, tmpdir: Path) -> dict:
    manage = [sys.executable, "-m", "madoguchi"]
    prepared = json.loads(
        submission._run([*manage, "benchmark", "--skip-checks", "prepare"], env=env, what="prepare")
    )
    token = prepared["token"]
    body = json.dumps(prepared["payload"], ensure_ascii=False).encode()
    payload_file = tmpdir / "payload.json"
    payload_file.write_bytes(body)
    port = submission._free_port()
    base_url = f"http://127.0.0.1:{port}"
    gunicorn_args = [
        "--workers", str(args.workers), "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
        "--worker-tmp-dir", "/dev/shm" if Path("/dev/shm").is_dir() else str(tmpdir),
        "--timeout", "60", "--log-level", "warning", "madoguchi.wsgi:application",
    ]  # fmt: skip
    server = submission.Server(
        [sys.executable, "-m", "gunicorn", *gunicorn_args], env, tmpdir / "gunicorn.log", base_url
    )
    wrk_args = argparse.Namespace(threads=args.threads, connections=args.connections)
    results: dict[str, list] = {"off": [], "on": []}
    sequencer = None
    try:
        step(f"gunicorn, {args.workers} sync workers, on {base_url}")
        server.start()
        status, text = submission.post_once(base_url + submission.SUBMIT_PATH, body, token)
        if status != 201:
            raise BenchError(f"POST {submission.SUBMIT_PATH} answered {status}: {text[:500]}")
        common = {
            "base_url": base_url,
            "path": submission.SUBMIT_PATH,
            "payload_file": payload_file,
            "token": token,
            "args": wrk_args,
            "server_pgid": server.process.pid,
        }
        step(f"warm-up, {args.warmup:g} s")
        submission.run_wrk(name="warm-up", duration=args.warmup, **common)
        for round_number in range(args.rounds):
            for mode in ("off", "on"):
                if mode == "off":
                    if sequencer is not None:
                        sequencer.stop()
                        sequencer = None
                    _sql(
                        pg,
                        args.database,
                        "ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_queue",
                    )
                else:
                    _sql(
                        pg,
                        args.database,
                        "ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_queue",
                    )
                    sequencer = Process(
                        [*manage, "ledger", "sequence", "--interval", "2"],
                        env,
                        tmpdir / "sequencer.log",
                    )
                pg.checkpoint()
                submission.wait_for_quiet(args.quiet_threshold, args.max_wait)
                step(
                    f"round {round_number + 1}: submissions with the ledger {mode}, {args.duration:g} s"
                )
                result = submission.run_wrk(name=f"ledger {mode}", duration=args.duration, **common)
                say(f"    {result.ok_per_s:.1f} submissions/s, statuses {result.statuses}")
                if result.not_ok:
                    raise BenchError(f"non-2xx responses: {result.statuses}\n{server.log_tail()}")
                results[mode].append(result)
    finally:
        if sequencer is not None:
            sequencer.stop()
        _sql(pg, args.database, "ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_queue")
        server.stop()
    # Events written while the trigger was off are queued now, so that the log ends up
    # with every event (and the check below can say so).
    _sql(
        pg,
        args.database,
        "INSERT INTO ledger_pendingevent (event_id) SELECT e.id FROM ledger_event e "
        "WHERE NOT EXISTS (SELECT 1 FROM ledger_entry n WHERE n.event_id = e.id) "
        "ON CONFLICT DO NOTHING",
    )
    off = sum(r.ok for r in results["off"]) / sum(r.duration_s for r in results["off"])
    on = sum(r.ok for r in results["on"]) / sum(r.duration_s for r in results["on"])
    return {
        "off_per_s": off,
        "on_per_s": on,
        "ratio": on / off if off else 0.0,
        "rounds": [
            {
                "off": a.ok_per_s,
                "on": b.ok_per_s,
                "p99_off": a.latency_ms["p99"],
                "p99_on": b.latency_ms["p99"],
            }
            for a, b in zip(results["off"], results["on"], strict=True)
        ],
        "gunicorn": shlex.join(["gunicorn", *gunicorn_args]),
    }


# --- 2. appends under concurrent writers ----------------------------------------------------


def _start_writers(args, env, rate: float, code: str = WRITER) -> list[subprocess.Popen]:
    """--writers processes of WRITER (or BARE_WRITER), started and waited for."""
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(args.write_seconds), str(number), str(rate)],
            env={**env, "BENCH_BODY": BODY},
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(args.writers)
    ]
    for writer in writers:
        if writer.stdout.readline().strip() != "ready":
            raise BenchError(f"a writer did not start: {writer.stderr.read()[-2000:]}")
    return writers


def _finish_writers(args, writers: list[subprocess.Popen]) -> int:
    outputs = [writer.communicate(timeout=args.write_seconds + 120) for writer in writers]
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        if writer.returncode != 0:
            raise BenchError(f"a writer failed: {err[-2000:]}")
    return sum(int(out.strip().splitlines()[-1]) for out, _err in outputs)


def measure_end_to_end(
    args, pg, env, tmpdir: Path, *, code: str = WRITER, ledger: bool = True
) -> dict:
    """Appends as the issue means them: events written by concurrent writers (one event per
    transaction, as fast as they can) and sequenced into the Merkle log, from the writers'
    start until the last of their events is in a signed checkpoint. The queue is empty at
    the start, so every entry counted is a writer's event.

    With `ledger=False` the same writers write with the queue trigger disabled and no
    sequencer: what they write then is the most they commit without the ledger. Their
    events are queued afterwards (the next measurement's backlog takes them)."""

    def count(table: str) -> int:
        return _scalar(pg, args.database, f"SELECT count(*) FROM {table}")  # noqa: S608

    manage = [sys.executable, "-m", "madoguchi"]
    kind = "record_event" if code is WRITER else "bare psycopg"
    step(
        f"end to end: {args.writers} writers ({kind}, ledger {'on' if ledger else 'off'}) as "
        f"fast as they can for {args.write_seconds:g} s"
    )
    # Events queued by the step before (the submissions written with the ledger off) are
    # appended first: every entry counted below must be one of the writers' events.
    while count("ledger_pendingevent"):
        submission._run([*manage, "ledger", "sequence"], env=env, what="sequence")
    sequencer = None
    if ledger:
        sequencer = Process(
            [
                *manage,
                "ledger",
                "sequence",
                "--interval",
                "0.2",
                "--batch-size",
                str(args.batch_size),
            ],
            env,
            tmpdir / "sequencer.log",
        )
    else:
        _sql(pg, args.database, "ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_queue")
    pg.checkpoint()
    try:
        writers = _start_writers(args, env, 0, code)
        before_entries = count("ledger_entry")
        before_cpu = sequencer.cpu_seconds() if sequencer else 0.0
        before_sample = submission.cpu_sample(os.getpid())
        started = time.monotonic()
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        written = _finish_writers(args, writers)
        writing_s = time.monotonic() - started
        while sequencer is not None and count("ledger_pendingevent"):
            time.sleep(0.05)
            if sequencer.process.poll() is not None:
                raise BenchError("the sequencer stopped")
        total_s = time.monotonic() - started
        after_sample = submission.cpu_sample(os.getpid())
        appended = count("ledger_entry") - before_entries
        cpu = sequencer.cpu_seconds() - before_cpu if sequencer else 0.0
    finally:
        if sequencer is not None:
            sequencer.stop()
        else:
            _sql(pg, args.database, "ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_queue")
            _sql(
                pg,
                args.database,
                "INSERT INTO ledger_pendingevent (event_id) SELECT e.id FROM ledger_event e "
                "WHERE NOT EXISTS (SELECT 1 FROM ledger_entry n WHERE n.event_id = e.id) "
                "ON CONFLICT DO NOTHING",
            )
    # Said at once: a later step that fails must not take this result with it.
    say(
        f"    end to end ({kind}, ledger {'on' if ledger else 'off'}): {written:,} events "
        f"written in {writing_s:.1f} s ({written / writing_s:,.0f}/s), {appended:,} in the "
        f"log after {total_s:.1f} s: {appended / total_s:,.0f} appends/s; sequencer CPU "
        f"{cpu * 1e6 / max(appended, 1):.0f} µs per append"
    )
    return {
        "written": written,
        "writing_s": writing_s,
        "written_per_s": written / writing_s,
        "appended": appended,
        "total_s": total_s,
        "appends_per_s": appended / total_s,
        "lag_s": total_s - writing_s,
        "sequencer_us": cpu * 1e6 / max(appended, 1),
        "postgres_cpu_s": submission._ticks_used(before_sample.postgres, after_sample.postgres),
        "machine_busy": (after_sample.machine_busy - before_sample.machine_busy) / total_s,
    }


def measure_appends(args, pg, env, tmpdir: Path) -> dict:
    body_id = _scalar(pg, args.database, "SELECT id FROM organisation_body WHERE code = %s", [BODY])
    have = _scalar(pg, args.database, "SELECT count(*) FROM ledger_event")
    backlog = max(args.entries - have, 0)
    step(
        f"a backlog of {backlog:,} events (SQL), then {args.writers} writers for {args.write_seconds:g} s"
    )
    started = time.monotonic()
    _sql(pg, args.database, PREFILL, [body_id, backlog])
    prefill_s = time.monotonic() - started
    pg.checkpoint()

    def entries() -> int:
        return _scalar(pg, args.database, "SELECT count(*) FROM ledger_entry")

    manage = [sys.executable, "-m", "madoguchi"]
    writer_env = {**env, "BENCH_BODY": BODY}
    sequencer = Process(
        [*manage, "ledger", "sequence", "--interval", "0.2", "--batch-size", str(args.batch_size)],
        env,
        tmpdir / "sequencer.log",
    )
    try:
        writers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WRITER,
                    str(args.write_seconds),
                    str(number),
                    str(args.writer_rate),
                ],
                env=writer_env,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for number in range(args.writers)
        ]
        for writer in writers:  # Django started in each: the window starts now
            if writer.stdout.readline().strip() != "ready":
                raise BenchError(f"a writer did not start: {writer.stderr.read()[-2000:]}")
        before_entries, before_cpu, before_sample = (
            entries(),
            sequencer.cpu_seconds(),
            submission.cpu_sample(os.getpid()),
        )
        window_start = time.monotonic()
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        outputs = [writer.communicate(timeout=args.write_seconds + 120) for writer in writers]
        window = time.monotonic() - window_start
        during_entries, during_cpu, after_sample = (
            entries(),
            sequencer.cpu_seconds(),
            submission.cpu_sample(os.getpid()),
        )
        for writer, (_out, err) in zip(writers, outputs, strict=True):
            if writer.returncode != 0:
                raise BenchError(f"a writer failed: {err[-2000:]}")
        written = sum(int(out.strip().splitlines()[-1]) for out, _err in outputs)
        # The sequencer alone on the backlog for a while: its rate and CPU per append
        # without writers (PostgreSQL's CPU is then the sequencer's backend's).
        step("the sequencer alone on the rest of the backlog")
        alone_before = (
            entries(),
            sequencer.cpu_seconds(),
            submission.cpu_sample(os.getpid()),
            time.monotonic(),
        )
        time.sleep(args.write_seconds)
        alone_after = (
            entries(),
            sequencer.cpu_seconds(),
            submission.cpu_sample(os.getpid()),
            time.monotonic(),
        )
        step("waiting for the sequencer to take the rest of the backlog")
        while _scalar(pg, args.database, "SELECT count(*) FROM ledger_pendingevent"):
            time.sleep(1)
            if sequencer.process.poll() is not None:
                raise BenchError(
                    f"the sequencer stopped:\n{(tmpdir / 'sequencer.log').read_text()[-2000:]}"
                )
        drained = time.monotonic() - window_start
        say(
            f"    backlog: {during_entries - before_entries:,} appended in the writers' {window:.1f} s "
            f"window ({(during_entries - before_entries) / window:,.0f}/s); alone "
            f"{(alone_after[0] - alone_before[0]) / (alone_after[3] - alone_before[3]):,.0f}/s"
        )
        total_entries = entries()
    finally:
        sequencer.stop()
    postgres_cpu = submission._ticks_used(before_sample.postgres, after_sample.postgres)
    alone_postgres_cpu = submission._ticks_used(alone_before[2].postgres, alone_after[2].postgres)
    alone_appended = alone_after[0] - alone_before[0]
    alone_window = alone_after[3] - alone_before[3]
    appended = during_entries - before_entries
    events = _scalar(pg, args.database, "SELECT count(*) FROM ledger_event")
    duplicates = _scalar(
        pg, args.database, "SELECT count(*) - count(DISTINCT event_id) FROM ledger_entry"
    )
    return {
        "backlog": backlog,
        "prefill_s": prefill_s,
        "writers": args.writers,
        "window_s": window,
        "written": written,
        "written_per_s": written / window,
        "appended": appended,
        "appends_per_s": appended / window,
        "sequencer_cpu_s": during_cpu - before_cpu,
        "postgres_cpu_s": postgres_cpu,
        "drained_s": drained,
        "alone_per_s": alone_appended / alone_window if alone_window else 0.0,
        "alone_sequencer_us": (alone_after[1] - alone_before[1]) * 1e6 / max(alone_appended, 1),
        "alone_postgres_us": alone_postgres_cpu * 1e6 / max(alone_appended, 1),
        "alone_machine_busy": (alone_after[2].machine_busy - alone_before[2].machine_busy)
        / alone_window
        if alone_window
        else 0.0,
        "entries": total_entries,
        "events": events,
        "duplicates": duplicates,
        "machine_busy": (after_sample.machine_busy - before_sample.machine_busy) / window,
    }


# --- 3. verifying the export -----------------------------------------------------------------


def _timed(cmd: list[str], env=None) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system, of the command and its children)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise BenchError(
            f"{cmd[0]} failed (exit {result.returncode}): {result.stdout[-1500:]}{result.stderr[-1500:]}"
        )
    return elapsed, cpu, result.stdout


def measure_verification(args, pg, env, tmpdir: Path, key_dir: Path) -> dict:
    manage = [sys.executable, "-m", "madoguchi"]
    export = tmpdir / "export"
    step(f"madoguchi ledger export (log {BODY})")
    export_s, _cpu, _out = _timed(
        [*manage, "ledger", "export", str(export), "--log", BODY], env=env
    )
    keys = tmpdir / "public-keys.txt"
    keys.write_text(_public_keys(key_dir))
    entries_file = export / "logs" / BODY / "entries.jsonl"
    size = entries_file.stat().st_size
    lines = sum(1 for _ in entries_file.open("rb"))
    verifier = [
        sys.executable,
        str(export / "tools" / "verifier.py"),
        str(export),
        "--public-key",
        str(keys),
    ]
    plain_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    sha, ver = [], []
    step(
        f"verifying {lines:,} entries ({size / 1e6:.0f} MB) against sha256sum, best of {args.verify_repeats}"
    )
    for _repeat in range(args.verify_repeats):
        wall, cpu, _ = _timed(["sha256sum", str(entries_file)])
        sha.append((wall, cpu))
        wall, cpu, output = _timed(verifier, env=plain_env)
        ver.append((wall, cpu))
        if "ok:" not in output:
            raise BenchError(f"the verifier did not verify the export: {output[-1000:]}")
    sha_wall, sha_cpu = min(w for w, _ in sha), min(c for _, c in sha)
    ver_wall, ver_cpu = min(w for w, _ in ver), min(c for _, c in ver)
    return {
        "entries": lines,
        "bytes": size,
        "export_s": export_s,
        "sha256sum_wall": sha_wall,
        "sha256sum_cpu": sha_cpu,
        "verify_wall": ver_wall,
        "verify_cpu": ver_cpu,
        "repeats": len(sha),
        "ratio_cpu": ver_cpu / sha_cpu if sha_cpu else 0.0,
        "ratio_wall": ver_wall / sha_wall if sha_wall else 0.0,
        "verifier_output": output.strip(),
    }


def _public_keys(key_dir: Path) -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from madoguchi.ledger.note import Signer

    lines = []
    for path in sorted(key_dir.glob("*.key")):
        key = next(
            line for line in path.read_text().splitlines() if line and not line.startswith("#")
        )
        lines.append(Signer.from_string(key).verifier().to_string())
    return "\n".join(lines) + "\n"


# --- reporting -------------------------------------------------------------------------------


def section(results: dict, setup: dict) -> str:
    sub, app, ver = results["submissions"], results["appends"], results["verify"]
    e2e, bare, off = results["end_to_end"], results["bare_end_to_end"], results["bare_ledger_off"]
    met = {
        "appends": e2e["appends_per_s"] >= TARGET_APPENDS,
        "submissions": sub["ratio"] >= TARGET_SUBMISSION_RATIO,
        "verify": ver["ratio_cpu"] <= TARGET_VERIFY_RATIO,
        "consistent": not results["problems"],
    }

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    e2e_w = setup["writers"]
    rounds = "; ".join(
        f"round {i + 1}: {r['off']:.1f} off / {r['on']:.1f} on (p99 {r['p99_off']:.0f} / {r['p99_on']:.0f} ms)"
        for i, r in enumerate(sub["rounds"])
    )
    lines = [
        START_MARK,
        "## The ledger: appends, submissions with the ledger, offline verification (`make bench`)",
        "",
        "_Written by `bench/ledger.py`; the text between the markers is replaced on each run._",
        "",
        f"**Result: {'all targets met' if all(met.values()) else 'target missed'}** — "
        f"appends end to end (events written by {e2e_w} concurrent writers and sequenced into the log) {e2e['appends_per_s']:,.0f}/s (target ≥ {TARGET_APPENDS:,.0f}, {verdict(met['appends'])}); "
        f"the same with the cheapest writer (psycopg, no Django) {bare['appends_per_s']:,.0f}/s, and that writer alone with no ledger at all commits {off['written_per_s']:,.0f} events/s; "
        f"the sequencer on a backlog while writers write {app['appends_per_s']:,.0f}/s; "
        f"submissions with the ledger {sub['ratio']:.0%} of without (target ≥ {TARGET_SUBMISSION_RATIO:.0%}, {verdict(met['submissions'])}); "
        f"verifying {ver['entries']:,} entries {ver['ratio_cpu']:.2f}× sha256sum in CPU time, {ver['ratio_wall']:.2f}× in wall-clock time (target ≤ {TARGET_VERIFY_RATIO:g}×, {verdict(met['verify'])}).",
        "",
        f"- Date: {setup['date']}",
        f"- Command: `{setup['command']}`",
        f"- Machine: {setup['cores']} cores ({setup['cpu_model']}), {setup['ram']} RAM, {setup['os']}; load average at the start {setup['load_start']}, at the end {setup['load_end']} (the machine is shared with other work: wall-clock rates are lower than on a quiet machine, CPU per item is reported beside them)",
        f"- Software: Python {setup['python']}, PostgreSQL {setup['postgres']}, {setup['wrk']}",
        f"- Code: commit {setup['git']}",
        "",
        "| measurement | result |",
        "|---|---:|",
        f"| submissions/s, ledger off (trigger disabled, no sequencer) | {sub['off_per_s']:.1f} |",
        f"| submissions/s, ledger on (queue trigger, `madoguchi ledger sequence --interval 2`) | {sub['on_per_s']:.1f} |",
        f"| ratio on ÷ off | **{sub['ratio']:.2f}** |",
        f"| **end to end**: {e2e_w} writers (`record_event`, one event per transaction, as fast as they can) for {setup['write_seconds']} s, the queue empty at the start | {e2e['written']:,} events written in {e2e['writing_s']:.1f} s ({e2e['written_per_s']:,.0f}/s) |",
        f"| **end to end**: the writers' events in the log, ÷ the time from the writers' start until the last one is in a signed checkpoint | **{e2e['appended']:,} entries in {e2e['total_s']:.1f} s: {e2e['appends_per_s']:,.0f} appends/s** (the last in {e2e['lag_s']:.1f} s after the writers stopped) |",
        f"| end to end: sequencer CPU per append; machine busy (of {setup['cores']} cores) | {e2e['sequencer_us']:.0f} µs; {e2e['machine_busy'] / int(setup['cores']):.0%} |",
        f"| end to end, the cheapest writer: {e2e_w} processes of psycopg without Django (a prepared INSERT of the same event and a COMMIT per event) | {bare['written']:,} events written in {bare['writing_s']:.1f} s ({bare['written_per_s']:,.0f}/s); **{bare['appended']:,} in the log in {bare['total_s']:.1f} s: {bare['appends_per_s']:,.0f} appends/s**; sequencer {bare['sequencer_us']:.0f} µs per append; machine {bare['machine_busy'] / int(setup['cores']):.0%} busy |",
        f"| the cheapest writer with the ledger off (queue trigger disabled, no sequencer): what one-event-per-transaction writers commit on these cores at all | {off['written']:,} events in {off['writing_s']:.1f} s: **{off['written_per_s']:,.0f}/s**; machine {off['machine_busy'] / int(setup['cores']):.0%} busy |",
        f"| backlog: concurrent writers (`record_event`, one event per transaction, {setup['writer_rate']}) | {app['writers']} processes, {app['written']:,} events in {app['window_s']:.1f} s ({app['written_per_s']:,.0f}/s) |",
        f"| backlog: appended to the Merkle log meanwhile (mostly the backlog: the sequencer's capacity under concurrent writers) | **{app['appended']:,} entries, {app['appends_per_s']:,.0f}/s** |",
        f"| sequencer CPU per append meanwhile | {app['sequencer_cpu_s'] * 1e6 / max(app['appended'], 1):.0f} µs |",
        f"| machine busy during the window (of {setup['cores']} cores) | {app['machine_busy'] / int(setup['cores']):.0%} |",
        f"| the sequencer alone on the backlog ({setup['write_seconds']} s) | {app['alone_per_s']:,.0f} appends/s; CPU per append: sequencer {app['alone_sequencer_us']:.0f} µs, PostgreSQL {app['alone_postgres_us']:.0f} µs; machine {app['alone_machine_busy'] / int(setup['cores']):.0%} busy |",
        f"| what the CPU per append allows (one core for the sequencer and its backend) | {1e6 / max(app['alone_sequencer_us'] + app['alone_postgres_us'], 1):,.0f} appends/s |",
        f"| log after the run | {app['entries']:,} entries for {app['events']:,} events, {app['duplicates']} duplicates |",
        f"| export of the log (`madoguchi ledger export --log {BODY}`) | {ver['entries']:,} entries, {ver['bytes'] / 1e6:.0f} MB, {ver['export_s']:.1f} s |",
        f"| `sha256sum entries.jsonl`: wall-clock / CPU (best of {ver['repeats']}) | {ver['sha256sum_wall']:.2f} s / {ver['sha256sum_cpu']:.2f} s |",
        f"| `python tools/verifier.py`: wall-clock / CPU (best of {ver['repeats']}) | {ver['verify_wall']:.2f} s / {ver['verify_cpu']:.2f} s |",
        f"| verifier ÷ sha256sum: CPU / wall-clock | **{ver['ratio_cpu']:.2f}×** / {ver['ratio_wall']:.2f}× |",
        "",
        f"Consistency: {'every event is in the log exactly once' if not results['problems'] else '**problems:** ' + '; '.join(results['problems'])}.",
        "",
        "How it ran:",
        "",
        "- Production settings (`DEBUG=0`, `TASKS_BACKEND=database`), a fresh database, keys made with `madoguchi ledger keygen`; PostgreSQL `CHECKPOINT` before each measured run.",
        f"- Submissions: `{sub['gunicorn']}`, wrk {setup['threads']} threads, {setup['connections']} connections, {setup['duration']} s per run, the modes alternated ({rounds}). The same server serves both modes; the sequencer runs beside it on the same cores.",
        "- Appends/s, the target: events written by the concurrent writers *and* sequenced into the Merkle log (a leaf, tiles, a signed checkpoint, in one commit), end to end: the count of the writers' entries divided by the time from the writers' start until the last of them is in the log. It is bounded by what the writers manage to write on the same cores: the cheapest writer with the ledger off measures that bound in the same run (a transaction's COMMIT costs PostgreSQL CPU whatever it writes).",
        f"- Sequencer capacity: a backlog of {app['backlog']:,} events inserted with SQL ({app['prefill_s']:.0f} s, queued by the trigger), then {app['writers']} writer processes for {setup['write_seconds']} s while `madoguchi ledger sequence --batch-size {setup['batch_size']}` drains the queue; appends/s counts the entries committed during the writers' window (the whole backlog was taken after {app['drained_s']:.0f} s).",
        f"- Verification: the export's `tools/verifier.py` run with a bare environment (no Django on the path), the published key; both commands read the same `entries.jsonl` from the page cache. The target is judged on CPU time (user + system of each process): on a machine whose cores other work shares, wall-clock time mostly measures the wait for a core. Verifier output: `{ver['verifier_output']}`.",
        "- Writers, the sequencer, PostgreSQL and wrk share the machine's cores (and other work on it); compare the ratios, which are measured in the same run.",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


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
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="events in the log to export and verify"
    )
    parser.add_argument("--writers", type=int, default=4, help="concurrent writer processes")
    parser.add_argument("--write-seconds", type=float, default=20)
    parser.add_argument(
        "--writer-rate",
        type=float,
        default=100,
        help="events/s per writer (0: as fast as it can); the default, 4 × 100/s, is above "
        "the submission rate the whole web tier reaches on this machine",
    )
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=15, help="seconds per submission run")
    parser.add_argument("--rounds", type=int, default=2, help="off/on rounds of submissions")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--verify-repeats", type=int, default=3)
    parser.add_argument("--database", default="madoguchi_bench_ledger")
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--quiet-threshold", type=float, default=0.15)
    parser.add_argument("--max-wait", type=float, default=60)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "sha256sum"):
        if shutil.which(tool) is None:
            say(f"bench: {tool} is not installed (`make system-deps`).")
            return 2
    signal.signal(signal.SIGTERM, submission._raise_exit)
    try:
        return _main(args)
    except BenchError as exc:
        say(f"bench: {exc}")
        return 2


def _main(args) -> int:
    from cryptography.fernet import Fernet

    load_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    pg = submission.Postgres(args.pg_host, args.pg_port, args.pg_user)
    postgres_version = pg.ensure_up()
    step(f"fresh database {args.database}")
    pg.recreate(args.database)
    results: dict = {"problems": []}
    try:
        with tempfile.TemporaryDirectory(prefix="madoguchi-bench-ledger-") as tmp:
            tmpdir = Path(tmp)
            key_dir = tmpdir / "ledger-keys"
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "MADOGUCHI_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "DATABASE_URL": pg.url(args.database),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "TASKS_BACKEND": "database",
                "MADOGUCHI_BENCH": "1",
                "MADOGUCHI_DATA_DIR": str(tmpdir / "data"),
                "MADOGUCHI_LEDGER_KEY_DIR": str(key_dir),
                "MADOGUCHI_LEDGER_PSEUDONYM_KEY": secrets.token_urlsafe(40),
                "MADOGUCHI_LEDGER_BATCH_SIZE": str(args.batch_size),
                "LOG_LEVEL": "WARNING",
                "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
                "PYTHONUNBUFFERED": "1",
            }
            for name in ("DEBUG_SQL", "DATABASE_CONN_MAX_AGE", "CACHE_URL", "EMAIL_HOST"):
                env.pop(name, None)
            manage = [sys.executable, "-m", "madoguchi"]
            step("migrate, createcachetable, sample load, signing keys")
            submission._run(
                [*manage, "migrate", "--no-input", "-v0", "--skip-checks"], env=env, what="migrate"
            )
            submission._run([*manage, "createcachetable"], env=env, what="createcachetable")
            submission._run(
                [*manage, "sample", "--skip-checks", "load", "--force", "--without-applications"],
                env=env,
                what="sample load",
            )
            for origin in ("990001", "992011", "993417", "deployment"):
                submission._run([*manage, "ledger", "keygen", origin], env=env, what="keygen")
            submission._run([*manage, "ledger", "sequence"], env=env, what="sequence")
            results["submissions"] = measure_submissions(args, pg, env, tmpdir)
            results["end_to_end"] = measure_end_to_end(args, pg, env, tmpdir)
            results["bare_end_to_end"] = measure_end_to_end(args, pg, env, tmpdir, code=BARE_WRITER)
            # Last before the backlog: its events are queued when it ends.
            results["bare_ledger_off"] = measure_end_to_end(
                args, pg, env, tmpdir, code=BARE_WRITER, ledger=False
            )
            results["appends"] = measure_appends(args, pg, env, tmpdir)
            results["verify"] = measure_verification(args, pg, env, tmpdir, key_dir)
    finally:
        if not args.keep_database:
            with contextlib.suppress(Exception):
                pg.drop(args.database)
    app = results["appends"]
    if app["entries"] != app["events"]:
        results["problems"].append(f"{app['entries']:,} entries for {app['events']:,} events")
    if app["duplicates"]:
        results["problems"].append(f"{app['duplicates']} events appended twice")
    machine = submission.machine()
    import django

    setup = {
        "load_start": load_start,
        "load_end": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "writers": args.writers,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": submission.invocation(),
        "git": submission.git_revision(),
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "postgres": postgres_version,
        "wrk": submission.wrk_version(),
        "threads": args.threads,
        "connections": args.connections,
        "duration": f"{args.duration:g}",
        "write_seconds": f"{args.write_seconds:g}",
        "batch_size": args.batch_size,
        "writer_rate": f"at most {args.writer_rate:g}/s each"
        if args.writer_rate
        else "as fast as they can",
        **machine,
    }
    text = section(results, setup)
    say(text)
    if not args.no_docs:
        write_docs(text)
    sub, ver = results["submissions"], results["verify"]
    met = (
        results["end_to_end"]["appends_per_s"] >= TARGET_APPENDS
        and sub["ratio"] >= TARGET_SUBMISSION_RATIO
        and ver["ratio_cpu"] <= TARGET_VERIFY_RATIO
        and not results["problems"]
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
