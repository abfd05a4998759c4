from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from madoguchi.backoffice.services import announce_new_work, remind_due_dates
from madoguchi.notifications.services import send_daily_digests


class Command(BaseCommand):
    help = (
        "Staff notifications: new work for each unit (--new-work, every few minutes), "
        "late and soon-due work (--due-dates, once a morning) and the daily digests "
        "(--digests, once a day, after --due-dates). With no option: all three, once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new-work", action="store_true", help="announce new applications")
        parser.add_argument("--due-dates", action="store_true", help="remind of due dates")
        parser.add_argument("--digests", action="store_true", help="send the daily digests")
        parser.add_argument(
            "--interval",
            type=int,
            default=0,
            help="repeat --new-work every N seconds (0: once); not with the daily options",
        )

    def handle(self, *args, new_work, due_dates, digests, interval, **options):
        if interval < 0:
            raise CommandError("--interval must be 0 or more seconds")
        if interval and (due_dates or digests):
            raise CommandError("--interval repeats --new-work only; run the daily ones by cron")
        if not (new_work or due_dates or digests):
            new_work = due_dates = digests = True
        while True:
            if new_work:
                count = announce_new_work()
                if count:
                    self.stdout.write(f"new work announced: {count} applications")
            if due_dates:
                self.stdout.write(f"due-date notices: {remind_due_dates()}")
            if digests:
                self.stdout.write(f"digests sent: {send_daily_digests()}")
            if interval <= 0:
                return
            time.sleep(interval)
