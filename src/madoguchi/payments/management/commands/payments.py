"""`madoguchi payments reconcile [--interval N]`: carry online payments as far as the
provider's truth allows (see payments.services.reconcile). Run it periodically, e.g. every
five minutes from cron, or as a long-running process with --interval."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from madoguchi.payments import services


class Command(BaseCommand):
    help = "Payments: reconcile online payments with their provider."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reconcile = sub.add_parser("reconcile", help="look up payments without news")
        reconcile.add_argument(
            "--interval", type=int, default=0, help="repeat every N seconds (0: once)"
        )
        reconcile.add_argument("--limit", type=int, default=200)

    def handle(self, *args, **options) -> None:
        if options["action"] == "reconcile":
            if options["interval"] < 0 or options["limit"] < 1:
                raise CommandError("--interval must be ≥ 0 and --limit ≥ 1")
            while True:
                counts = services.reconcile(limit=options["limit"])
                self.stdout.write(json.dumps(counts, sort_keys=True))
                if not options["interval"]:
                    return
                time.sleep(options["interval"])
