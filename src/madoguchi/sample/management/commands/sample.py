from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from madoguchi.sample import data, services


class Command(BaseCommand):
    help = "The sample municipality: `sample load [--if-empty]`, `sample logins`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load",
            help="load the sample prefecture, municipalities, staff, residents and procedures",
        )
        load.add_argument(
            "--if-empty", action="store_true", help="do nothing if the database already has bodies"
        )
        load.add_argument(
            "--force", action="store_true", help="allow loading with DEBUG off (demo passwords!)"
        )
        load.add_argument("--without-applications", action="store_true")
        sub.add_parser("logins", help="print the sample log-ins")

    def handle(self, *args, action: str, **options):
        if action == "load":
            if not services.demo_allowed() and not options["force"]:
                raise CommandError(
                    "The sample has demo passwords; it is loaded only with DEBUG on (or --force)."
                )
            if options["if_empty"] and services.is_loaded():
                self.stdout.write("The database already has data; the sample was not loaded again.")
            else:
                services.load_sample(with_applications=not options["without_applications"])
                self.stdout.write(self.style.SUCCESS("Sample municipality loaded."))
        self._print_logins()

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write("Sample log-ins (demo only) / 見本のログイン（デモ用）:")
        for email, password, note in services.sample_logins():
            self.stdout.write(f"  {email:<36} {password}  {note}")
        self.stdout.write("")
        self.stdout.write(
            "Staff also need a second factor (demo TOTP) / 職員は2段階認証のコードも必要です（デモ用）:"
        )
        self.stdout.write(
            "  DEBUG=1 .venv/bin/madoguchi identity demo-totp <staff e-mail>   (the current code)"
        )
        self.stdout.write(f"  TOTP secret for an authenticator app: {data.DEMO_TOTP_SECRET}")
        self.stdout.write("")
