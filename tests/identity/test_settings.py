"""The identity settings in production, loaded in a fresh interpreter (see tests/core)."""

from __future__ import annotations

import os
import subprocess
import sys

from ..core.test_settings import KEY, loaded, refused

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "x" * 50, "MADOGUCHI_ENCRYPTION_KEYS": KEY}
SCRIPT = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "HASHER": s.PASSWORD_HASHERS[0],
    "WEBAUTHN_INSECURE": s.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN,
    "STAFF_MFA": s.MADOGUCHI_STAFF_MFA_REQUIRED,
    "MIN_LENGTH": s.MADOGUCHI_PASSWORD_MIN_LENGTH,
    "PROVIDERS": [p["name"] for p in s.MADOGUCHI_OIDC_PROVIDERS],
    "SESSION_ENGINE": s.SESSION_ENGINE,
}))
"""


def _run(tmp_path, **variables) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def test_production_identity_settings(tmp_path):
    values = loaded(_run(tmp_path, **PRODUCTION))
    assert values["HASHER"] == "madoguchi.identity.hashers.OwaspArgon2PasswordHasher"
    assert values["WEBAUTHN_INSECURE"] is False
    assert values["STAFF_MFA"] is True and values["MIN_LENGTH"] == 15
    assert values["PROVIDERS"] == []
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_staff_mfa_cannot_be_switched_off_in_production(tmp_path):
    refused(_run(tmp_path, **PRODUCTION, MADOGUCHI_STAFF_MFA_REQUIRED="0"), "DEBUG on")
    development = loaded(_run(tmp_path, DEBUG="1", MADOGUCHI_STAFF_MFA_REQUIRED="0"))
    assert development["STAFF_MFA"] is False


def test_a_configured_provider_is_checked_at_start(tmp_path):
    key = tmp_path / "card.pem"
    from .oidc import CLIENT_KEY_PEM

    key.write_text(CLIENT_KEY_PEM)
    card = {
        "MADOGUCHI_OIDC_PROVIDERS": "mynacard",
        "MADOGUCHI_OIDC_MYNACARD_PROFILE": "digital_agency",
        "MADOGUCHI_OIDC_MYNACARD_ISSUER": "https://auth.example.go.jp",
        "MADOGUCHI_OIDC_MYNACARD_CLIENT_ID": "RP00000001",
        "MADOGUCHI_OIDC_MYNACARD_PRIVATE_KEY_FILE": str(key),
    }
    assert loaded(_run(tmp_path, **PRODUCTION, **card))["PROVIDERS"] == ["mynacard"]
    wrong = {**card, "MADOGUCHI_OIDC_MYNACARD_ISSUER": "http://auth.example.go.jp"}
    refused(_run(tmp_path, **PRODUCTION, **wrong), "mynacard")
