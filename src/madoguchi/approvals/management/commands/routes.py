from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.approvals.services import RoutesRejected, load_routes
from madoguchi.approvals.validation import check_path


class Command(BaseCommand):
    help = "Approval route definitions (決裁ルート): `routes check PATH`, `routes load PATH`, `routes list`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser(
            "check", help="validate a route file or folder (exit code 1 on any error)"
        )
        check.add_argument("path")
        load = sub.add_parser("load", help="load routes; a changed route becomes a new version")
        load.add_argument("path")
        sub.add_parser("list", help="list routes and their current versions")

    def handle(self, *args, action: str, **options):
        if action == "check":
            valid, problems = check_path(Path(options["path"]))
            for problem in problems:
                self.stderr.write(problem.format())
            if problems:
                raise CommandError(
                    f"{len(problems)} error(s) / {len(problems)}件のエラー", returncode=1
                )
            self.stdout.write(
                self.style.SUCCESS(
                    f"OK: {len(valid)} route(s) / {len(valid)}件のルートに問題はありません"
                )
            )
        elif action == "load":
            try:
                report = load_routes(Path(options["path"]))
            except RoutesRejected as exc:
                for problem in exc.problems:
                    self.stderr.write(problem.format())
                raise CommandError(
                    f"Nothing was loaded: {len(exc.problems)} error(s) / "
                    f"読み込みませんでした（{len(exc.problems)}件のエラー）",
                    returncode=1,
                ) from exc
            for label in report.created:
                self.stdout.write(f"created      {label} v1")
            for label in report.new_versions:
                self.stdout.write(f"new version  {label}")
            for label in report.unchanged:
                self.stdout.write(f"unchanged    {label}")
        else:
            from madoguchi.approvals.models import Route

            for route in Route.objects.select_related("body", "current_version").order_by(
                "body__code", "identifier"
            ):
                version = route.current_version
                number = version.number if version else "-"
                name = version.name if version else ""
                self.stdout.write(f"{route.body.code}/{route.identifier}  v{number}  {name}")
