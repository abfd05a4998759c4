"""madoguchi backup create|restore|check — see docs/operations.md#backup-and-restore."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Back up the database and files (and keys), restore them, check the files."
    # An operator's tool: it must run when other configuration checks fail (a restore is
    # what one does when things are broken).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        create = sub.add_parser("create", help="write a backup into a new directory")
        create.add_argument("directory", type=Path)
        create.add_argument(
            "--keys",
            action="store_true",
            help="also the key files (ledger, demo signers, embedded secrets): keys.tar",
        )
        restore = sub.add_parser(
            "restore", help="restore into an empty database and a new data directory"
        )
        restore.add_argument("directory", type=Path)
        restore.add_argument("--no-keys", action="store_true", help="leave keys.tar alone")
        sub.add_parser("check", help="open every stored file and compare its SHA-256")

    def handle(self, *args, **options) -> None:
        from madoguchi.operations import backup

        try:
            getattr(self, f"_{options['action']}")(backup, options)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None

    def _create(self, backup, options) -> None:
        result = backup.create_backup(options["directory"], keys=options["keys"])
        for name, digest in result.parts.items():
            self.stdout.write(f"{name}  sha256:{digest}")
        self.stdout.write(f"backup written to {result.directory}")

    def _restore(self, backup, options) -> None:
        manifest = backup.restore_backup(options["directory"], keys=not options["no_keys"])
        self.stdout.write(
            f"restored the backup of {manifest['created_at']} ({manifest['database']}); "
            "now run `madoguchi backup check` and `madoguchi ledger check`"
        )

    def _check(self, backup, options) -> None:
        result = backup.check_files()
        for problem in result.problems:
            self.stdout.write(f"problem: {problem.kind} {problem.pk}: {problem.problem}")
        self.stdout.write(f"{result.checked} files checked")
        if result.problems:
            sys.exit(1)
        self.stdout.write("ok")
