"""`madoguchi appointments remind [--interval N]`: e-mail tomorrow's bookings (once each).
Run it daily after MADOGUCHI_APPOINTMENT_REMINDER_HOUR (cron), or with --interval.

`madoguchi appointments load FILE.yaml`: counters, opening hours and closures as data."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.appointments import loading, services


class Command(BaseCommand):
    help = "Appointments: reminders and counters."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        remind = sub.add_parser("remind", help="send the reminders for tomorrow")
        remind.add_argument("--interval", type=int, default=0, help="repeat every N seconds")
        load = sub.add_parser("load", help="load counters from a YAML file")
        load.add_argument("path")

    def handle(self, *args, **options) -> None:
        if options["action"] == "remind":
            if options["interval"] < 0:
                raise CommandError("--interval must not be negative")
            while True:
                sent = services.send_reminders()
                self.stdout.write(f"reminders sent: {sent}")
                if not options["interval"]:
                    return
                time.sleep(options["interval"])
        else:
            try:
                counters = loading.load_file(Path(options["path"]))
            except loading.CountersRejected as exc:
                for problem in exc.problems:
                    self.stderr.write(problem)
                raise CommandError(f"{len(exc.problems)} problem(s); nothing was loaded") from None
            self.stdout.write(f"loaded {len(counters)} counter(s)")
