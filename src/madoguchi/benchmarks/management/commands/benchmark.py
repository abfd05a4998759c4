"""Helpers of `make bench` (bench/run.py): prepare the data and check what was written.

`madoguchi benchmark prepare` issues an API token for a sample resident and prints the
token and a complete application as JSON. `madoguchi benchmark verify --key-prefix …`
checks, in the database, what the requests whose Idempotency-Key starts with the prefix
left behind. Installed only with MADOGUCHI_BENCH=1; never part of a production setup.
"""

from __future__ import annotations

import json
import uuid

from django.core.management.base import BaseCommand, CommandError

BENCH_USER = "hanako@example.jp"
BODY = "992011"
PROCEDURE = "dog-registration"


def sample_answers() -> dict:
    """The answers of the first sample application (sample/services.py)."""
    return {
        "owner_name": {
            "family": "山田",
            "given": "花子",
            "family_kana": "やまだ",
            "given_kana": "はなこ",
        },
        "owner_address": {
            "postal_code": "9990001",
            "prefecture": "さくら県",
            "city": "あおば市",
            "street": "中央一丁目2番3号",
            "building": "",
        },
        "owner_phone": "090-1234-5678",
        "dog_location": "same",
        "dog_name": "ポチ",
        "breed": "柴犬",
        "coat_colour": "赤",
        "dog_sex": "オス",
        "has_microchip": "yes",
        "microchip_number": "392140000123456",
        "vaccinated": "no",
        "delivery": "mail",
    }


class Command(BaseCommand):
    help = "Prepare and verify the submission benchmark (used by bench/run.py)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("prepare", help="issue a token and print it with a complete application")
        verify = sub.add_parser("verify", help="count what the benchmark requests wrote")
        verify.add_argument(
            "--key-prefix",
            action="append",
            required=True,
            help="the first 8 hex digits of the Idempotency-Keys of one run (repeatable)",
        )
        verify.add_argument("--baseline-after", type=int, default=0, help="baseline rows id >")

    def handle(self, *args, action: str, **options):
        if action == "prepare":
            self._prepare()
        else:
            self._verify(options["key_prefix"], options["baseline_after"])

    def _prepare(self) -> None:
        from madoguchi.catalogue.selectors import procedure_by_identifier
        from madoguchi.identity.models import ApiToken, User

        from ...models import BaselineRow

        user = User.objects.filter(email=BENCH_USER).first()
        if user is None or procedure_by_identifier(BODY, PROCEDURE) is None:
            raise CommandError("Load the sample first: madoguchi sample load --force")
        _token, raw = ApiToken.issue(user=user, name="make bench")
        payload = {
            "body": BODY,
            "procedure": PROCEDURE,
            "answers": sample_answers(),
            "submit": True,
        }
        last = BaselineRow.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self.stdout.write(json.dumps({"token": raw, "payload": payload, "baseline_max_id": last}))

    def _verify(self, prefixes: list[str], baseline_after: int) -> None:
        from django_tasks_db.models import DBTaskResult

        from madoguchi.counter.models import Application, State
        from madoguchi.ledger.models import Event
        from madoguchi.notifications.models import OutboundEmail

        from ...models import BaselineRow

        result: dict[str, dict] = {}
        for prefix in prefixes:
            if len(prefix) != 8 or any(c not in "0123456789abcdef" for c in prefix):
                raise CommandError(f"--key-prefix must be 8 lower-case hex digits: {prefix!r}")
            # The keys of one run share their first 32 bits: a range of the uuid column.
            applications = Application.objects.filter(
                idempotency_key__gte=uuid.UUID(prefix + "0" * 24),
                idempotency_key__lte=uuid.UUID(prefix + "f" * 24),
            )
            ids = [str(pk) for pk in applications.values_list("pk", flat=True)]
            submitted = applications.filter(state=State.SUBMITTED)
            with_receipt = submitted.exclude(receipt_number__isnull=True).exclude(receipt_number="")
            emails = OutboundEmail.objects.filter(
                related_type="application", related_id__in=ids, template="application_submitted"
            )
            email_ids = list(emails.values_list("pk", flat=True))
            tasks = DBTaskResult.objects.filter(task_path__endswith="deliver_email").filter(
                args_kwargs__args__0__in=email_ids
            )
            result[prefix] = {
                "applications": len(ids),
                "submitted": submitted.count(),
                "with_receipt_number": with_receipt.count(),
                "distinct_receipt_numbers": with_receipt.values("receipt_number")
                .distinct()
                .count(),
                "ledger_events": Event.objects.filter(
                    event_type="application.submitted",
                    subject_type="application",
                    subject_id__in=ids,
                ).count(),
                "outbox_emails": len(email_ids),
                "queued_tasks": tasks.count(),
            }
        baseline_rows = BaselineRow.objects.filter(id__gt=baseline_after).count()
        last = BaselineRow.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self.stdout.write(
            json.dumps({"runs": result, "baseline_rows": baseline_rows, "baseline_max_id": last})
        )
