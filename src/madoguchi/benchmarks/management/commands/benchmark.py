"""Helpers of `make bench` (bench/run.py): prepare the data and check what was written.

`madoguchi benchmark prepare` issues an API token for a sample resident and prints the
token and a complete application as JSON. `madoguchi benchmark verify --key-prefix …`
checks, in the database, what the requests whose Idempotency-Key starts with the prefix
left behind. `madoguchi benchmark profile` runs both endpoints in this process, through
the whole Django stack, and shows where a submission's CPU time goes (bench/README.md).
Installed only with MADOGUCHI_BENCH=1; never part of a production setup.
"""

from __future__ import annotations

import json
import time
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
        profile = sub.add_parser(
            "profile",
            help="CPU per request of both endpoints in this process, and a profile of the "
            "submissions (writes applications: use the benchmark's database)",
        )
        profile.add_argument("--requests", type=int, default=400, help="per endpoint")
        profile.add_argument("--top", type=int, default=25, help="lines of each table")
        profile.add_argument("--json", action="store_true", help="one JSON object (bench/run.py)")

    def handle(self, *args, action: str, **options):
        if action == "prepare":
            self._prepare()
        elif action == "profile":
            self._profile(options["requests"], options["top"], options["json"])
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

    def _profile(self, requests: int, top: int, as_json: bool) -> None:
        import cProfile
        import io
        import pstats

        if requests < 10:
            raise CommandError("--requests: at least 10")
        post = _poster()
        paths = {"submission": "/api/applications", "baseline": "/bench/baseline"}
        for _ in range(20):  # what a process loads once
            for path in paths.values():
                post(path)
        statements = {name: _statements_of(post, path) for name, path in paths.items()}
        # Alternating rounds, so that a change of the machine's speed meets both alike.
        rounds, per_round = 10, max(requests // 10, 1)
        cpu = dict.fromkeys(paths, 0.0)
        for _ in range(rounds):
            for name, path in paths.items():
                start = time.process_time()
                for _ in range(per_round):
                    post(path)
                cpu[name] += time.process_time() - start
        done = rounds * per_round
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(done):
            post(paths["submission"])
        profiler.disable()
        stats = pstats.Stats(profiler)
        report = {
            "requests": done,
            "cpu_ms": {name: cpu[name] * 1000 / done for name in paths},
            "statements": statements,
            "profiled_ms": stats.total_tt * 1000 / done,
            "components": _components(stats),
            "functions": _madoguchi_functions(stats, done, top),
        }
        if as_json:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        out = self.stdout.write
        out(f"CPU per request in this process ({done} requests each, alternating rounds):")
        for name in paths:
            out(
                f"  {name:<10} {report['cpu_ms'][name]:6.2f} ms  {len(statements[name])} statements"
            )
        out(f"  ratio baseline/submission: {cpu['baseline'] / cpu['submission']:.2f}")
        out("\nStatements of one submission:")
        for sql in statements["submission"]:
            out(f"  {' '.join(sql.split())[:110]}")
        out(
            f"\ncProfile of the submissions: {report['profiled_ms']:.2f} ms per request under the "
            "profiler, whose own cost inflates code that makes many calls (the ORM) the most."
        )
        out("Self time by component (built-ins counted with their callers):")
        for name, share in report["components"]:
            out(f"  {share:6.1%}  {name}")
        out("madoguchi's functions, cumulative time per request:")
        for row in report["functions"]:
            out(f"  {row['ms']:6.2f} ms {row['share']:6.1%}  {row['function']}")
        text = io.StringIO()
        stats.stream = text
        stats.sort_stats("tottime").print_stats(top)
        out(text.getvalue())


def _poster():
    """A function that POSTs the benchmark's application to a path, through the whole
    Django stack (every middleware, as in gunicorn; only the WSGI server's HTTP parsing
    is missing), with a new Idempotency-Key each time."""
    from django.conf import settings
    from django.test import Client

    from madoguchi.identity.models import ApiToken, User

    user = User.objects.filter(email=BENCH_USER).first()
    if user is None:
        raise CommandError("Load the sample first: madoguchi sample load --force")
    _token, raw = ApiToken.issue(user=user, name="make bench (profile)")
    body = json.dumps(
        {"body": BODY, "procedure": PROCEDURE, "answers": sample_answers(), "submit": True},
        ensure_ascii=False,
    )
    hosts = [host for host in settings.ALLOWED_HOSTS if host not in ("*", "") and host[0] != "."]
    client = Client(HTTP_HOST=hosts[0] if hosts else "localhost")
    headers = {"Authorization": f"Bearer {raw}"}

    def post(path: str) -> None:
        response = client.post(
            path,
            data=body,
            content_type="application/json",
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        if response.status_code != 201:
            raise CommandError(f"POST {path}: {response.status_code} {response.content[:500]!r}")

    return post


def _statements_of(post, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        post(path)
    return [" ".join(query["sql"].split()) for query in captured.captured_queries]


# Where self time is counted, by the path of the function's file; the first match wins.
COMPONENTS = (
    ("Django ORM: compiling queries, building model objects", ("/django/db/",)),
    ("psycopg: sending statements, reading and adapting values", ("/psycopg/",)),
    ("django-ninja and pydantic: request and response schemas", ("/ninja/", "/pydantic")),
    ("Django templates: the e-mail's subject and text", ("/django/template",)),
    ("django-tasks: the delivery task", ("/django_tasks",)),
    ("madoguchi's own code: validation, rules, hashing", ("/madoguchi/",)),
    ("the rest of Django: request, middleware, URLs, JSON", ("/django/",)),
)


def _component(filename: str) -> str:
    for name, markers in COMPONENTS:
        if any(marker in filename for marker in markers):
            return name
    return "the standard library and the rest"


def _components(stats) -> list[tuple[str, float]]:
    """Self time per component; a built-in function's time goes to its callers'."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():
        if filename != "~":
            key = _component(filename)
            totals[key] = totals.get(key, 0.0) + tottime
            continue
        for (caller_file, _l, _n), caller_times in callers.items():
            key = _component(caller_file) if caller_file != "~" else "built-ins"
            totals[key] = totals.get(key, 0.0) + caller_times[2]
    whole = sum(totals.values()) or 1.0
    return sorted(((key, value / whole) for key, value in totals.items()), key=lambda x: -x[1])


def _madoguchi_functions(stats, requests: int, top: int) -> list[dict]:
    """madoguchi's functions by cumulative time, below the middleware and the view."""
    whole = stats.total_tt or 1.0
    rows = []
    for (filename, _line, name), (_cc, _nc, _tt, cumtime, _callers) in stats.stats.items():
        if "/madoguchi/" not in filename or "/benchmarks/" in filename:
            continue
        share = cumtime / whole
        if name == "__call__" or share > 0.9 or share < 0.01:
            continue  # middleware and the view: everything; below 1 %: noise
        where = filename.split("/madoguchi/", 1)[1]
        rows.append(
            {"function": f"{where}:{name}", "ms": cumtime * 1000 / requests, "share": share}
        )
    rows.sort(key=lambda row: -row["ms"])
    return rows[:top]
