"""The production settings, loaded in a fresh interpreter with a controlled environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

PYTHON = sys.executable
SCRIPT = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": s.SESSION_COOKIE_HTTPONLY,
    "SESSION_COOKIE_SAMESITE": s.SESSION_COOKIE_SAMESITE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "CSRF_COOKIE_HTTPONLY": s.CSRF_COOKIE_HTTPONLY,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SECURE_CONTENT_TYPE_NOSNIFF": s.SECURE_CONTENT_TYPE_NOSNIFF,
    "X_FRAME_OPTIONS": s.X_FRAME_OPTIONS,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "EMAIL_BACKEND": s.EMAIL_BACKEND,
    "TASKS_BACKEND": s.TASKS["default"]["BACKEND"],
    "MADOGUCHI_DEMO_IDENTITY": s.MADOGUCHI_DEMO_IDENTITY,
    "SECRET_KEY_SET": bool(s.SECRET_KEY),
    "KEYS": len(s.MADOGUCHI_ENCRYPTION_KEYS),
    "STATICFILES": s.STORAGES["staticfiles"]["BACKEND"],
}))
"""


def run_settings(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    """Imports madoguchi.settings in a new process with only these variables set (none of
    the test suite's own: it sets SECRET_KEY and friends in os.environ)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
    }
    env.update(variables)
    return subprocess.run(
        [PYTHON, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def loaded(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def refused(result: subprocess.CompletedProcess, variable: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr, result.stderr[-3000:]
    assert variable in result.stderr.strip().splitlines()[-1]


KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize("secret", [None, ""])
def test_no_secret_key_with_debug_off_is_refused(tmp_path, secret):
    variables = {"DEBUG": "0", "MADOGUCHI_ENCRYPTION_KEYS": KEY}
    if secret is not None:
        variables["SECRET_KEY"] = secret
    refused(run_settings(tmp_path, **variables), "SECRET_KEY")
    # Nothing was generated in its place.
    assert not (tmp_path / "data" / "keys").exists()


def test_debug_off_is_the_default(tmp_path):
    refused(run_settings(tmp_path, MADOGUCHI_ENCRYPTION_KEYS=KEY), "SECRET_KEY")


@pytest.mark.parametrize("keys", [None, "", " , "])
def test_no_encryption_keys_with_debug_off_is_refused(tmp_path, keys):
    variables = {"DEBUG": "0", "SECRET_KEY": "x" * 50}
    if keys is not None:
        variables["MADOGUCHI_ENCRYPTION_KEYS"] = keys
    refused(run_settings(tmp_path, **variables), "MADOGUCHI_ENCRYPTION_KEYS")
    assert not (tmp_path / "data" / "keys").exists()


@pytest.mark.parametrize("keys", ["not-a-fernet-key", f"{KEY},short"])
def test_malformed_encryption_keys_are_refused_at_start(tmp_path, keys):
    """Not at the first My Number a resident submits."""
    result = run_settings(tmp_path, DEBUG="0", SECRET_KEY="x" * 50, MADOGUCHI_ENCRYPTION_KEYS=keys)
    refused(result, "MADOGUCHI_ENCRYPTION_KEYS")
    assert "not-a-fernet-key" not in result.stderr


def test_demo_identity_is_refused_with_debug_off(tmp_path):
    result = run_settings(
        tmp_path,
        DEBUG="0",
        SECRET_KEY="x" * 50,
        MADOGUCHI_ENCRYPTION_KEYS=KEY,
        MADOGUCHI_DEMO_IDENTITY="1",
    )
    refused(result, "MADOGUCHI_DEMO_IDENTITY")


def test_a_malformed_boolean_is_refused(tmp_path):
    refused(run_settings(tmp_path, DEBUG="maybe"), "DEBUG")


def test_production_settings(tmp_path):
    values = loaded(
        run_settings(
            tmp_path,
            DEBUG="0",
            SECRET_KEY="x" * 50,
            MADOGUCHI_ENCRYPTION_KEYS=f"{KEY},{Fernet.generate_key().decode()}",
        )
    )
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["ALLOWED_HOSTS"] == []
    assert values["EMAIL_BACKEND"] == "madoguchi.notifications.backends.UnconfiguredBackend"
    assert values["TASKS_BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert values["MADOGUCHI_DEMO_IDENTITY"] is False
    assert values["KEYS"] == 2
    assert "Manifest" in values["STATICFILES"]
    assert not (tmp_path / "data" / "keys").exists()


def test_development_settings_make_their_own_secrets(tmp_path):
    values = loaded(run_settings(tmp_path, DEBUG="1"))
    assert values["DEBUG"] is True
    assert values["SECRET_KEY_SET"] and values["KEYS"] == 1
    assert values["SESSION_COOKIE_SECURE"] is False  # `make run` serves plain HTTP
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    keys = tmp_path / "data" / "keys"
    for name in ("secret_key", "field_encryption.key"):
        assert (keys / name).stat().st_mode & 0o777 == 0o600
    Fernet((keys / "field_encryption.key").read_text().strip().encode())
    # The same secrets next time (sessions and ciphertexts survive a restart).
    first = (keys / "secret_key").read_text()
    loaded(run_settings(tmp_path, DEBUG="1"))
    assert (keys / "secret_key").read_text() == first


def test_production_cookies_on_a_real_response(tmp_path):
    """The Set-Cookie headers themselves, from Django's middleware under DEBUG off."""
    # Signed-cookie sessions: no database is needed to see the cookie flags.
    script = """
import django
from django.conf import settings
django.setup()
settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.test import RequestFactory

def view(request):
    get_token(request)
    request.session["x"] = 1
    return HttpResponse("ok")

response = SessionMiddleware(CsrfViewMiddleware(view))(RequestFactory().get("/", secure=True))
for cookie in response.cookies.values():
    print(cookie.OutputString())
"""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "DEBUG": "0",
        "SECRET_KEY": "x" * 50,
        "MADOGUCHI_ENCRYPTION_KEYS": KEY,
    }
    result = subprocess.run(
        [PYTHON, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    cookies = {line.split("=", 1)[0]: line for line in result.stdout.splitlines()}
    assert set(cookies) == {"madoguchi_session", "madoguchi_csrf"}
    for line in cookies.values():
        attributes = {part.strip().split("=")[0].lower() for part in line.split(";")}
        assert {"secure", "httponly", "samesite"} <= attributes, line
