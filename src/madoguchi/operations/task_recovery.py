"""Tasks whose worker died: django-tasks' database backend marks a row RUNNING when a
worker claims it and never looks at it again, so a worker killed in the middle (SIGKILL,
out of memory, the machine lost) leaves the task undone for ever. Recovery hands such a
task back to the queue. See docs/operations.md#lost-tasks.

Handing a task to a second worker is safe because every task of madoguchi is idempotent
and decides under a row or advisory lock whose run counts (an e-mail is sent once it is
marked sent, a document issued once, a 移管 package completed once, the sequencer holds
its advisory lock). A worker that was only slow and finishes after all writes its result
over the recovered row's: harmless for the same reason. Nothing tells a slow worker from
a dead one (django-tasks keeps no heartbeat), hence a limit above the longest task.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("madoguchi.operations")


class WorkerLost(Exception):
    """Stored as the failure of a task given up after too many lost workers."""


@dataclass
class Recovery:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def lost_tasks(*, now: dt.datetime, lost_after: dt.timedelta):
    """Rows marked running since before `now - lost_after`."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - lost_after
    )


def recover_lost_tasks(
    *, lost_after: dt.timedelta, max_attempts: int, now: dt.datetime | None = None
) -> Recovery:
    """Puts every lost task back in the queue (READY, as it was before it was claimed);
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
