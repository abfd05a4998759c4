"""madoguchi tasks recover — see docs/operations.md#lost-tasks."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

logger = logging.getLogger("madoguchi.operations")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value!r}")
    return number


class Command(BaseCommand):
    help = "Tasks of the database backend: hand tasks whose worker died back to the queue."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        recover = sub.add_parser(
            "recover", help="queue again the tasks marked running for too long (lost workers)"
        )
        recover.add_argument(
            "--lost-after",
            type=_positive_int,
            default=None,
            metavar="SECONDS",
            help="running for longer than this is lost (default: MADOGUCHI_TASK_LOST_AFTER)",
        )
        recover.add_argument(
            "--max-attempts",
            type=_positive_int,
            default=None,
            help="after this many lost workers, mark the task failed "
            "(default: MADOGUCHI_TASK_MAX_ATTEMPTS)",
        )
        recover.add_argument(
            "--interval",
            type=_positive_int,
            default=None,
            metavar="SECONDS",
            help="keep running, checking every SECONDS (default: once)",
        )

    def handle(self, *args, **options) -> None:
        from madoguchi.operations.task_recovery import recover_lost_tasks

        lost_after = dt.timedelta(
            seconds=options["lost_after"] or settings.MADOGUCHI_TASK_LOST_AFTER
        )
        max_attempts = options["max_attempts"] or settings.MADOGUCHI_TASK_MAX_ATTEMPTS
        while True:
            try:
                recovery = recover_lost_tasks(lost_after=lost_after, max_attempts=max_attempts)
            except DatabaseError as exc:
                if options["interval"] is None:
                    raise CommandError(f"the database refused: {exc}") from None
                # Kept running (PostgreSQL restarting): the next round tries again.
                logger.warning("tasks recover: the database refused: %s", exc)
            else:
                self.stdout.write(
                    f"queued again {len(recovery.requeued)}, given up {len(recovery.failed)}"
                )
            if options["interval"] is None:
                return
            time.sleep(options["interval"])
            close_old_connections()
