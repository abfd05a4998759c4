"""`make bench`: submissions over HTTP against PostgreSQL, compared with a bare Django view.

Starts gunicorn on a fresh PostgreSQL database with production settings (DEBUG off,
tasks queued in the database), posts complete applications to POST /api/applications
with wrk for a fixed time, then posts the same JSON to a bare Django view that only
inserts it (POST /bench/baseline) on the same server. Checks in the database what the
requests wrote, prints a summary and writes it to docs/benchmarks.md between the
markers of this benchmark. See bench/README.md.

Exit status: 0 when the targets are met, 1 when a target is missed or the check of the
database fails, 2 when the benchmark could not run (wrk missing, PostgreSQL down, …).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/run.py`, this folder comes first on sys.path, and bench/queue.py
# would shadow the standard library's `queue` (which psycopg imports).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
LUA = Path(__file__).resolve().parent / "post.lua"
START_MARK = "<!-- bench:submission:start -->"
END_MARK = "<!-- bench:submission:end -->"
TARGET_RATIO = 0.5
TARGET_P99_MS = 500.0
SUBMIT_PATH = "/api/applications"
BASELINE_PATH = "/bench/baseline"


class BenchError(Exception):
    """The benchmark could not run; the message says why and what to do."""


# --- small helpers ----------------------------------------------------------------------


def say(message: str = "") -> None:
    print(message, flush=True)


def step(message: str) -> None:
    say(f"==> {message}")


def _run(cmd: list[str], *, env: dict[str, str] | None = None, what: str) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
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


# --- PostgreSQL -------------------------------------------------------------------------


@dataclass
class Postgres:
    host: str
    port: int
    user: str

    def connect(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True
        )

    def url(self, dbname: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{dbname}"

    def ensure_up(self) -> str:
        """Connects, starting the local cluster if it is down. Returns the server version."""
        import psycopg

        try:
            with self.connect() as conn:
                return conn.execute("SHOW server_version").fetchone()[0]
        except psycopg.OperationalError as exc:
            first_error = exc
        clusters = Path("/etc/postgresql")
        if self.host not in ("127.0.0.1", "localhost") or not clusters.is_dir():
            raise BenchError(
                f"PostgreSQL is not reachable at {self.host}:{self.port}: {first_error}"
            )
        if shutil.which("pg_ctlcluster") is None:
            raise BenchError(f"PostgreSQL is down and pg_ctlcluster is missing: {first_error}")
        for version in sorted(os.listdir(clusters)):
            step(f"PostgreSQL is down; starting cluster {version}/main")
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                with self.connect() as conn:
                    return conn.execute("SHOW server_version").fetchone()[0]
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise BenchError(f"PostgreSQL did not come up: {exc}") from exc
                time.sleep(0.5)

    def recreate(self, dbname: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))

    def drop(self, dbname: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )

    def checkpoint(self) -> None:
        """Flushes dirty pages, so that no run pays for the writes of the one before."""
        with self.connect() as conn:
            conn.execute("CHECKPOINT")


# --- the server -------------------------------------------------------------------------


class Server:
    """gunicorn in its own process group, stopped (and checked gone) in stop()."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_path: Path, base_url: str):
        self.cmd = cmd
        self.env = env
        self.log_path = log_path
        self.base_url = base_url
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 60) -> None:
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited at start:\n{self.log_tail()}")
            try:
                # GET on a POST-only view: any HTTP answer means the workers serve.
                urllib.request.urlopen(self.base_url + BASELINE_PATH, timeout=5)  # noqa: S310
                return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise BenchError(f"gunicorn did not answer:\n{self.log_tail()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        pgid = self.process.pid
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
            try:
                self.process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                say("gunicorn did not stop in 35 s; killing its process group")
        # Workers left behind by a master that died would still be in its process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None
        if self._log:
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        if not self.log_path.exists():
            return []
        pattern = re.compile(r"Traceback|\bERROR\b|\bCRITICAL\b|WORKER TIMEOUT|\[ERROR\]")
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if pattern.search(line)
        ]


def post_once(url: str, body: bytes, token: str) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


# --- CPU accounting ---------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _postgres_counts(cmdline: str, database: str | None) -> bool:
    """Whether a postgres process works for the benchmark: the postmaster and its
    auxiliary processes (WAL writer, checkpointer, autovacuum ...), and the client backends
    of the benchmark's database; not the backends of other databases on the same
    cluster (another project's tests, say). Without a database, every postgres process."""
    if database is None:
        return True
    title = cmdline.replace("\0", " ").strip()
    if not title.startswith("postgres: "):
        return True  # the postmaster: /usr/lib/postgresql/N/bin/postgres -D ...
    words = title[len("postgres: ") :].split()
    if words and words[0].endswith(":"):
        words = words[1:]  # the cluster_name, as Debian sets it: "15/main:"
    # A client backend: "<user> <database> <host>(<port>)|[local] <activity>".
    if len(words) >= 3 and (words[2].endswith(")") or words[2] == "[local]"):
        return words[1] == database
    return True


def _process_ticks(server_pgid: int, database: str | None):
    server: dict[int, tuple[int, int]] = {}
    postgres: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            rest = stat[stat.rindex(")") + 2 :].split()
            ticks = (int(rest[11]), int(rest[12]))  # utime, stime
            if int(rest[2]) == server_pgid:
                server[int(entry.name)] = ticks
            elif comm == "postgres":
                cmdline = Path(entry.path, "cmdline").read_text(errors="replace")
                if _postgres_counts(cmdline, database):
                    postgres[int(entry.name)] = ticks
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return server, postgres


@dataclass
class CpuSample:
    # CPU ticks (utime, stime) per process: the gunicorn process group, and the postgres
    # processes that work for the benchmark (see _postgres_counts).
    server: dict[int, tuple[int, int]]
    postgres: dict[int, tuple[int, int]]
    machine_busy: float  # seconds, of the whole machine (/proc/stat), steal included
    children: float  # seconds, of this script's waited-for children (wrk)
    at: float  # time.monotonic()


def cpu_sample(server_pgid: int, database: str | None = None) -> CpuSample:
    import resource

    server, postgres = _process_ticks(server_pgid, database)
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSample(
        server=server,
        postgres=postgres,
        machine_busy=(user + nice + system + irq + softirq + steal) / CLOCK_TICKS,
        children=usage.ru_utime + usage.ru_stime,
        at=time.monotonic(),
    )


class CpuMeter:
    """CPU used by the server and PostgreSQL while a run lasts.

    Processes are sampled every `interval` seconds, not only at the start and the end:
    a PostgreSQL backend ends when its connection reaches DATABASE_CONN_MAX_AGE (60 s,
    so usually during the second run), and what it used until its last sample still
    counts. A process that starts during the run counts from zero."""

    def __init__(self, server_pgid: int, database: str | None, interval: float = 0.5) -> None:
        import threading

        self.server_pgid = server_pgid
        self.database = database
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.first: CpuSample | None = None
        self.last: CpuSample | None = None
        self.seen_server: dict[int, tuple[int, int]] = {}
        self.seen_postgres: dict[int, tuple[int, int]] = {}

    def _record(self, sample: CpuSample) -> None:
        self.seen_server.update(sample.server)
        self.seen_postgres.update(sample.postgres)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._record(cpu_sample(self.server_pgid, self.database))

    def __enter__(self) -> CpuMeter:
        self.first = cpu_sample(self.server_pgid, self.database)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.last = cpu_sample(self.server_pgid, self.database)
        self._record(self.last)

    def use(self) -> dict[str, float]:
        """CPU seconds used during the run, by whom."""
        if self.first is None or self.last is None:
            raise RuntimeError("CpuMeter.use() before the run ended")
        server = _ticks_used(self.first.server, self.seen_server)
        postgres = _ticks_used(self.first.postgres, self.seen_postgres)
        wrk = self.last.children - self.first.children
        busy = self.last.machine_busy - self.first.machine_busy
        return {
            "server": server,
            "server_kernel": _ticks_used(self.first.server, self.seen_server, part=1),
            "postgres": postgres,
            "wrk": wrk,
            "other": max(busy - server - postgres - wrk, 0.0),
            "busy": busy,
            "wall": self.last.at - self.first.at,
        }


def _ticks_used(before: dict, after: dict, part: int | None = None) -> float:
    total = 0
    for pid, ticks in after.items():
        old = before.get(pid, (0, 0))
        total += sum(ticks) - sum(old) if part is None else ticks[part] - old[part]
    return total / CLOCK_TICKS


def machine_busy_share(seconds: float = 2.0) -> float:
    """Share of all cores busy over the next `seconds` (whatever runs, steal included)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_for_quiet(threshold: float, max_wait: float) -> tuple[float, float]:
    """Waits (at most max_wait s) until other work leaves the machine mostly idle, so
    that the measurement is not shared with it. Returns (busy share, seconds waited)."""
    busy = machine_busy_share()
    start = time.monotonic()
    announced = False
    while busy > threshold and time.monotonic() - start < max_wait:
        if not announced:
            say(f"    the machine is {busy:.0%} busy with other work; waiting up to {max_wait:g} s")
            announced = True
        busy = machine_busy_share()
    return busy, time.monotonic() - start


# --- wrk --------------------------------------------------------------------------------


@dataclass
class LoadResult:
    name: str
    path: str
    command: list[str]
    output: str
    duration_s: float
    requests: int
    statuses: dict[str, int]
    errors: dict[str, int]
    latency_ms: dict[str, float]
    wrk_requests_per_s: float | None
    key_prefix: str
    cpu: dict[str, float]
    db: dict = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("2"))

    @property
    def not_ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0

    def cpu_ms_per_ok(self, who: str) -> float:
        return self.cpu[who] * 1000 / self.ok if self.ok else 0.0

    def cpu_share(self, who: str) -> float:
        """Share of the machine's cores used by `who` during the run."""
        cores = len(os.sched_getaffinity(0))
        return min(self.cpu[who] / (self.cpu["wall"] * cores), 1.0) if self.cpu["wall"] else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(self.errors[k] for k in ("connect", "read", "write", "timeout"))


def run_wrk(
    *,
    name: str,
    base_url: str,
    path: str,
    payload_file: Path,
    token: str,
    args: argparse.Namespace,
    duration: float,
    server_pgid: int,
) -> LoadResult:
    key_prefix = secrets.token_hex(4)
    cmd = [
        "wrk",
        "--threads",
        str(args.threads),
        "--connections",
        str(args.connections),
        "--duration",
        f"{duration:g}s",
        "--timeout",
        "30s",
        "--latency",
        "--script",
        str(LUA),
        base_url + path,
        "--",
        str(payload_file),
        token,
        key_prefix,
        str(secrets.randbelow(2**31)),
    ]
    # Other benchmarks call this with their own arguments, which may name no database:
    # then every postgres process counts.
    with CpuMeter(server_pgid, getattr(args, "database", None)) as meter:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"wrk failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    match = re.search(r"^BENCH_JSON (\{.*\})$", result.stdout, re.MULTILINE)
    if not match:
        raise BenchError(
            f"no BENCH_JSON line in the output of wrk:\n{result.stdout}{result.stderr}"
        )
    data = json.loads(match[1])
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", result.stdout, re.MULTILINE)
    # The token is a secret of this run only, but it has no place in logs or docs.
    shown = [("<token>" if part == token else part) for part in cmd]
    shown[shown.index(str(payload_file))] = "<payload.json>"
    shown[shown.index(str(LUA))] = str(LUA.relative_to(ROOT))
    return LoadResult(
        name=name,
        path=path,
        command=shown,
        output="\n".join(
            line for line in result.stdout.splitlines() if not line.startswith("BENCH_JSON ")
        ).replace(token, "<token>"),
        duration_s=data["duration_us"] / 1e6,
        requests=int(data["requests"]),
        statuses={str(k): int(v) for k, v in data["statuses"].items()},
        errors={k: int(v) for k, v in data["errors"].items()},
        latency_ms={k: float(v) / 1000 for k, v in data["latency_us"].items()},
        wrk_requests_per_s=float(rps[1]) if rps else None,
        key_prefix=key_prefix,
        cpu=meter.use(),
    )


def wrk_version() -> str:
    result = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


# --- the machine ------------------------------------------------------------------------


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    info["cpu_model"] = models[0].strip() if models else platform.processor() or "unknown"
    info["cores"] = str(len(os.sched_getaffinity(0)))
    info["cpu_count"] = str(os.cpu_count())
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.MULTILINE)
    info["ram"] = f"{int(total[1]) / 1024 / 1024:.1f} GiB" if total else "unknown"
    os_release = Path("/etc/os-release")
    pretty = (
        re.search(r'^PRETTY_NAME="?([^"\n]+)"?', os_release.read_text(), re.MULTILINE)
        if os_release.exists()
        else None
    )
    info["os"] = f"{pretty[1] if pretty else platform.system()}, kernel {platform.release()}"
    return info


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
        # `make faults` runs bench/faults.py; `make bench` every other script.
        return "make faults" if Path(sys.argv[0]).name == "faults.py" else "make bench"
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(ROOT)
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(ROOT)
    return shlex.join([str(python), str(script), *sys.argv[1:]])


# --- checking and reporting -------------------------------------------------------------


def check_submissions(run: LoadResult, connections: int) -> list[str]:
    """Problems with what the submission run wrote; empty when all is consistent."""
    db = run.db
    problems = []
    created = run.statuses.get("201", 0)
    if run.not_ok:
        problems.append(f"{run.not_ok} non-2xx responses: {run.statuses}")
    if run.socket_errors:
        problems.append(f"socket errors: {run.errors}")
    if created != run.ok:
        problems.append(f"{run.ok - created} responses were 200 (a replayed key), not 201")
    in_flight = db["applications"] - created
    if not 0 <= in_flight <= connections:
        problems.append(
            f"{db['applications']} applications in the database for {created} responses 201 "
            f"(expected between {created} and {created + connections})"
        )
    for key in (
        "submitted",
        "with_receipt_number",
        "distinct_receipt_numbers",
        "ledger_events",
        "outbox_emails",
        "queued_tasks",
    ):
        if db[key] != db["applications"]:
            problems.append(f"{key}: {db[key]} of {db['applications']} applications")
    return problems


def check_baseline(run: LoadResult, rows: int, connections: int) -> list[str]:
    problems = []
    if run.not_ok:
        problems.append(f"{run.not_ok} non-2xx responses: {run.statuses}")
    if run.socket_errors:
        problems.append(f"socket errors: {run.errors}")
    if not 0 <= rows - run.ok <= connections:
        problems.append(f"{rows} baseline rows for {run.ok} responses 2xx")
    return problems


def fmt_ms(value: float) -> str:
    return f"{value:.1f} ms"


def summary_text(
    submit: LoadResult, base: LoadResult, ratio: float, met: bool, problems: list[str]
) -> str:
    rows = [
        ("", "submissions", "baseline"),
        ("path", f"POST {submit.path}", f"POST {base.path}"),
        ("successful requests/s", f"{submit.ok_per_s:.1f}", f"{base.ok_per_s:.1f}"),
        ("p50 latency", fmt_ms(submit.latency_ms["p50"]), fmt_ms(base.latency_ms["p50"])),
        ("p90 latency", fmt_ms(submit.latency_ms["p90"]), fmt_ms(base.latency_ms["p90"])),
        ("p99 latency", fmt_ms(submit.latency_ms["p99"]), fmt_ms(base.latency_ms["p99"])),
        ("max latency", fmt_ms(submit.latency_ms["max"]), fmt_ms(base.latency_ms["max"])),
        ("responses 2xx / all", f"{submit.ok} / {submit.requests}", f"{base.ok} / {base.requests}"),
        ("non-2xx responses", str(submit.not_ok), str(base.not_ok)),
        ("socket errors", str(submit.socket_errors), str(base.socket_errors)),
        *[
            (
                f"CPU ms per request: {who.replace('server_kernel', '… in the kernel')}",
                f"{submit.cpu_ms_per_ok(who):.2f}",
                f"{base.cpu_ms_per_ok(who):.2f}",
            )
            for who in ("server", "server_kernel", "postgres", "wrk", "other")
        ],
        (
            "machine busy (of all cores)",
            f"{submit.cpu_share('busy'):.0%}",
            f"{base.cpu_share('busy'):.0%}",
        ),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"  {a:<{width[0]}}  {b:>{width[1]}}  {c:>{width[2]}}" for a, b, c in rows]
    lines.append("")
    lines.append(
        f"  ratio (submissions/s / baseline/s): {ratio:.2f}   target >= {TARGET_RATIO}"
        f"   p99 target < {TARGET_P99_MS:.0f} ms"
    )
    lines.append(f"  result: {'TARGET MET' if met else 'TARGET MISSED'}")
    if ratio < TARGET_RATIO:
        lines.append(
            f"  CPU per request in all (server + PostgreSQL + wrk): {cost_per_request(submit):.2f} ms"
            f" vs {cost_per_request(base):.2f} ms; predicted ratio "
            f"{cost_per_request(base) / max(cost_per_request(submit), 1e-9):.2f}"
        )
    shared = max(submit.cpu_share("other"), base.cpu_share("other"))
    if shared > 0.1:
        lines.append(
            f"  note: other processes used up to {shared:.0%} of the machine during the runs;"
            " the numbers are lower than on an idle machine"
        )
    lines.append(
        "  database check: "
        + ("OK" if not problems else "PROBLEMS\n    - " + "\n    - ".join(problems))
    )
    return "\n".join(lines)


def cost_per_request(run: LoadResult) -> float:
    """CPU per successful request in all: the server, PostgreSQL and the load generator."""
    return sum(run.cpu_ms_per_ok(who) for who in ("server", "postgres", "wrk"))


def budget_text(submit: LoadResult, base: LoadResult, ratio: float) -> str:
    """Why the ratio is what it is, from the CPU the run measured."""
    b, s = cost_per_request(base), cost_per_request(submit)
    if not (b and s):
        return ""
    allowed = b / TARGET_RATIO
    outside = submit.cpu_ms_per_ok("postgres") + submit.cpu_ms_per_ok("wrk")
    left = allowed - outside
    text = (
        "Both runs keep the cores busy, so an endpoint's throughput is the CPU time the "
        "machine has divided by what one request costs in all (server, PostgreSQL and "
        f"wrk): {b:.2f} ms for the baseline, {s:.2f} ms for a submission, which predicts a "
        f"ratio of {b / s:.2f} (measured: {ratio:.2f}). A ratio of {TARGET_RATIO} needs a "
        f"submission to cost at most {b:.2f} ÷ {TARGET_RATIO} = {allowed:.2f} ms. "
        f"PostgreSQL and wrk alone take {outside:.2f} ms of a submission, which leaves "
        f"{left:.2f} ms for the server (measured: {submit.cpu_ms_per_ok('server'):.2f} ms); "
        f"the baseline's server spends {base.cpu_ms_per_ok('server'):.2f} ms on a request "
        "that only parses the JSON and inserts one row, and a submission goes through the "
        "same request cycle before it does anything of its own"
    )
    if left < base.cpu_ms_per_ok("server"):
        text += (
            ": with this much PostgreSQL work per submission, no Python speed-up can reach "
            "the target"
        )
    return text + "."


def profile_lines(profile: dict) -> list[str]:
    """The profile of `madoguchi benchmark profile --json`, as Markdown."""
    cpu = profile["cpu_ms"]
    statements = profile["statements"]["submission"]
    tables = []
    for sql in statements:
        match = re.search(r'\b(?:FROM|INTO|UPDATE)\s+"([a-z_]+)"', sql)
        verb = sql.split()[0]
        tables.append(f"{verb} {match[1]}" if match else verb)
    lines = [
        "### Where a submission's CPU goes (`madoguchi benchmark profile`)",
        "",
        f"In one process, with the same settings and database, {profile['requests']} requests "
        "per endpoint through the whole Django stack (the test client instead of gunicorn "
        f"and wrk), in alternating rounds: a submission {cpu['submission']:.2f} ms of CPU, "
        f"the baseline {cpu['baseline']:.2f} ms (ratio {cpu['baseline'] / cpu['submission']:.2f}).",
        "",
        f"Statements of one submission ({len(statements)}; the baseline: "
        f"{len(profile['statements']['baseline'])}): " + ", ".join(tables) + ".",
        "",
        "Under cProfile (CPU time; the profiler's own cost inflates code that makes many "
        "calls, the ORM most, so read shares, not milliseconds):",
        "",
        "| self time by component (built-ins counted with their callers) | share |",
        "|---|---:|",
        *[f"| {name} | {share:.0%} |" for name, share in profile["components"]],
        "",
        "| madoguchi's functions, cumulative | share |",
        "|---|---:|",
        *[f"| `{row['function']}` | {row['share']:.0%} |" for row in profile["functions"][:12]],
    ]
    return lines


def markdown_section(
    *,
    submit: LoadResult,
    base: LoadResult,
    ratio: float,
    met: bool,
    problems: list[str],
    baseline_rows: int,
    setup: dict[str, str],
    args: argparse.Namespace,
    profile: dict | None = None,
) -> str:
    s, b = submit, base
    db = s.db
    in_flight = db["applications"] - s.statuses.get("201", 0)
    check = (
        "all consistent"
        if not problems
        else "**problems:** " + "; ".join(p.replace("|", "/") for p in problems)
    )
    p99_ok = s.latency_ms["p99"] < TARGET_P99_MS
    lines = [
        START_MARK,
        "## Submitting applications over HTTP (`make bench`)",
        "",
        "_Written by `bench/run.py`; the text between the markers is replaced on each run._",
        "",
        f"**Result: {'target met' if met else 'target missed'}** — ratio {ratio:.2f} "
        f"(target ≥ {TARGET_RATIO}, {'met' if ratio >= TARGET_RATIO else 'missed'}), "
        f"p99 of submissions {s.latency_ms['p99']:.1f} ms (target < {TARGET_P99_MS:.0f} ms, "
        f"{'met' if p99_ok else 'missed'}).",
        "",
        f"- Date: {setup['date']}",
        f"- Command: `{setup['command']}`",
        f"- Machine: {setup['cores']} cores ({setup['cpu_model']}), {setup['ram']} RAM, "
        f"{setup['os']}",
        f"- Software: Python {setup['python']}, Django {setup['django']}, "
        f"gunicorn {setup['gunicorn']}, PostgreSQL {setup['postgres']}, {setup['wrk']}",
        f"- Code: commit {setup['git']}",
        "",
        "| | submissions | baseline |",
        "|---|---:|---:|",
        f"| endpoint | `POST {s.path}` | `POST {b.path}` |",
        f"| successful requests/s | **{s.ok_per_s:.1f}** | **{b.ok_per_s:.1f}** |",
        f"| p50 latency | {s.latency_ms['p50']:.1f} ms | {b.latency_ms['p50']:.1f} ms |",
        f"| p90 latency | {s.latency_ms['p90']:.1f} ms | {b.latency_ms['p90']:.1f} ms |",
        f"| p99 latency | **{s.latency_ms['p99']:.1f} ms** | {b.latency_ms['p99']:.1f} ms |",
        f"| max latency | {s.latency_ms['max']:.1f} ms | {b.latency_ms['max']:.1f} ms |",
        f"| responses 2xx / all | {s.ok} / {s.requests} | {b.ok} / {b.requests} |",
        f"| non-2xx responses | {s.not_ok} | {b.not_ok} |",
        f"| socket errors (connect/read/write/timeout) | "
        f"{'/'.join(str(s.errors[k]) for k in ('connect', 'read', 'write', 'timeout'))} | "
        f"{'/'.join(str(b.errors[k]) for k in ('connect', 'read', 'write', 'timeout'))} |",
        f"| measured for | {s.duration_s:.1f} s | {b.duration_s:.1f} s |",
        *[
            f"| CPU per successful request: {label} | {s.cpu_ms_per_ok(who):.2f} ms | "
            f"{b.cpu_ms_per_ok(who):.2f} ms |"
            for who, label in (
                ("server", "gunicorn workers"),
                ("server_kernel", "… of which in the kernel (system time)"),
                ("postgres", "PostgreSQL"),
                ("wrk", "wrk"),
                ("other", "other processes"),
            )
        ],
        f"| machine busy (of {setup['cores']} cores) | {s.cpu_share('busy'):.0%} | "
        f"{b.cpu_share('busy'):.0%} |",
        "",
        f"**Ratio submissions/s ÷ baseline/s: {ratio:.2f}**",
        "",
        f"Database check after the run: {db['applications']} applications "
        f"({in_flight} more than responses 201: requests still in flight when wrk stopped "
        f"are completed by the server), {db['submitted']} submitted, "
        f"{db['distinct_receipt_numbers']} distinct receipt numbers (受付番号), "
        f"{db['ledger_events']} ledger events, {db['outbox_emails']} outbox e-mails, "
        f"{db['queued_tasks']} queued delivery tasks; {baseline_rows} baseline rows — {check}.",
        "",
        *([budget_text(s, b, ratio), ""] if ratio < TARGET_RATIO else []),
        *([*profile_lines(profile), ""] if profile else []),
        "How it ran:",
        "",
        f"- Machine load just before measuring (all cores, other work): "
        f"{setup['busy_before_submissions']} before the submissions "
        f"(after waiting {setup['waited_before_submissions']} s), "
        f"{setup['busy_before_baseline']} before the baseline "
        f"(after waiting {setup['waited_before_baseline']} s); CPU used by other processes "
        f"during the runs: {s.cpu_share('other'):.0%} and {b.cpu_share('other'):.0%} of the "
        "machine"
        + (
            " — **the machine was shared during the run, so the numbers are lower than on "
            "an idle machine.**"
            if max(s.cpu_share("other"), b.cpu_share("other")) > 0.1
            else "."
        ),
        f"- Server: `{setup['gunicorn_cmd']}` on PostgreSQL (fresh database, sample data "
        "without applications), the same server and settings for both runs; settings from "
        "the environment: `DEBUG=0`, `TASKS_BACKEND=database` (the confirmation e-mail is "
        "written to the outbox and its delivery queued as a task row in the request; the "
        "worker `madoguchi db_worker` is not running and not needed), `LOG_LEVEL=WARNING`, "
        "`DATABASE_CONN_MAX_AGE=60` (the default, persistent connections).",
        f"- Load: `{shlex.join(s.command)}`, then the same for `{b.path}` with the same "
        "JSON body and headers; a new random `Idempotency-Key` per request "
        f"(bench/post.lua). Warm-up: {args.warmup:g} s against each endpoint before "
        "measuring; a PostgreSQL `CHECKPOINT` before each measured run.",
        "- The client runs on the same machine and shares its cores with the server and "
        "PostgreSQL, equally in both runs. wrk keeps each connection busy (closed loop), "
        "so latency includes the time a request waits for a free worker.",
        "- CPU per request: CPU time used during the run (from /proc) divided by the "
        "successful requests; “other processes” is whatever else ran on the machine (and "
        "CPU stolen by the hypervisor) — when it is not near zero the machine was shared "
        "and both numbers are lower than they would be.",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def write_docs(section: str) -> None:
    if DOCS.exists():
        text = DOCS.read_text()
    else:
        text = (
            "# Benchmarks\n\n"
            "Results written by the benchmarks themselves (`make bench`); each benchmark "
            "replaces only the text between its own markers. How to run them: "
            "[bench/README.md](../bench/README.md).\n"
        )
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARK) :].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--database", default="madoguchi_bench", help="dropped and recreated")
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument(
        "--quiet-threshold",
        type=float,
        default=0.15,
        help="before each measured run, wait while the machine is busier than this share of "
        "all cores with other work (default 0.15)",
    )
    parser.add_argument(
        "--max-wait", type=float, default=120, help="seconds to wait for that at most"
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="do not drop the database at the end"
    )
    parser.add_argument(
        "--no-docs", action="store_true", help=f"do not write {DOCS.relative_to(ROOT)}"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=300,
        metavar="N",
        help="afterwards, N requests per endpoint in one process with the same settings and "
        "database (`madoguchi benchmark profile`): CPU per request, the statements of a "
        "submission and where its CPU goes (default 300; 0: no profile)",
    )
    args = parser.parse_args(argv)
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    if 0 < args.profile < 10 or args.profile < 0:
        parser.error("--profile: at least 10 requests (or 0, no profile)")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database):
        parser.error("--database: lower-case letters, digits and _ only")
    return args


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        say("bench: wrk is not installed. Run `make system-deps` (as root) to install it.")
        return 2
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, _raise_exit)
    try:
        return _main(args)
    except BenchError as exc:
        say(f"bench: {exc}")
        return 2


def _main(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    pg = Postgres(args.pg_host, args.pg_port, args.pg_user)
    step(f"PostgreSQL at {pg.host}:{pg.port}")
    postgres_version = pg.ensure_up()
    step(f"fresh database {args.database}")
    pg.recreate(args.database)

    port = args.port or _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp:
        tmpdir = Path(tmp)
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
            "LOG_LEVEL": "WARNING",
            # The sample municipality lies in the fictional さくら県.
            "MADOGUCHI_EXTRA_PREFECTURES": "さくら県",
            # The sample's demo keys (document signing, ledger) instead of configured
            # ones: a submission signs nothing, and the demo is refused with DEBUG off
            # unless allowed like this.
            "MADOGUCHI_DEMO_IDENTITY": "1",
            "MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION": "1",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DEBUG_SQL", "DATABASE_CONN_MAX_AGE", "CACHE_URL", "EMAIL_HOST"):
            env.pop(name, None)
        manage = [sys.executable, "-m", "madoguchi"]
        step("migrate, createcachetable, sample load")
        _run([*manage, "migrate", "--no-input", "-v0"], env=env, what="migrate")
        _run([*manage, "createcachetable"], env=env, what="createcachetable")
        _run(
            [*manage, "sample", "load", "--force", "--without-applications"],
            env=env,
            what="sample load",
        )
        prepared = json.loads(_run([*manage, "benchmark", "prepare"], env=env, what="prepare"))
        token = prepared["token"]
        body = json.dumps(prepared["payload"], ensure_ascii=False).encode()
        payload_file = tmpdir / "payload.json"
        payload_file.write_bytes(body)

        gunicorn_args = [
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else str(tmpdir),
            "--timeout",
            "60",
            "--log-level",
            "warning",
            "madoguchi.wsgi:application",
        ]
        server = Server(
            [sys.executable, "-m", "gunicorn", *gunicorn_args],
            env,
            tmpdir / "gunicorn.log",
            base_url,
        )
        try:
            step(f"gunicorn, {args.workers} sync workers, on {base_url}")
            server.start()
            return _measure(
                args,
                pg,
                server,
                base_url,
                payload_file,
                body,
                token,
                env,
                {
                    "postgres": postgres_version,
                    "gunicorn_cmd": shlex.join(["gunicorn", *gunicorn_args]),
                },
            )
        finally:
            step("stopping gunicorn")
            server.stop()
            if not args.keep_database:
                with contextlib.suppress(Exception):
                    pg.drop(args.database)


def _measure(args, pg, server, base_url, payload_file, body, token, env, setup) -> int:
    manage = [sys.executable, "-m", "madoguchi"]
    step("smoke test: one request to each endpoint")
    for path in (SUBMIT_PATH, BASELINE_PATH):
        status, text = post_once(base_url + path, body, token)
        if status != 201:
            raise BenchError(f"POST {path} answered {status}:\n{text[:2000]}\n{server.log_tail()}")

    common = {
        "base_url": base_url,
        "payload_file": payload_file,
        "token": token,
        "args": args,
        "server_pgid": server.process.pid,
    }
    if args.warmup > 0:
        step(f"warm-up, {args.warmup:g} s per endpoint")
        for name, path in (
            ("warm-up submissions", SUBMIT_PATH),
            ("warm-up baseline", BASELINE_PATH),
        ):
            warm = run_wrk(name=name, path=path, duration=args.warmup, **common)
            say(f"    {path}: {warm.ok_per_s:.1f} requests/s, statuses {warm.statuses}")
            if warm.not_ok:
                raise BenchError(
                    f"warm-up of {path} got non-2xx responses: {warm.statuses}\n{server.log_tail()}"
                )
    before = json.loads(
        _run([*manage, "benchmark", "verify", "--key-prefix", "00000000"], env=env, what="verify")
    )

    runs = {}
    for name, path in (("submissions", SUBMIT_PATH), ("baseline", BASELINE_PATH)):
        step(f"measuring POST {path} for {args.duration:g} s")
        pg.checkpoint()
        busy, waited = wait_for_quiet(args.quiet_threshold, args.max_wait)
        setup[f"busy_before_{name}"] = f"{busy:.0%}"
        setup[f"waited_before_{name}"] = f"{waited:.0f}"
        runs[name] = run_wrk(name=name, path=path, duration=args.duration, **common)
        say(runs[name].output.rstrip())
    submit, base = runs["submissions"], runs["baseline"]
    time.sleep(1)  # let the requests in flight when wrk stopped finish

    step("checking the database")
    after = json.loads(
        _run(
            [
                *manage,
                "benchmark",
                "verify",
                "--key-prefix",
                submit.key_prefix,
                "--baseline-after",
                str(before["baseline_max_id"]),
            ],
            env=env,
            what="verify",
        )
    )
    submit.db = after["runs"][submit.key_prefix]
    problems = check_submissions(submit, args.connections)
    problems += [
        f"baseline: {p}" for p in check_baseline(base, after["baseline_rows"], args.connections)
    ]
    log_problems = server.log_problems()
    if log_problems:
        problems.append(f"{len(log_problems)} error lines in the server log")
        say("server log errors:\n" + "\n".join(log_problems[:40]))

    ratio = submit.ok_per_s / base.ok_per_s if base.ok_per_s else 0.0
    met = ratio >= TARGET_RATIO and submit.latency_ms["p99"] < TARGET_P99_MS
    profile = None
    if args.profile:
        step(f"profile: {args.profile} requests per endpoint in one process")
        profile = json.loads(
            _run(
                [*manage, "benchmark", "profile", "--requests", str(args.profile), "--json"],
                env=env,
                what="profile",
            )
        )
    import django
    import gunicorn

    setup.update(machine())
    setup.update(
        date=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z (UTC%z)"),
        command=invocation(),
        python=platform.python_version(),
        django=django.get_version(),
        gunicorn=gunicorn.__version__,
        wrk=wrk_version(),
        git=git_revision(),
    )
    say("")
    say(
        f"Submission benchmark — {setup['date']} — {setup['cores']} cores "
        f"({setup['cpu_model']}), {setup['ram']} RAM"
    )
    say(summary_text(submit, base, ratio, met, problems))
    if profile:
        say("\n".join(["", *profile_lines(profile)]))
    if not args.no_docs:
        write_docs(
            markdown_section(
                submit=submit,
                base=base,
                ratio=ratio,
                met=met,
                problems=problems,
                baseline_rows=after["baseline_rows"],
                setup=setup,
                args=args,
                profile=profile,
            )
        )
        say(f"  written to {DOCS.relative_to(ROOT)}")
    return 0 if met and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
