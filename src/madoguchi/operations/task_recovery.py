"""Tasks whose worker died: django-tasks' database backend marks a row RUNNING when a
worker claims it and never looks at it again, so a worker killed in the middle (SIGKILL,
out of memory, the machine lost) leaves the task undone for ever. Recovery hands such a
task back to the queue. See docs/operations.md#lost-tasks.

Handing a task to a second worker is safe because every task of madoguchi is idempotent
and decides under a row or advisory lock whose run counts (an e-mail is sent once it is
marked sent, a document issued once, a 移管 package completed once, the sequencer holds
its advisory lock). A worker that was only slow and finishes after all writes its result
over the recovered row's: harmless for the same reason.

A slow worker is told from a dead one on PostgreSQL: while a worker runs a task it holds
a session advisory lock named by the task's id (taken when django-tasks signals the
start, released at the end), which PostgreSQL releases when the worker's connection
ends — the process killed, the machine lost. Recovery recovers a row only when it can
take that lock itself. Without PostgreSQL (SQLite, where `db_worker` is not deployed) the
row's age is all there is.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger("madoguchi.operations")


class WorkerLost(Exception):
    """Stored as the failure of a task given up after too many lost workers."""


@dataclass
class Recovery:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


# pg_advisory_lock(int4, int4): this class and the task id's first 32 bits. The two-key
# space does not overlap the one-key space of the ledger sequencer's lock.
LOCK_CLASS = int.from_bytes(b"mdtk", "big", signed=True)


def _lock_key(task_id) -> int:
    return int.from_bytes(uuid.UUID(str(task_id)).bytes[:4], "big") & 0x7FFFFFFF


# The tasks whose lock this process holds (a worker runs one task at a time per thread).
_held = threading.local()


def _in_database_backend(task_result) -> bool:
    from django.conf import settings

    backend = settings.TASKS.get(task_result.backend, {}).get("BACKEND", "")
    return backend == "django_tasks_db.DatabaseBackend"


def hold_while_running(sender, task_result, **kwargs) -> None:
    """django-tasks' task_started, in the worker: the sign of life recovery looks for. A
    lock another running task holds (two ids sharing 32 bits) is not waited for."""
    if connection.vendor == "postgresql" and _in_database_backend(task_result):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, _lock_key(task_result.id)]
            )
            (taken,) = cursor.fetchone()
            # A killed worker's backend would keep the lock while a statement of the
            # task still runs or waits (for a row lock, say): PostgreSQL then checks the
            # client every few seconds and ends it once the worker is gone.
            cursor.execute("SET client_connection_check_interval = '2s'")
        if taken:
            _held.task_id = str(task_result.id)


def release_when_finished(sender, task_result, **kwargs) -> None:
    """django-tasks' task_finished: the task's lock, if this process took it."""
    if getattr(_held, "task_id", None) != str(task_result.id):
        return
    _held.task_id = None
    if connection.connection is None:
        return  # the connection is gone, and its lock with it
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, _lock_key(task_result.id)])


def _worker_is_gone(task_id) -> bool:
    """On PostgreSQL: nobody holds the task's lock (taken here for an instant to know)."""
    if connection.vendor != "postgresql":
        return True
    key = [LOCK_CLASS, _lock_key(task_id)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        (free,) = cursor.fetchone()
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    return bool(free)


def lost_tasks(*, now: dt.datetime, lost_after: dt.timedelta):
    """Rows marked running since before `now - lost_after` (candidates: on PostgreSQL
    those whose worker still holds their lock are alive)."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - lost_after
    )


def count_lost(*, now: dt.datetime, lost_after: dt.timedelta) -> int:
    """How many running rows are lost: older than the limit, their worker gone."""
    return sum(
        1
        for task_id in lost_tasks(now=now, lost_after=lost_after).values_list("pk", flat=True)
        if _worker_is_gone(task_id)
    )


def recover_lost_tasks(
    *, lost_after: dt.timedelta, max_attempts: int, now: dt.datetime | None = None
) -> Recovery:
    """Puts every lost task back in the queue (READY, as it was before it was claimed);
    on PostgreSQL only those whose worker no longer holds their lock;
    one that `max_attempts` workers have already taken is marked FAILED instead, with
    `WorkerLost` as its error. Rows another process holds locked are left for the next
    run."""
    from django_tasks_db.compat import TaskResultStatus

    if lost_after <= dt.timedelta(0):
        raise ValueError("lost_after must be positive")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = now or timezone.now()
    recovery = Recovery()
    with transaction.atomic():
        rows = list(
            lost_tasks(now=now, lost_after=lost_after)
            .select_for_update(skip_locked=True)
            .order_by("started_at")
        )
        for row in rows:
            if not _worker_is_gone(row.pk):
                continue  # slow, not dead: its worker still holds the task's lock
            attempts = len(row.worker_ids)
            facts = (
                row.pk,
                row.task_path,
                ",".join(row.worker_ids) or "-",
                row.started_at.isoformat(),
                attempts,
            )
            if attempts >= max_attempts:
                error = WorkerLost(
                    f"no result from {attempts} workers (last claimed at "
                    f"{row.started_at.isoformat()}); given up by `madoguchi tasks recover`"
                )
                # The fields `set_failed` writes, without its retries: they would retry
                # inside this transaction, which a database error has already aborted.
                row.status = TaskResultStatus.FAILED
                row.finished_at = now
                row.exception_class_path = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"
                row.traceback = f"{WorkerLost.__qualname__}: {error}\n"
                row.return_value = None
                row.save(
                    update_fields=[
                        "status",
                        "finished_at",
                        "exception_class_path",
                        "traceback",
                        "return_value",
                    ]
                )
                recovery.failed.append(str(row.pk))
                logger.error(
                    "task %s (%s) lost by workers %s since %s: given up after %d attempts",
                    *facts,
                )
                continue
            row.status = TaskResultStatus.READY
            # Ready from now: the health check measures a task's wait from its run_after,
            # so the hours it spent marked running do not count as a backlog.
            row.run_after = now
            row.save(update_fields=["status", "run_after"])
            recovery.requeued.append(str(row.pk))
            logger.warning(
                "task %s (%s) lost by worker %s since %s: queued again (attempt %d ended)",
                *facts,
            )
    return recovery
