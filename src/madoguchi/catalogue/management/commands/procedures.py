from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.catalogue.services import CatalogueRejected, load_catalogue
from madoguchi.catalogue.validation import check_path


class Command(BaseCommand):
    help = (
        "Procedure definitions: `procedures check PATH`, `procedures load PATH`, `procedures list`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser(
            "check", help="validate a definition file or folder (exit code 1 on any error)"
        )
        check.add_argument("path")
        load = sub.add_parser(
            "load", help="load definitions; a changed definition becomes a new version"
        )
        load.add_argument("path")
        sub.add_parser("list", help="list procedures and their current versions")

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
                    f"OK: {len(valid)} definition(s) / {len(valid)}件の定義に問題はありません"
                )
            )
        elif action == "load":
            try:
                report = load_catalogue(Path(options["path"]))
            except CatalogueRejected as exc:
                for problem in exc.problems:
                    self.stderr.write(problem.format())
                raise CommandError(
                    f"Nothing was loaded: {len(exc.problems)} error(s) / 読み込みませんでした（{len(exc.problems)}件のエラー）",
                    returncode=1,
                ) from exc
            for label in report.created:
                self.stdout.write(f"created      {label} v1")
            for label in report.new_versions:
                self.stdout.write(f"new version  {label}")
            for label in report.unchanged:
                self.stdout.write(f"unchanged    {label}")
        else:
            from madoguchi.catalogue.models import Procedure

            for procedure in Procedure.objects.select_related("body", "current_version").order_by(
                "body__code", "identifier"
            ):
                version = procedure.current_version
                self.stdout.write(
                    f"{procedure.body.code}/{procedure.identifier}  v{version.number if version else '-'}  {version.name if version else ''}"
                )
