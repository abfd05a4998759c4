"""The ID token's claims, each check on its own (OpenID Connect Core 3.1.3.7): tokens signed
by a key whose set is served over HTTP on loopback, as a provider publishes it, and given
to the same validation the log-in uses. The end-to-end flow against a real provider is in
test_oidc_login.py and test_oidc_failures.py; these are the claims that provider cannot be
made to get wrong."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from madoguchi.identity import oidc
from madoguchi.identity.oidc_config import ProviderConfig

ISSUER = "https://id.example.jp"
CLIENT = "madoguchi-test"
NONCE = "nonce-" + "a" * 20
ACCESS_TOKEN = "access-token-for-the-userinfo"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


@pytest.fixture(scope="module")
def jwks_uri(key):
    published = json.dumps(KeySet([key]).as_dict(private=False)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(published)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json?{uuid.uuid4().hex}"
    server.shutdown()


def _provider() -> ProviderConfig:
    return ProviderConfig(
        name="claims",
        profile="generic",
        issuer=ISSUER,
        client_id=CLIENT,
        label="テスト",
        scopes="openid",
        acr_values="",
        level="account",
        auth_method="client_secret_basic",
        userinfo=False,
        claims="",
        timeout=5,
    )


def _token(key, **changes) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "resident-1",
        "aud": CLIENT,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "at_hash": oidc._left_hash(ACCESS_TOKEN, "RS256"),
    }
    # "iat" and "exp" in `changes` are seconds from now.
    claims.update(
        {name: now + value if name in ("iat", "exp") else value for name, value in changes.items()}
    )
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def _validate(jwks_uri, token):
    return oidc.validate_id_token(
        _provider(), {"jwks_uri": jwks_uri}, token, nonce=NONCE, access_token=ACCESS_TOKEN
    )


def test_a_good_token_passes(key, jwks_uri):
    assert _validate(jwks_uri, _token(key))["sub"] == "resident-1"


# Times as offsets from when the test runs (not from when it was collected: a suite
# collected long before this test runs would see every token expired).
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "another-client"}, "invalid ID token claim"),
        ({"iss": "https://other.example.jp"}, "invalid ID token claim"),
        ({"nonce": "another-nonce"}, "invalid ID token claim"),
        ({"aud": [CLIENT, "another-client"]}, "several audiences without our azp"),
        ({"aud": [CLIENT, "another-client"], "azp": "another-client"}, "without our azp"),
        ({"iat": -3600}, "too long ago"),
        ({"exp": -3600}, "expired ID token"),
        ({"at_hash": "not-the-access-tokens-hash"}, "at_hash does not match"),
        ({"sub": None}, "without a required claim"),
        ({"sub": ""}, "invalid ID token claim"),
        ({"nonce": None}, "without a required claim"),
    ],
    ids=[
        "wrong-aud",
        "wrong-iss",
        "wrong-nonce",
        "several-aud-no-azp",
        "several-aud-other-azp",
        "old-iat",
        "expired",
        "bad-at_hash",
        "no-sub",
        "empty-sub",
        "no-nonce",
    ],
)
def test_each_bad_claim_is_refused_with_the_reason_logged(key, jwks_uri, changes, reason, caplog):
    with pytest.raises(oidc.OidcError) as refused:
        _validate(jwks_uri, _token(key, **changes))
    assert refused.value.code == "invalid_id_token"
    assert reason in refused.value.en and reason in caplog.text
    # The person is told what to do, never which check failed.
    assert refused.value.ja.startswith("ログイン先のサービスからの応答を確認できなかった")


def test_a_token_signed_by_another_key_is_refused(jwks_uri):
    other = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
    with pytest.raises(oidc.OidcError) as refused:
        _validate(jwks_uri, _token(other))
    assert "bad ID token signature" in refused.value.en
