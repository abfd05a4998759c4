from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Issued documents: `documents verify FILE.pdf [--json]` (exit 0 only for a valid, "
        "unrevoked document), `documents issue --pending`, `documents demo-ca`."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check an issued PDF as the public page does")
        verify.add_argument("file")
        verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
        issue = sub.add_parser("issue", help="render and sign documents still pending")
        issue.add_argument("--pending", action="store_true", required=True)
        issue.add_argument("--limit", type=int, default=100)
        sub.add_parser("demo-ca", help="print the path of the demo CA certificate (for pdfsig)")

    def handle(self, *args, action: str, **options):
        if action == "verify":
            self._verify(Path(options["file"]), as_json=options["json"])
        elif action == "issue":
            from madoguchi.issuance.services import issue_pending

            if options["limit"] < 1:
                raise CommandError(f"--limit must be at least 1, not {options['limit']}")
            results = issue_pending(limit=options["limit"])
            self.stdout.write(
                " ".join(f"{key}={value}" for key, value in sorted(results.items()))
                or "none pending"
            )
        else:
            from madoguchi.issuance.keys import SigningConfigError, ensure_demo_ca, load_config

            try:
                demo = load_config().demo
            except SigningConfigError as exc:
                raise CommandError(str(exc), returncode=2) from exc
            if not demo:
                raise CommandError("Real signing keys are configured: there is no demo CA.")
            ca_path, _crl = ensure_demo_ca()
            self.stdout.write(str(ca_path))

    def _verify(self, path: Path, *, as_json: bool) -> None:
        from madoguchi.issuance.verification import verify_pdf

        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                f"cannot read {path}: {exc.strerror} / 読めません", returncode=2
            ) from exc
        result = verify_pdf(data)
        if as_json:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"{result.verdict}: {result.message} / {result.message_en}")
            if result.signer:
                self.stdout.write(f"signer: {result.signer}")
            if result.document is not None:
                document = result.document
                self.stdout.write(
                    f"document: {document.title} {document.number} ({document.body.name}), "
                    f"issued {document.issued_at:%Y-%m-%d %H:%M}"
                    + (f", revoked {document.revoked_at:%Y-%m-%d}" if document.revoked_at else "")
                )
            self.stdout.write(f"sha256: {result.sha256}")
        if not result.ok:
            raise CommandError(f"{path}: not valid: {result.verdict}", returncode=1)
