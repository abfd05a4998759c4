"""madoguchi ledger sequence|export|verify|check|keygen — see docs/ledger.md."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "The tamper-evident ledger: sequence events, export, verify, check, make keys."
    # A worker and an auditor's tool: other capabilities' configuration checks (signing
    # keys of issued documents …) must not stop the ledger.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))

        sequence = sub.add_parser("sequence", help="append queued events and sign checkpoints")
        sequence.add_argument(
            "--interval",
            type=float,
            default=None,
            help="keep running, sequencing every N seconds (a worker); without it: once",
        )
        sequence.add_argument("--batch-size", type=int, default=None)

        export = sub.add_parser("export", help="write a bundle for offline verification")
        export.add_argument("directory", type=Path)
        export.add_argument(
            "--log", action="append", dest="logs", help="a body code or 'deployment'"
        )
        export.add_argument(
            "--content", action="store_true", help="include the files and records the entries hash"
        )

        verify = sub.add_parser("verify", help="verify an export offline (see tools/verifier.py)")
        verify.add_argument("directory", type=Path)
        verify.add_argument("--public-key", type=Path, required=True)
        verify.add_argument("--content", action="store_true")

        sub.add_parser("check", help="check the database: events, entries, tiles, checkpoints")

        keygen = sub.add_parser("keygen", help="make a signing key for a log origin")
        keygen.add_argument("origin", help="the origin, or a body code (992011) or 'deployment'")
        keygen.add_argument(
            "--dir", type=Path, default=None, help="default: MADOGUCHI_LEDGER_KEY_DIR"
        )

    def handle(self, *args, **options) -> None:
        getattr(self, f"_{options['action']}")(options)

    # --- sequence -----------------------------------------------------------------------

    def _sequence(self, options) -> None:
        from madoguchi.ledger.keys import LedgerKeyError, LedgerKeyMissing
        from madoguchi.ledger.sequencer import sequence_pending

        batch = options["batch_size"]
        if batch is None:
            batch = settings.MADOGUCHI_LEDGER_BATCH_SIZE
        if batch < 1:
            raise CommandError(f"--batch-size must be at least 1, not {batch}")
        interval = options["interval"]
        if interval is not None and interval <= 0:
            raise CommandError("--interval must be a positive number of seconds")
        stopping = {"now": False}

        def stop(signum, frame):
            # Finish the batch in progress (it is one transaction), then leave.
            stopping["now"] = True

        if interval is not None:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        while True:
            try:
                result = sequence_pending(limit=batch, until_partial_batch=interval is not None)
            except (LedgerKeyMissing, LedgerKeyError) as exc:
                if interval is None:
                    raise CommandError(str(exc)) from None
                self.stderr.write(f"ledger: {exc}")
                result = None
            if result and result.appended:
                sizes = ", ".join(
                    f"{origin} → {size}" for origin, size in sorted(result.checkpoints.items())
                )
                self.stdout.write(f"sequenced {result.appended} events: {sizes}")
                self.stdout.flush()
            elif interval is None:
                self.stdout.write("nothing to sequence")
            if interval is None or stopping["now"]:
                return
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline and not stopping["now"]:
                time.sleep(min(0.2, interval))
            if stopping["now"]:
                return

    # --- export, verify, check ----------------------------------------------------------

    def _export(self, options) -> None:
        from madoguchi.ledger.export import ExportError, export_ledger

        try:
            result = export_ledger(
                options["directory"], names=options["logs"], content=options["content"]
            )
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        for item in result.logs:
            self.stdout.write(f"{item['origin']}: {item['size']} entries")
        if options["content"]:
            self.stdout.write(f"content files: {result.content_files}")
        self.stdout.write(f"written to {result.directory}")

    def _verify(self, options) -> None:
        from madoguchi.ledger.verifier import main

        argv = [str(options["directory"]), "--public-key", str(options["public_key"])]
        if options["content"]:
            argv.append("--content")
        status = main(argv, out=self.stdout, err=self.stderr)
        if status:
            sys.exit(status)

    def _check(self, options) -> None:
        from madoguchi.ledger.check import check_database

        result = check_database()
        for problem in result.problems:
            self.stdout.write(f"problem: {problem}")
        self.stdout.write(
            f"{result.entries} entries checked, {result.pending} events waiting for the sequencer"
        )
        if result.problems:
            sys.exit(1)
        self.stdout.write("ok")

    # --- keygen -------------------------------------------------------------------------

    def _keygen(self, options) -> None:
        from madoguchi.ledger.keys import origin_for, write_key
        from madoguchi.ledger.note import NoteError, Signer

        origin = options["origin"]
        if origin == "deployment" or (origin.isdigit() and len(origin) == 6):
            origin = origin_for(None if origin == "deployment" else origin)
        directory = options["dir"] or Path(settings.MADOGUCHI_LEDGER_KEY_DIR)
        try:
            signer = Signer.generate(origin)
        except NoteError as exc:
            raise CommandError(str(exc)) from None
        try:
            path = write_key(signer, directory)
        except FileExistsError:
            raise CommandError(f"a key file for {origin} already exists in {directory}") from None
        self.stdout.write(f"signer key written to {path} (keep it secret; back it up)")
        self.stdout.write("public key, to publish:")
        self.stdout.write(signer.verifier().to_string())
