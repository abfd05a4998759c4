"""A real OpenID Connect provider for the tests: panva's oidc-provider run with Node on
loopback (tests/identity/oidc_provider), and a person who logs in at it.

`make test` installs the provider with `npm ci`; without it the tests that need it are
skipped with the reason (and fail when MADOGUCHI_REQUIRE_OIDC=1, as in CI).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
BASE_URL = "http://testserver"

# The Digital Agency's app authenticates its clients with a signed JWT (private_key_jwt).
_CLIENT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLIENT_KEY_PEM = _CLIENT_KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
CLIENT_PUBLIC_JWK = {
    **RSAKey.import_key(
        _CLIENT_KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).as_dict(private=False),
    "kid": "madoguchi-test",
    "use": "sig",
    "alg": "RS256",
}


def callback(name: str) -> str:
    return f"{BASE_URL}/account/oidc/{name}/callback/"


def _client(client_id: str, *, secret: str | None = None, jwks: bool = False) -> dict:
    client = {
        "client_id": client_id,
        "redirect_uris": [callback(client_id)],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
    }
    if jwks:
        client |= {
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "RS256",
            "jwks": {"keys": [CLIENT_PUBLIC_JWK]},
        }
    else:
        client |= {"client_secret": secret, "token_endpoint_auth_method": "client_secret_basic"}
    return client


CLIENTS = [
    _client("card", jwks=True),
    _client("generic", secret="generic-secret-for-tests-only"),
    _client("tampered", secret="tampered-secret-for-tests-only"),
    _client("directory", secret="directory-secret-for-tests-only"),
]

CARD = {"acr": "aal3", "amr": ["hwk", "pin"]}
ACCOUNTS = {
    "card-hanako": {
        **CARD,
        "claims": {
            "name": "山田 花子",
            "address": "さくら県あおば市中央一丁目2番3号",
            "birthdate": "1988-06-15",
            "gender": "female",
        },
    },
    "card-ichiro": {
        **CARD,
        "claims": {
            "name": "鈴木　一郎",
            "address": "東京都千代田区千代田1-1",
            "birthdate": "1990-01-15",
            "gender": "male",
        },
    },
    "card-no-birthdate": {
        **CARD,
        "claims": {"name": "高橋 次郎", "address": "東京都千代田区千代田1-1", "gender": "male"},
    },
    "card-aal1": {"acr": "aal1", "amr": ["pwd"], "claims": {"name": "田中 三郎"}},
    "generic-person": {
        "acr": "aal1",
        "amr": ["pwd"],
        "claims": {
            "family_name": "佐藤",
            "given_name": "太郎",
            "email": "taro@example.jp",
            "email_verified": True,
        },
    },
    "directory-kankyo": {
        "acr": "aal2",
        "amr": ["pwd", "otp", "mfa"],
        "claims": {"email": "kankyo.tanto@aoba.example.jp", "email_verified": True},
    },
    "directory-password-only": {
        "acr": "aal1",
        "amr": ["pwd"],
        "claims": {"email": "shimin.tanto@aoba.example.jp", "email_verified": True},
    },
    "directory-unknown": {
        "acr": "aal2",
        "amr": ["mfa"],
        "claims": {"email": "nobody@aoba.example.jp", "email_verified": True},
    },
}


def _require() -> None:
    missing = []
    if shutil.which("node") is None:
        missing.append("node")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        missing.append("tests/identity/oidc_provider/node_modules (run `make test`: npm ci)")
    if missing:
        reason = "the test OpenID Connect provider needs " + ", ".join(missing)
        if os.environ.get("MADOGUCHI_REQUIRE_OIDC") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@contextmanager
def running_provider(*, clock_offset: int = 0, tampered: tuple[str, ...] = ("tampered",)):
    """Starts the provider; yields its issuer URL; stops it."""
    _require()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "OIDC_CLIENTS": json.dumps(CLIENTS),
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS, ensure_ascii=False),
        "OIDC_CLOCK_OFFSET": str(clock_offset),
        "OIDC_TAMPER_CLIENTS": json.dumps(list(tampered)),
        "NODE_NO_WARNINGS": "1",
    }
    process = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=PROVIDER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _w, _x = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line:
            process.kill()
            raise RuntimeError("the OIDC provider did not start: " + process.stderr.read()[-2000:])
        yield json.loads(line)["issuer"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()


def provider_settings(issuer: str, **overrides) -> list[dict]:
    """madoguchi's configuration of the four test clients."""
    providers = [
        {
            "name": "card",
            "profile": "digital_agency",
            "issuer": issuer,
            "client_id": "card",
            "private_key": CLIENT_KEY_PEM,
            "private_key_id": "madoguchi-test",
        },
        {
            "name": "generic",
            "profile": "generic",
            "issuer": issuer,
            "client_id": "generic",
            "client_secret": "generic-secret-for-tests-only",
            "label": "テストのIdP",
        },
        {
            "name": "tampered",
            "profile": "digital_agency",
            "issuer": issuer,
            "client_id": "tampered",
            "auth_method": "client_secret_basic",
            "client_secret": "tampered-secret-for-tests-only",
        },
        {
            "name": "directory",
            "profile": "generic",
            "audience": "staff",
            "issuer": issuer,
            "client_id": "directory",
            "client_secret": "directory-secret-for-tests-only",
            "scopes": "openid email",
            "label": "庁内ディレクトリ",
            "link_by_email": True,
        },
    ]
    for provider in providers:
        provider.update(overrides.get(provider["name"], {}))
    return providers


def log_in_at_provider(authorization_url: str, account: str) -> str:
    """Plays the person at the provider: follows its redirects and submits its log-in
    form; returns the URL the provider sends the browser back to (our callback)."""
    session = requests.Session()
    url = authorization_url
    response = session.get(url, allow_redirects=False, timeout=10)
    for _step in range(10):
        if response.status_code not in (302, 303):
            raise AssertionError(f"provider answered {response.status_code}: {response.text[:500]}")
        url = urljoin(url, response.headers["Location"])
        if url.startswith(BASE_URL + "/"):
            return url
        if "/interaction/" in urlsplit(url).path:
            response = session.post(
                url + "/submit", data={"login": account}, allow_redirects=False, timeout=10
            )
            url = url + "/submit"
        else:
            response = session.get(url, allow_redirects=False, timeout=10)
    raise AssertionError("too many redirects at the provider")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")
