from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Identity: `identity providers [--check]` lists the OpenID Connect providers (and "
        "reaches each one); `identity demo-totp EMAIL` prints a sample staff member's current "
        "TOTP code (demo only)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        providers = sub.add_parser("providers", help="the configured OpenID Connect providers")
        providers.add_argument(
            "--check", action="store_true", help="fetch each provider's discovery document and keys"
        )
        demo = sub.add_parser("demo-totp", help="the current code of a sample staff member")
        demo.add_argument("email")

    def handle(self, *args, action: str, **options):
        if action == "providers":
            return self._providers(check=options["check"])
        return self._demo_totp(options["email"])

    def _providers(self, *, check: bool) -> None:
        from madoguchi.identity import oidc

        configured = oidc.providers()
        if not configured:
            self.stdout.write(
                "No OpenID Connect provider is configured (MADOGUCHI_OIDC_PROVIDERS)."
            )
            return
        failed = 0
        for provider in configured:
            line = (
                f"{provider.name:<16} {provider.profile:<15} {provider.audience:<9} "
                f"level={provider.level:<13} {provider.issuer}"
            )
            if check:
                try:
                    meta = oidc.metadata(provider, refresh=True)
                    oidc._keys(provider, meta, refresh=True)
                    line += "  reachable"
                except oidc.OidcError as exc:
                    failed += 1
                    line += f"  FAILED: {exc.en}"
            self.stdout.write(line)
        if failed:
            raise CommandError(f"{failed} provider(s) cannot be used")

    def _demo_totp(self, email: str) -> None:
        from allauth.mfa.models import Authenticator

        from madoguchi.identity.services import totp_code
        from madoguchi.sample.data import DEMO_TOTP_SECRET

        if not settings.MADOGUCHI_DEMO_IDENTITY:
            raise CommandError("Demo codes exist only in the sample deployment (DEBUG on).")
        authenticator = Authenticator.objects.filter(
            user__email__iexact=email, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None or not authenticator.data.get("secret"):
            raise CommandError(f"{email} has no TOTP authenticator.")
        from allauth.mfa.adapter import get_adapter

        secret = get_adapter().decrypt(authenticator.data["secret"])
        if secret != DEMO_TOTP_SECRET:
            # Only the sample's demo secret: never a real person's second factor.
            raise CommandError(f"{email} does not use the demo secret.")
        remaining = 30 - int(time.time()) % 30
        self.stdout.write(f"{totp_code(secret)}  (demo; valid for {remaining} more seconds)")
