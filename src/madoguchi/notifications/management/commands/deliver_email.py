from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from madoguchi.notifications.services import deliver_due


class Command(BaseCommand):
    help = "Send pending e-mails from the outbox (once, or every --interval seconds)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=int, default=0, help="repeat every N seconds (0: once)"
        )

    def handle(self, *args, interval: int, **options):
        while True:
            results = deliver_due()
            if results:
                self.stdout.write(
                    ", ".join(f"{key}: {value}" for key, value in sorted(results.items()))
                )
            if interval <= 0:
                return
            time.sleep(interval)
