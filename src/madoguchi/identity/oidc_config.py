"""OpenID Connect providers from configuration, with the profiles they start from.

Imported by the settings (to refuse a wrong configuration at start) and at run time, so it
imports nothing that needs Django to be set up.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

ACCOUNT, MFA, MYNUMBER_CARD = "account", "mfa", "mynumber_card"
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
AUDIENCES = ("residents", "staff")

# What a provider starts from; every key can be overridden per provider.
PROFILES: dict[str, dict[str, Any]] = {
    # デジタル庁「デジタル認証アプリ」: My Number Card authentication over OpenID Connect.
    # Authorization code flow only, state and PKCE S256, the 基本4情報 as scopes, the
    # assurance level asked with acr_values, the client authenticated with a signed JWT.
    "digital_agency": {
        "label": "マイナンバーカード（デジタル認証アプリ）",
        "scopes": "openid name address birthdate gender",
        "acr_values": "aal3",
        "level": MYNUMBER_CARD,
        "auth_method": "private_key_jwt",
        "userinfo": True,
        "claims": "digital_agency",
        "mfa_amr": [],
    },
    # Any certified OpenID Connect provider with the standard claims.
    "generic": {
        "label": "外部のアカウント",
        "scopes": "openid profile email address",
        "acr_values": "",
        "level": ACCOUNT,
        "auth_method": "client_secret_basic",
        "userinfo": True,
        "claims": "standard",
        "mfa_amr": ["mfa"],
    },
}


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    profile: str
    issuer: str
    client_id: str
    label: str
    scopes: str
    acr_values: str
    level: str
    auth_method: str
    userinfo: bool
    claims: str
    audience: str = "residents"
    client_secret: str = ""
    private_key: str = ""
    private_key_id: str = ""
    mfa_amr: list[str] = field(default_factory=list)
    link_by_email: bool = False
    timeout: float = 10.0

    @property
    def required_acr(self) -> list[str]:
        return self.acr_values.split()

    def public(self) -> dict[str, str]:
        return {"name": self.name, "label": self.label, "level": self.level}


_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _problem(name: str, text: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"OpenID Connect provider {name!r}: {text}; see docs/identity.md.")


def build(raw: dict[str, Any]) -> ProviderConfig:
    """A provider from a dictionary (the settings' list, or the environment), checked."""
    name = str(raw.get("name", ""))
    if not _NAME.match(name):
        raise _problem(name, "the name must be lower-case letters, digits, - or _")
    profile = str(raw.get("profile") or "generic")
    if profile not in PROFILES:
        raise _problem(name, f"unknown profile {profile!r} (use {', '.join(PROFILES)})")
    values: dict[str, Any] = {**PROFILES[profile], **{k: v for k, v in raw.items() if v != ""}}
    issuer = str(values.get("issuer", "")).rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise _problem(name, "the issuer must be an https:// URL")
    if not values.get("client_id"):
        raise _problem(name, "client_id is required")
    if values["auth_method"] not in AUTH_METHODS:
        raise _problem(name, f"auth_method must be one of {', '.join(AUTH_METHODS)}")
    if values["auth_method"] == "private_key_jwt":
        if not values.get("private_key"):
            raise _problem(name, "private_key_jwt needs a private key (PRIVATE_KEY_FILE)")
        try:
            signing_algorithm(str(values["private_key"]))
        except ValueError:
            raise _problem(name, "the private key must be an RSA or EC P-256 key in PEM") from None
    if values["auth_method"] != "private_key_jwt" and not values.get("client_secret"):
        raise _problem(name, f"{values['auth_method']} needs a client secret")
    if values["level"] not in (ACCOUNT, MFA, MYNUMBER_CARD):
        raise _problem(name, "level must be account, mfa or mynumber_card")
    audience = values.get("audience", "residents")
    if audience not in AUDIENCES:
        raise _problem(name, "audience must be residents or staff")
    if "openid" not in str(values["scopes"]).split():
        raise _problem(name, "the scopes must include openid")
    amr = values.get("mfa_amr", [])
    if isinstance(amr, str):
        amr = [item.strip() for item in amr.split(",") if item.strip()]
    return ProviderConfig(
        name=name,
        profile=profile,
        issuer=issuer,
        client_id=str(values["client_id"]),
        client_secret=str(values.get("client_secret", "")),
        private_key=str(values.get("private_key", "")),
        private_key_id=str(values.get("private_key_id", "")),
        label=str(values["label"]),
        scopes=" ".join(str(values["scopes"]).split()),
        acr_values=" ".join(str(values.get("acr_values", "")).split()),
        level=values["level"],
        auth_method=values["auth_method"],
        userinfo=_truthy(values.get("userinfo", True)),
        claims=str(values.get("claims", "standard")),
        audience=audience,
        mfa_amr=list(amr),
        link_by_email=_truthy(values.get("link_by_email", False)) and audience == "staff",
        timeout=float(values.get("timeout", 10)),
    )


def signing_algorithm(private_key_pem: str) -> str:
    """RS256 for an RSA key, ES256 for an EC P-256 key (the client assertion's alg)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a PEM private key") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return "ES256"
    raise ValueError("unsupported key type")


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


# Environment variables per provider: MADOGUCHI_OIDC_<NAME>_<KEY>.
_ENV_KEYS = (
    "PROFILE",
    "ISSUER",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "PRIVATE_KEY_FILE",
    "PRIVATE_KEY_ID",
    "AUTH_METHOD",
    "SCOPES",
    "ACR_VALUES",
    "LEVEL",
    "LABEL",
    "AUDIENCE",
    "USERINFO",
    "MFA_AMR",
    "LINK_BY_EMAIL",
    "TIMEOUT",
)


def from_environment(environ: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """`MADOGUCHI_OIDC_PROVIDERS=mynacard,directory` and the variables of each."""
    environ = os.environ if environ is None else environ
    names = [n.strip() for n in environ.get("MADOGUCHI_OIDC_PROVIDERS", "").split(",") if n.strip()]
    providers = []
    for name in names:
        prefix = "MADOGUCHI_OIDC_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"
        raw: dict[str, Any] = {"name": name}
        for key in _ENV_KEYS:
            value = environ.get(prefix + key)
            if value is not None:
                raw[key.lower()] = value
        key_file = raw.pop("private_key_file", "")
        if key_file:
            try:
                raw["private_key"] = Path(key_file).read_text()
            except OSError as exc:
                raise _problem(name, f"cannot read {prefix}PRIVATE_KEY_FILE ({exc})") from None
        build(raw)
        providers.append(raw)
    if len({p["name"] for p in providers}) != len(providers):
        raise ImproperlyConfigured("MADOGUCHI_OIDC_PROVIDERS names a provider twice.")
    return providers
