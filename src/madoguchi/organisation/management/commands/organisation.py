from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from madoguchi.organisation import selectors, services


class Command(BaseCommand):
    help = (
        "The organisation (組織): `organisation import --body CODE [--units FILE] "
        "[--staff FILE] [--remove-missing] [--dry-run]`, `organisation list --body CODE`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imports = sub.add_parser(
            "import",
            help="import units and staff from CSV: all rows, or none if any row has a problem",
        )
        imports.add_argument("--body", required=True, help="全国地方公共団体コード (6 digits)")
        imports.add_argument("--units", help="units CSV (組織コード,名称,種別,上位組織コード,…)")
        imports.add_argument(
            "--staff", help="staff CSV (メールアドレス,氏名,組織コード,職,役割,主所属)"
        )
        imports.add_argument(
            "--remove-missing",
            action="store_true",
            help="end the body's memberships that the staff file does not list (人事異動)",
        )
        imports.add_argument("--dry-run", action="store_true", help="report, change nothing")
        listing = sub.add_parser("list", help="print the units of a body with their members")
        listing.add_argument("--body", required=True)

    def _body(self, code: str):
        body = selectors.body_by_code(code)
        if body is None:
            raise CommandError(
                f"No body with code {code} / 団体コード {code} の団体がありません", returncode=2
            )
        return body

    def _read(self, name: str | None) -> bytes | None:
        if not name:
            return None
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"{name}: {exc.strerror} / 読めません", returncode=2) from exc

    def handle(self, *args, action: str, **options):
        body = self._body(options["body"])
        if action == "list":
            for unit in selectors.units_of_body(body):
                depth = unit.path.count("/") - 3
                retired = "" if unit.is_active else "  (廃止 / retired)"
                self.stdout.write(f"{'  ' * depth}{unit.code}  {unit.name}{retired}")
                for membership in selectors.members_of(unit):
                    roles = ",".join(membership.roles)
                    self.stdout.write(
                        f"{'  ' * depth}  - {membership.user.email}  {membership.position.name}  {roles}"
                    )
            return
        units = self._read(options.get("units"))
        staff = self._read(options.get("staff"))
        if units is None and staff is None:
            raise CommandError(
                "Give --units and/or --staff / ファイルを指定してください", returncode=2
            )
        try:
            report = services.import_organisation(
                actor=None,
                body=body,
                units_csv=units,
                staff_csv=staff,
                remove_missing=options["remove_missing"],
                dry_run=options["dry_run"],
                units_name=options.get("units") or "units.csv",
                staff_name=options.get("staff") or "staff.csv",
            )
        except services.ImportRejected as exc:
            for problem in exc.problems:
                self.stderr.write(problem.format())
            raise CommandError(f"{exc.en} / {exc.ja}", returncode=1) from exc
        except services.OrganisationError as exc:
            raise CommandError(f"{exc.en} / {exc.ja}", returncode=1) from exc
        prefix = "dry run (nothing changed) / 試行（変更なし）: " if report.dry_run else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}units created {report.units_created}, updated {report.units_updated}, "
                f"unchanged {report.units_unchanged}; accounts created {report.accounts_created}; "
                f"memberships added {report.memberships_added}, positions changed "
                f"{report.positions_changed}, removed {report.memberships_removed}; roles granted "
                f"{report.roles_granted}, revoked {report.roles_revoked}"
            )
        )
