"""The OpenID Connect relying party: authorization code flow with PKCE (S256), state and
nonce, the ID token's signature checked against the provider's published keys and its
claims validated (OpenID Connect Core 1.0, 3.1.3.7), `acr`/`amr` read.

Authlib builds the authorization request and makes the token request (with any of the
client authentication methods a provider asks for); joserfc verifies the ID token. The
state of a flow in progress lives in the person's session, keyed by its `state`, so that a
second tab or a second web node finds it (decision 0012).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from django.conf import settings
from django.core.cache import cache
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from . import oidc_config
from .oidc_config import ProviderConfig

logger = logging.getLogger(__name__)

FLOWS_KEY = "madoguchi_oidc_flows"
FLOW_MAX_AGE = 600  # seconds a person has at the provider before the flow is forgotten
MAX_FLOWS = 5
LEEWAY = 60  # seconds of clock difference tolerated between the provider and us
MAX_TOKEN_AGE = 600  # an ID token issued longer ago than this is not accepted
METADATA_TTL = 3600
# Asymmetric algorithms only: a symmetric (HS*) token would be signed with our own client
# secret, and "none" is no signature at all.
ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]


class OidcError(Exception):
    """A log-in at a provider that cannot be accepted; `ja` is shown to the person."""

    def __init__(self, code: str, ja: str, en: str) -> None:
        super().__init__(en)
        self.code, self.ja, self.en = code, ja, en


def _unavailable() -> OidcError:
    return OidcError(
        "provider_unavailable",
        "ログイン先のサービスに接続できませんでした。しばらくしてからもう一度お試しください。"
        "メールアドレスとパスワードでのログインは引き続き利用できます。",
        "The identity provider cannot be reached; try again later.",
    )


def _rejected(en: str) -> OidcError:
    # The details (which claim, which check) go to the log for operators, not to the page.
    logger.warning("OpenID Connect log-in rejected: %s", en)
    return OidcError(
        "invalid_id_token",
        "ログイン先のサービスからの応答を確認できなかったため、ログインできませんでした。"
        "もう一度最初からお試しください。",
        f"The identity provider's response was rejected: {en}",
    )


@dataclass
class Authenticated:
    """A person authenticated by a provider, after every check has passed."""

    provider: ProviderConfig
    issuer: str
    subject: str
    claims: dict[str, Any]
    acr: str = ""
    amr: list[str] = field(default_factory=list)
    level: str = oidc_config.ACCOUNT


# --- configuration --------------------------------------------------------------------


def providers(audience: str | None = None) -> list[ProviderConfig]:
    configured = [oidc_config.build(raw) for raw in settings.MADOGUCHI_OIDC_PROVIDERS]
    return [p for p in configured if audience is None or p.audience == audience]


def provider(name: str) -> ProviderConfig | None:
    return next((p for p in providers() if p.name == name), None)


def metadata(p: ProviderConfig, *, refresh: bool = False) -> dict[str, Any]:
    """The provider's discovery document, cached (shared by every web node)."""
    key = "oidc:metadata:" + hashlib.sha256(p.issuer.encode()).hexdigest()
    document = None if refresh else cache.get(key)
    if document is None:
        try:
            response = requests.get(
                p.issuer + "/.well-known/openid-configuration", timeout=p.timeout
            )
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning("OpenID Connect discovery of %s failed: %s", p.name, type(exc).__name__)
            raise _unavailable() from None
        # The document must be the issuer's own (OpenID Connect Discovery 1.0, 4.3).
        if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != p.issuer:
            raise _rejected("discovery document of another issuer")
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(endpoint), str):
                raise _rejected(f"discovery document without {endpoint}")
        cache.set(key, document, METADATA_TTL)
    return document


def _keys(p: ProviderConfig, meta: dict[str, Any], *, refresh: bool = False) -> KeySet:
    key = "oidc:jwks:" + hashlib.sha256(meta["jwks_uri"].encode()).hexdigest()
    published = None if refresh else cache.get(key)
    if published is None:
        try:
            response = requests.get(meta["jwks_uri"], timeout=p.timeout)
            response.raise_for_status()
            published = response.json()
        except (requests.RequestException, ValueError):
            raise _unavailable() from None
        cache.set(key, published, METADATA_TTL)
    try:
        return KeySet.import_key_set(published)
    except (JoseError, ValueError, TypeError, KeyError):
        raise _rejected("the provider's key set cannot be read") from None


# --- the flow ---------------------------------------------------------------------------


def redirect_uri(p: ProviderConfig) -> str:
    from django.urls import reverse

    # From configuration, never from the Host header of the request.
    return settings.MADOGUCHI_BASE_URL.rstrip("/") + reverse(
        "identity:oidc_callback", args=[p.name]
    )


def _session(p: ProviderConfig, meta: dict[str, Any]) -> OAuth2Session:
    kwargs: dict[str, Any] = {
        "scope": p.scopes,
        "redirect_uri": redirect_uri(p),
        "code_challenge_method": "S256",
        "token_endpoint_auth_method": p.auth_method,
    }
    if p.auth_method == "private_key_jwt":
        session = OAuth2Session(p.client_id, p.private_key, **kwargs)
        headers = {"kid": p.private_key_id} if p.private_key_id else None
        alg = oidc_config.signing_algorithm(p.private_key)
        session.register_client_auth_method(
            PrivateKeyJWT(meta["token_endpoint"], headers=headers, alg=alg)
        )
        return session
    return OAuth2Session(p.client_id, p.client_secret, **kwargs)


def begin(request, p: ProviderConfig, *, intent: str, next_url: str = "") -> str:
    """The URL of the provider's authorization endpoint for a new flow, remembered in the
    session under its state."""
    meta = metadata(p)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    extra: dict[str, str] = {"nonce": nonce}
    if p.acr_values:
        extra["acr_values"] = p.acr_values
    if intent in ("reauthenticate", "step_up"):
        # A fresh authentication at the provider, not a session it still remembers.
        extra["prompt"] = "login"
        extra["max_age"] = "0"
    url, _state = _session(p, meta).create_authorization_url(
        meta["authorization_endpoint"], state=state, code_verifier=verifier, **extra
    )
    flows = {
        key: value
        for key, value in (request.session.get(FLOWS_KEY) or {}).items()
        if time.time() - value.get("at", 0) < FLOW_MAX_AGE
    }
    while len(flows) >= MAX_FLOWS:
        flows.pop(min(flows, key=lambda k: flows[k]["at"]))
    flows[state] = {
        "provider": p.name,
        "verifier": verifier,
        "nonce": nonce,
        "intent": intent,
        "next": next_url,
        "at": time.time(),
    }
    request.session[FLOWS_KEY] = flows
    return url


def take_flow(request, state: str) -> dict[str, Any]:
    """The flow a callback belongs to, removed from the session: a state is used once."""
    flows = dict(request.session.get(FLOWS_KEY) or {})
    flow = flows.pop(state, None) if state else None
    request.session[FLOWS_KEY] = flows
    if flow is None or time.time() - flow.get("at", 0) >= FLOW_MAX_AGE:
        raise OidcError(
            "state_mismatch",
            "ログインの手続きが見つからないか、時間が経ちすぎています。もう一度最初からお試しください。",
            "Unknown, used or expired state.",
        )
    return flow


def complete(p: ProviderConfig, flow: dict[str, Any], params: dict[str, str]) -> Authenticated:
    """Checks the provider's answer to a flow and returns who was authenticated."""
    if params.get("error"):
        if params["error"] in ("access_denied", "login_required", "consent_required"):
            raise OidcError(
                "cancelled",
                "ログイン先のサービスで本人確認が完了しませんでした。もう一度お試しください。",
                f"The provider returned {params['error']}.",
            )
        raise _rejected(f"authorization error {params['error'][:50]!r}")
    meta = metadata(p)
    # RFC 9207: when the provider names itself in the response, it must be the one asked.
    if params.get("iss") and params["iss"].rstrip("/") != p.issuer:
        raise _rejected("authorization response from another issuer")
    code = params.get("code", "")
    if not code:
        raise _rejected("authorization response without a code")
    session = _session(p, meta)
    try:
        token = session.fetch_token(
            meta["token_endpoint"],
            code=code,
            code_verifier=flow["verifier"],
            redirect_uri=redirect_uri(p),
            timeout=p.timeout,
        )
    except requests.RequestException:
        raise _unavailable() from None
    except OAuthError as exc:
        # invalid_grant: a code used twice, expired, or not ours (PKCE mismatch).
        logger.warning(
            "OpenID Connect token request at %s refused: %s", p.name, str(exc.error)[:80]
        )
        raise OidcError(
            "code_refused",
            "ログイン先のサービスがこのログインを受け付けませんでした（時間が経ちすぎたか、"
            "同じ画面が二度送信されました）。もう一度最初からお試しください。",
            f"The token endpoint refused the code: {exc.error}",
        ) from None
    except ValueError:
        raise _unavailable() from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise _rejected("token response without an ID token")
    claims = validate_id_token(
        p, meta, id_token, nonce=flow["nonce"], access_token=token.get("access_token")
    )
    merged = dict(claims)
    if p.userinfo and meta.get("userinfo_endpoint") and token.get("access_token"):
        merged = {**_userinfo(p, meta, token["access_token"], claims["sub"]), **claims}
    acr = claims.get("acr") if isinstance(claims.get("acr"), str) else ""
    amr = [item for item in claims.get("amr") or [] if isinstance(item, str)]
    if p.required_acr and acr not in p.required_acr:
        logger.warning("OpenID Connect log-in at %s with acr %r", p.name, acr[:40])
        raise OidcError(
            "acr_insufficient",
            "求められた方法（マイナンバーカードなど）での本人確認が行われませんでした。"
            "もう一度お試しください。",
            f"The provider authenticated with acr {acr!r}, not {p.acr_values!r}.",
        )
    return Authenticated(
        provider=p,
        issuer=p.issuer,
        subject=claims["sub"],
        claims=merged,
        acr=acr,
        amr=amr,
        level=level_of(p, amr),
    )


def level_of(p: ProviderConfig, amr: list[str]) -> str:
    if p.level == oidc_config.ACCOUNT and set(amr) & set(p.mfa_amr):
        return oidc_config.MFA
    return p.level


def _left_hash(value: str, alg: str) -> str:
    # OpenID Connect Core 3.1.3.6: the left half of the hash that goes with the JWS alg.
    digest = getattr(hashlib, "sha" + (alg[2:] if alg[2:] in ("256", "384", "512") else "256"))(
        value.encode()
    ).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def validate_id_token(
    p: ProviderConfig,
    meta: dict[str, Any],
    id_token: str,
    *,
    nonce: str,
    access_token: str | None = None,
) -> dict[str, Any]:
    """Signature against the provider's keys, then iss, aud, azp, exp, iat, nonce."""
    try:
        header = jws.extract_compact(id_token.encode()).headers()
    except (JoseError, ValueError, TypeError):
        raise _rejected("the ID token is not a signed JWT") from None
    keys = _keys(p, meta)
    kid = header.get("kid")
    if kid and not _has_kid(keys, kid):
        # A key the provider introduced since we fetched its set: fetch it again, once.
        keys = _keys(p, meta, refresh=True)
    try:
        decoded = jwt.decode(id_token, keys, algorithms=ALLOWED_ALGORITHMS)
    except BadSignatureError:
        raise _rejected("bad ID token signature") from None
    except (JoseError, ValueError, TypeError) as exc:
        raise _rejected(f"ID token cannot be verified ({type(exc).__name__})") from None
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": p.issuer},
        sub={"essential": True},
        aud={"essential": True, "value": p.client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise _rejected("expired ID token") from None
    except MissingClaimError as exc:
        raise _rejected(f"ID token without a required claim ({exc})") from None
    except InvalidClaimError as exc:
        raise _rejected(f"invalid ID token claim ({exc})") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != p.client_id:
        raise _rejected("ID token for several audiences without our azp")
    if time.time() - float(claims["iat"]) > MAX_TOKEN_AGE + LEEWAY:
        raise _rejected("ID token issued too long ago")
    if not isinstance(claims["sub"], str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise _rejected("ID token with an unusable sub")
    at_hash = claims.get("at_hash")
    if access_token and isinstance(at_hash, str):
        expected = _left_hash(access_token, str(header.get("alg", "")))
        if not hmac.compare_digest(at_hash, expected):
            raise _rejected("at_hash does not match the access token")
    return claims


def _has_kid(keys: KeySet, kid: str) -> bool:
    try:
        keys.get_by_kid(kid)
    except (JoseError, ValueError, KeyError):
        return False
    return True


def _userinfo(p: ProviderConfig, meta: dict[str, Any], access_token: str, sub: str) -> dict:
    try:
        response = requests.get(
            meta["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=p.timeout,
        )
        response.raise_for_status()
        info = response.json()
    except (requests.RequestException, ValueError):
        raise _unavailable() from None
    # OpenID Connect Core 5.3.2: the UserInfo must be about the person of the ID token.
    if not isinstance(info, dict) or info.get("sub") != sub:
        raise _rejected("UserInfo about another subject")
    return info
