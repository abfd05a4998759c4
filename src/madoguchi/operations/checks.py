"""The health checks: the database, the file storage, the task backlog, the outbox and the
ledger sequencer's lag.

Each check returns numbers and a verdict, never personal data or an error's text (which
may name hosts, paths or addresses): the result is served without authentication to load
balancers and uptime monitors. The error's class is logged with its message for operators.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass
class CheckResult:
    name: str
    ok: bool
    values: dict[str, float | int] = field(default_factory=dict)
    # The exception's class when the check could not run at all (e.g. OperationalError).
    error: str = ""

    def as_json(self) -> dict:
        data: dict = {"ok": self.ok, **self.values}
        if self.error:
            data["error"] = self.error
        return data


def _age(since: dt.datetime | None, now: dt.datetime) -> float:
    return round(max((now - since).total_seconds(), 0.0), 1) if since else 0.0


def check_database(now: dt.datetime) -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return CheckResult("database", True)


def check_storage(now: dt.datetime) -> CheckResult:
    from madoguchi.files.services import probe_storage

    probe_storage()
    return CheckResult("storage", True)


@dataclass(frozen=True)
class TaskBacklog:
    ready: int
    oldest_ready_at: dt.datetime | None
    running: int
    failed: int
    lost: int


def task_backlog(now: dt.datetime) -> TaskBacklog:
    """Tasks of django-tasks' database backend waiting for a worker. A task is ready from
    its run_after, or from when it was enqueued if it has none (stored as the maximum
    date by django-tasks-db)."""
    from django.db.models import Count, Min, Q
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    from .task_recovery import count_lost

    never = get_date_max()
    lost_after = dt.timedelta(seconds=settings.MADOGUCHI_TASK_LOST_AFTER)
    lost_before = now - lost_after
    ready = Q(status=TaskResultStatus.READY) & (Q(run_after=never) | Q(run_after__lte=now))
    found = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING, TaskResultStatus.FAILED]
    ).aggregate(
        ready=Count("pk", filter=ready),
        enqueued=Min("enqueued_at", filter=ready & Q(run_after=never)),
        scheduled=Min("run_after", filter=ready & ~Q(run_after=never)),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        failed=Count("pk", filter=Q(status=TaskResultStatus.FAILED)),
        stale=Count("pk", filter=Q(status=TaskResultStatus.RUNNING, started_at__lt=lost_before)),
    )
    # Running for longer than the limit with its worker gone (task_recovery); the workers
    # are asked only when some row is that old (no query otherwise).
    lost = count_lost(now=now, lost_after=lost_after) if found["stale"] else 0
    oldest = min((t for t in (found["enqueued"], found["scheduled"]) if t), default=None)
    return TaskBacklog(found["ready"], oldest, found["running"], found["failed"], lost)


def check_tasks(now: dt.datetime) -> CheckResult:
    backlog = task_backlog(now)
    age = _age(backlog.oldest_ready_at, now)
    return CheckResult(
        "tasks",
        age <= settings.MADOGUCHI_HEALTH_TASK_MAX_AGE and backlog.lost == 0,
        {
            "ready": backlog.ready,
            "oldest_ready_age_s": age,
            "running": backlog.running,
            "lost": backlog.lost,
        },
    )


def check_outbox(now: dt.datetime) -> CheckResult:
    from madoguchi.notifications.selectors import outbox_summary

    outbox = outbox_summary(now=now)
    age = _age(outbox.oldest_due_at, now)
    # E-mails waiting out their backoff are not a fault of this deployment (the mail
    # server refuses them; staff see them on the outbox page); a due e-mail nobody takes
    # is: the sweeper (`madoguchi deliver_email --interval …`) is not running.
    return CheckResult(
        "outbox",
        age <= settings.MADOGUCHI_HEALTH_OUTBOX_MAX_AGE,
        {
            "pending": outbox.pending,
            "due": outbox.due,
            "oldest_due_age_s": age,
            "retrying": outbox.retrying,
            "failed": outbox.failed,
        },
    )


def check_sequencer(now: dt.datetime) -> CheckResult:
    from madoguchi.ledger.selectors import sequencer_lag

    lag = sequencer_lag()
    age = _age(lag.oldest_occurred_at, now)
    return CheckResult(
        "sequencer",
        age <= settings.MADOGUCHI_HEALTH_SEQUENCER_MAX_LAG,
        {"pending_events": lag.pending, "lag_s": age},
    )


CHECKS: list[Callable[[dt.datetime], CheckResult]] = [
    check_database,
    check_storage,
    check_tasks,
    check_outbox,
    check_sequencer,
]


def run_checks() -> list[CheckResult]:
    """Every check, each on its own: one failing (the database away) does not hide the
    verdict of the others."""
    now = timezone.now()
    results = []
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            results.append(check(now))
        except Exception as exc:
            logger.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
            results.append(CheckResult(name, False, error=type(exc).__name__))
    return results
