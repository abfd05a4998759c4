"""madoguchi records sync|expired|execute|release-holds|export-register — docs/records.md."""

from __future__ import annotations

import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "The records register (行政文書ファイル管理簿): filing, expired files, disposition."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        sync = sub.add_parser("sync", help="file the applications and 起案文書 nobody filed")
        sync.add_argument(
            "--interval", type=float, default=None, help="keep running every N seconds"
        )
        expired = sub.add_parser("expired", help="list the files whose retention has expired")
        expired.add_argument("--body", required=True, help="団体コード")
        execute = sub.add_parser(
            "execute", help="carry out an APPROVED disposition proposal (refused otherwise)"
        )
        execute.add_argument("proposal")
        sub.add_parser("release-holds", help="end the holds whose end date has passed")
        register = sub.add_parser(
            "export-register", help="the public register as CSV (UTF-8 with BOM)"
        )
        register.add_argument("--body", required=True)
        register.add_argument("output", help="a file, or - for standard output")

    def handle(self, *args, **options) -> None:
        getattr(self, "_" + options["action"].replace("-", "_"))(options)

    def _sync(self, options) -> None:
        from madoguchi.records.services import sync_register

        while True:
            filed = sync_register()
            self.stdout.write(f"filed {filed} records")
            if options["interval"] is None:
                return
            time.sleep(options["interval"])

    def _body(self, code: str):
        from madoguchi.organisation.selectors import body_by_code

        body = body_by_code(code)
        if body is None:
            raise CommandError(f"no body with the code {code!r}")
        return body

    def _expired(self, options) -> None:
        from madoguchi.records.selectors import expired_in

        for file in expired_in([self._body(options["body"])]):
            self.stdout.write(
                f"{file.pk}\t{file.expiry}\t{file.get_disposition_display()}\t{file.title}"
            )

    def _execute(self, options) -> None:
        from madoguchi.records.models import DispositionProposal
        from madoguchi.records.services import RecordsError, execute_disposition

        try:
            proposal = DispositionProposal.objects.filter(pk=options["proposal"]).first()
        except ValidationError:  # not a UUID: there is no such proposal either
            proposal = None
        if proposal is None:
            raise CommandError(f"no proposal {options['proposal']} / 廃棄案がありません")
        try:
            execute_disposition(proposal=proposal)
        except RecordsError as exc:
            raise CommandError(f"{exc.ja} ({exc.en})") from None
        self.stdout.write(f"{proposal.get_action_display()}: done")

    def _release_holds(self, options) -> None:
        from madoguchi.records.services import release_expired_holds

        self.stdout.write(f"released {release_expired_holds()} holds")

    def _export_register(self, options) -> None:
        from madoguchi.records.exports import register_csv_rows
        from madoguchi.records.selectors import public_register

        body = self._body(options["body"])
        lines = register_csv_rows(public_register(body))
        if options["output"] == "-":
            for line in lines:
                sys.stdout.write(
                    line.decode("utf-8-sig") if line.startswith(b"\xef\xbb\xbf") else line.decode()
                )
            return
        try:
            with open(options["output"], "wb") as handle:
                for line in lines:
                    handle.write(line)
        except OSError as exc:
            raise CommandError(
                f"cannot write {options['output']}: {exc.strerror} / 書き込めません"
            ) from exc
