from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from madoguchi.core import keyrotation


class Command(BaseCommand):
    help = (
        "Field encryption keys (MADOGUCHI_ENCRYPTION_KEYS): `encryption status` counts the "
        "encrypted values under the first key and under older ones; `encryption rotate` "
        "re-encrypts the older ones under the first key, in small batches, while the service "
        "runs. See docs/security.md for the whole rotation."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="count encrypted values by key")
        rotate = sub.add_parser("rotate", help="re-encrypt values under the first key")
        rotate.add_argument(
            "--batch-size",
            type=int,
            default=200,
            help="rows locked and rewritten per transaction (default 200)",
        )

    def handle(self, *args, action: str, **options):
        if action == "rotate" and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        report = keyrotation.run(
            rotate=action == "rotate", batch_size=options.get("batch_size") or 200
        )
        for name, counts in sorted(report.by_field.items()):
            self.stdout.write(
                f"{name:<45} current={counts.current} older={counts.old - counts.rotated} "
                f"rotated={counts.rotated} unreadable={counts.unreadable}"
            )
        for name, counts in sorted(report.held.items()):
            self.stdout.write(
                f"{name:<45} current={counts.current} older={counts.old} (kept as they are) "
                f"unreadable={counts.unreadable}"
            )
        total = report.total
        remaining = total.old - total.rotated
        self.stdout.write(
            f"total: {total.current + total.rotated} under the first key, {remaining} under older "
            f"keys, {total.unreadable} that no configured key opens"
        )
        if report.held_old:
            # A record's original is the exact bytes the ledger proves: re-encrypting them
            # would make every proof of those records fail.
            self.stdout.write(
                self.style.WARNING(
                    f"{report.held_old} value(s) inside records' originals are under older keys "
                    "and are never re-encrypted (the ledger proves those exact bytes): keep "
                    "those keys configured, after the first, while the records are kept."
                )
            )
        if action == "rotate":
            from madoguchi.ledger.services import record_event

            with transaction.atomic():
                record_event(
                    event_type="encryption.rotated",
                    actor_kind="system",
                    actor_id=None,
                    subject_type="encryption_keys",
                    subject_id="field",
                    details={
                        "rotated": total.rotated,
                        "unreadable": total.unreadable,
                        "held_older": report.held_old,
                    },
                )
            if remaining == 0 and total.unreadable == 0 and not report.held_old:
                self.stdout.write(
                    self.style.SUCCESS("Every value is under the first key: older keys may go.")
                )
        if total.unreadable:
            raise CommandError(
                f"{total.unreadable} value(s) cannot be decrypted with the configured keys; "
                "keep every old key until this is understood."
            )
