"""Prometheus metrics: the platform's state, read from the database at each scrape (so
that every web node reports the same numbers), and this process's requests.

Request metrics live in the process that served the request. Under gunicorn with several
workers set PROMETHEUS_MULTIPROC_DIR (an empty directory, emptied at each start) so that a
scrape adds up all workers; see docs/operations.md#monitoring.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

REQUESTS = Counter(
    "madoguchi_http_requests",
    "HTTP requests answered, by method, route and status class.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "madoguchi_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class PlatformCollector:
    """Applications, task backlog, outbox, sequencer lag and the health verdicts."""

    def collect(self):
        from madoguchi.counter.selectors import application_counts

        from .checks import run_checks

        results = {result.name: result for result in run_checks()}
        check_ok = GaugeMetricFamily(
            "madoguchi_health_check_ok", "1 when the health check passes.", labels=["check"]
        )
        for name, result in results.items():
            check_ok.add_metric([name], 1.0 if result.ok else 0.0)
        yield check_ok

        def gauge(check: str, key: str, metric: str, text: str):
            value = results[check].values.get(key)
            if value is not None:
                yield GaugeMetricFamily(metric, text, value=float(value))

        yield from gauge("tasks", "ready", "madoguchi_tasks_ready", "Tasks waiting for a worker.")
        yield from gauge(
            "tasks",
            "oldest_ready_age_s",
            "madoguchi_tasks_oldest_ready_age_seconds",
            "How long the oldest task ready to run has waited.",
        )
        yield from gauge("tasks", "running", "madoguchi_tasks_running", "Tasks being run.")
        yield from gauge(
            "tasks",
            "lost",
            "madoguchi_tasks_lost",
            "Tasks marked running for longer than MADOGUCHI_TASK_LOST_AFTER (their worker died).",
        )
        yield from gauge("outbox", "pending", "madoguchi_outbox_pending", "E-mails not yet sent.")
        yield from gauge(
            "outbox",
            "retrying",
            "madoguchi_outbox_retrying",
            "E-mails the mail server refused at least once, waiting for their next attempt.",
        )
        yield from gauge(
            "outbox",
            "failed",
            "madoguchi_outbox_failed",
            "E-mails given up after every attempt (listed to staff on the outbox page).",
        )
        yield from gauge(
            "outbox",
            "oldest_due_age_s",
            "madoguchi_outbox_oldest_due_age_seconds",
            "How long the oldest due e-mail has waited for the sweeper.",
        )
        yield from gauge(
            "sequencer",
            "pending_events",
            "madoguchi_ledger_pending_events",
            "Events not yet appended to a ledger log.",
        )
        yield from gauge(
            "sequencer",
            "lag_s",
            "madoguchi_ledger_sequencer_lag_seconds",
            "Age of the oldest event not yet appended to a ledger log.",
        )

        counts = application_counts()
        by_state = GaugeMetricFamily(
            "madoguchi_applications", "Applications by state (drafts included).", labels=["state"]
        )
        for state, count in sorted(counts.items()):
            by_state.add_metric([state], float(count))
        yield by_state
        submitted = sum(n for state, n in counts.items() if state not in ("draft",))
        yield CounterMetricFamily(
            "madoguchi_submissions",
            "Applications submitted (every state but draft).",
            value=float(submitted),
        )


def exposition() -> bytes:
    """The text a scraper reads: platform state plus request metrics of this process, or
    of every gunicorn worker in multiprocess mode."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRequests())
    return generate_latest(registry)


class _ProcessRequests:
    def collect(self):
        yield from REQUESTS.collect()
        yield from LATENCY.collect()
