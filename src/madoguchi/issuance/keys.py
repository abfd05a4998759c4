"""Signing keys of the issuing bodies: PKCS#12 files, PKCS#11 tokens, or the demo CA.

The configuration is a TOML file named by MADOGUCHI_SIGNING_CONFIG (docs/issuance.md):

    [default]                       # every body without a section of its own
    pkcs12 = "/etc/madoguchi/signing/signer.p12"
    passphrase_file = "/run/secrets/signing-passphrase"

    [bodies."992011"]               # a PKCS#11 token (HSM, LGPKI 職責証明書 card)
    pkcs11_module = "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
    token_label = "aoba"
    key_label = "signer"
    pin_file = "/run/secrets/aoba-pin"
    cert_file = "/etc/madoguchi/signing/aoba.pem"   # optional: else read from the token
    chain_files = ["/etc/madoguchi/signing/lgpki-ca.pem"]

    [timestamp]
    url = "https://tsa.example.jp/"
    trust_anchors = ["/etc/madoguchi/signing/tsa-root.pem"]   # for B-LT

    [verification]
    trust_anchors = ["/etc/madoguchi/signing/lgpki-root.pem"]
    crl_files = []
    fetch_revocation = false

Without a file, and only while the demo identity is on (`make run`, tests), a demo CA and a
signer per body are generated under var/signing/demo/ — named DEMO in every certificate.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from django.conf import settings

DEMO_PASSPHRASE = b"madoguchi-demo"
DEMO_CA_NAME = "madoguchi DEMO CA（見本・本番使用不可）"


class SigningConfigError(Exception):
    """The signing configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class KeySpec:
    """Where one body's signing key lives."""

    source: str  # "pkcs12", "pkcs11" or "demo"
    pkcs12: Path | None = None
    passphrase_file: Path | None = None
    pkcs11_module: str = ""
    token_label: str = ""
    key_label: str = ""
    key_id: bytes | None = None
    cert_label: str = ""
    cert_file: Path | None = None
    pin_file: Path | None = None
    chain_files: tuple[Path, ...] = ()

    def describe(self) -> str:
        if self.source == "pkcs11":
            return f"PKCS#11 token {self.token_label!r} key {self.key_label or self.key_id!r}"
        if self.source == "pkcs12":
            return f"PKCS#12 {self.pkcs12}"
        return "demo key (var/signing/demo)"


@dataclass(frozen=True)
class SigningConfig:
    default: KeySpec | None
    bodies: dict[str, KeySpec] = field(default_factory=dict)
    tsa_url: str = ""
    tsa_username: str = ""
    tsa_password_file: Path | None = None
    tsa_trust_anchors: tuple[Path, ...] = ()
    trust_anchors: tuple[Path, ...] = ()
    crl_files: tuple[Path, ...] = ()
    fetch_revocation: bool = False
    demo: bool = False

    def key_for(self, body_code: str) -> KeySpec:
        spec = self.bodies.get(body_code) or self.default
        if spec is None:
            raise SigningConfigError(
                f'No signing key for body {body_code}: add [bodies."{body_code}"] or '
                f"[default] to {settings.MADOGUCHI_SIGNING_CONFIG}."
            )
        return spec

    @property
    def timestamp_url(self) -> str:
        return settings.MADOGUCHI_TSA_URL or self.tsa_url

    @property
    def timestamp_roots(self) -> tuple[Path, ...]:
        return self.tsa_trust_anchors + tuple(
            Path(item) for item in settings.MADOGUCHI_TSA_TRUST_ANCHORS
        )


def _path(value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise SigningConfigError(f"{where} must be a file path")
    return Path(value)


def _key_spec(table: Any, where: str) -> KeySpec:
    if not isinstance(table, dict):
        raise SigningConfigError(f"[{where}] must be a table")
    known = {
        "pkcs12",
        "passphrase_file",
        "pkcs11_module",
        "token_label",
        "key_label",
        "key_id",
        "cert_label",
        "cert_file",
        "pin_file",
        "chain_files",
    }
    unknown = sorted(set(table) - known)
    if unknown:
        raise SigningConfigError(f"[{where}]: unknown keys {', '.join(unknown)}")
    chain = table.get("chain_files", [])
    if not isinstance(chain, list):
        raise SigningConfigError(f"[{where}] chain_files must be a list of paths")
    chain_files = tuple(_path(item, f"[{where}] chain_files") for item in chain)
    if "pkcs12" in table and "pkcs11_module" in table:
        raise SigningConfigError(f"[{where}]: give either pkcs12 or pkcs11_module, not both")
    if "pkcs12" in table:
        return KeySpec(
            source="pkcs12",
            pkcs12=_path(table["pkcs12"], f"[{where}] pkcs12"),
            passphrase_file=(
                _path(table["passphrase_file"], f"[{where}] passphrase_file")
                if "passphrase_file" in table
                else None
            ),
            chain_files=chain_files,
        )
    if "pkcs11_module" in table:
        if not table.get("key_label") and not table.get("key_id"):
            raise SigningConfigError(f"[{where}]: a PKCS#11 key needs key_label or key_id")
        key_id = table.get("key_id")
        try:
            key_id_bytes = bytes.fromhex(key_id) if key_id else None
        except ValueError:
            raise SigningConfigError(f"[{where}] key_id must be hexadecimal") from None
        return KeySpec(
            source="pkcs11",
            pkcs11_module=str(table["pkcs11_module"]),
            token_label=str(table.get("token_label", "")),
            key_label=str(table.get("key_label", "")),
            key_id=key_id_bytes,
            cert_label=str(table.get("cert_label", "")),
            cert_file=(
                _path(table["cert_file"], f"[{where}] cert_file") if "cert_file" in table else None
            ),
            pin_file=(
                _path(table["pin_file"], f"[{where}] pin_file") if "pin_file" in table else None
            ),
            chain_files=chain_files,
        )
    raise SigningConfigError(f"[{where}]: give pkcs12 or pkcs11_module")


def parse_config(text: str, *, origin: str = "signing config") -> SigningConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SigningConfigError(f"{origin}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"default", "bodies", "timestamp", "verification"})
    if unknown:
        raise SigningConfigError(f"{origin}: unknown sections {', '.join(unknown)}")
    default = _key_spec(data["default"], "default") if "default" in data else None
    bodies_table = data.get("bodies", {})
    if not isinstance(bodies_table, dict):
        raise SigningConfigError(f'{origin}: [bodies."<code>"] sections expected')
    bodies = {
        str(code): _key_spec(table, f'bodies."{code}"') for code, table in bodies_table.items()
    }
    timestamp = data.get("timestamp", {})
    verification = data.get("verification", {})
    return SigningConfig(
        default=default,
        bodies=bodies,
        tsa_url=str(timestamp.get("url", "")),
        tsa_username=str(timestamp.get("username", "")),
        tsa_password_file=(
            _path(timestamp["password_file"], "[timestamp] password_file")
            if "password_file" in timestamp
            else None
        ),
        tsa_trust_anchors=tuple(
            _path(item, "[timestamp] trust_anchors") for item in timestamp.get("trust_anchors", [])
        ),
        trust_anchors=tuple(
            _path(item, "[verification] trust_anchors")
            for item in verification.get("trust_anchors", [])
        ),
        crl_files=tuple(
            _path(item, "[verification] crl_files") for item in verification.get("crl_files", [])
        ),
        fetch_revocation=bool(verification.get("fetch_revocation", False)),
    )


_config_cache: dict[str, tuple[float, SigningConfig]] = {}


def load_config() -> SigningConfig:
    """The signing configuration; the demo set-up when none is configured."""
    path = settings.MADOGUCHI_SIGNING_CONFIG
    if not path:
        if not settings.MADOGUCHI_DEMO_IDENTITY:
            raise SigningConfigError(
                "MADOGUCHI_SIGNING_CONFIG is not set: issued documents need the body's "
                "signing key (PKCS#12 or PKCS#11); see docs/issuance.md."
            )
        cached = _config_cache.get("")
        if cached is None:
            cached = (0.0, SigningConfig(default=KeySpec(source="demo"), demo=True))
            _config_cache[""] = cached
        return cached[1]
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        raise SigningConfigError(f"MADOGUCHI_SIGNING_CONFIG: cannot read {path}") from None
    cached = _config_cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    config = parse_config(Path(path).read_text(encoding="utf-8"), origin=path)
    _config_cache[path] = (mtime, config)
    return config


# --- certificates --------------------------------------------------------------------------


def load_certificates(path: Path) -> list[asn1_x509.Certificate]:
    """Certificates of a PEM (one or more) or DER file."""
    from asn1crypto import pem

    try:
        data = path.read_bytes()
    except OSError:
        raise SigningConfigError(f"cannot read certificate file {path}") from None
    try:
        if pem.detect(data):
            return [asn1_x509.Certificate.load(der) for _t, _h, der in pem.unarmor(data, True)]
        return [asn1_x509.Certificate.load(data)]
    except (ValueError, TypeError):
        raise SigningConfigError(f"{path} is not a certificate file (PEM or DER)") from None


def _read_secret(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes().strip()
    except OSError:
        raise SigningConfigError(f"cannot read secret file {path}") from None


# --- the demo CA ---------------------------------------------------------------------------


def demo_dir() -> Path:
    return Path(settings.MADOGUCHI_SIGNING_DEMO_DIR)


@contextmanager
def _demo_lock() -> Iterator[None]:
    # Two workers starting at once must not create two different demo CAs.
    directory = demo_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _name(common_name: str, organisation: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DEMO - NOT FOR PRODUCTION"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ensure_demo_ca() -> tuple[Path, Path]:
    """The demo CA's certificate and (empty) CRL, created on first use."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    directory = demo_dir()
    cert_path, key_path, crl_path = (
        directory / "demo-ca.pem",
        directory / "demo-ca.key",
        directory / "demo-ca.crl",
    )
    if cert_path.exists() and crl_path.exists():
        return cert_path, crl_path
    with _demo_lock():
        if cert_path.exists() and crl_path.exists():
            return cert_path, crl_path
        now = dt.datetime.now(dt.UTC)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = _name(DEMO_CA_NAME, "madoguchi demo")
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        _write_private(crl_path, _demo_crl(certificate, key, now))
        _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, crl_path


def _demo_crl(certificate, key, now: dt.datetime) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(certificate.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=3650))
        .add_extension(x509.CRLNumber(1), critical=False)
        .sign(key, hashes.SHA256())
    )
    return crl.public_bytes(serialization.Encoding.DER)


def ensure_demo_signer(body_code: str, body_name: str) -> Path:
    """The body's demo PKCS#12 (signer certificate issued by the demo CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    ca_path, _crl = ensure_demo_ca()
    path = demo_dir() / f"signer-{body_code}.p12"
    if path.exists():
        return path
    with _demo_lock():
        if path.exists():
            return path
        ca_certificate = x509.load_pem_x509_certificate(ca_path.read_bytes())
        ca_key = serialization.load_pem_private_key(
            (demo_dir() / "demo-ca.key").read_bytes(), password=None
        )
        now = dt.datetime.now(dt.UTC)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{body_name}（デモ署名用・見本）", f"{body_name} DEMO"))
            .issuer_name(ca_certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=5 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()),
                False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(
            path,
            pkcs12.serialize_key_and_certificates(
                f"demo-{body_code}".encode(),
                key,
                certificate,
                [ca_certificate],
                serialization.BestAvailableEncryption(DEMO_PASSPHRASE),
            ),
        )
    return path


# --- signers -------------------------------------------------------------------------------


def _cached_key_signer_class():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner

    class CachedKeySigner(SimpleSigner):
        """pyHanko's SimpleSigner parses (and, for RSA, validates) the private key again
        for every signature — about 40 ms each. The parsed key is kept instead."""

        _private_key = None

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            if self._private_key is None:
                self._private_key = serialization.load_der_private_key(
                    self.signing_key.dump(), password=None
                )
            key = self._private_key
            hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
            if mechanism == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
                return key.sign(data, PKCS1v15(), hash_algorithm)
            if mechanism == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
                return key.sign(data, ECDSA(hash_algorithm))
            return super().sign_raw(data, digest_algorithm)

    return CachedKeySigner


@dataclass
class LoadedSigner:
    signer: Any  # pyhanko.sign.signers.Signer
    spec: KeySpec
    certificate: asn1_x509.Certificate
    chain: list[asn1_x509.Certificate]

    @property
    def fingerprint(self) -> str:
        return self.certificate.sha256.hex()


_signers: dict[str, tuple[SigningConfig, LoadedSigner]] = {}
_signers_lock = threading.Lock()


def signer_for(body_code: str, body_name: str) -> LoadedSigner:
    """The body's signer, loaded once per process (a PKCS#11 session stays open)."""
    config = load_config()
    with _signers_lock:
        cached = _signers.get(body_code)
        # A changed configuration file is a new object: its keys are loaded afresh.
        if cached is not None and cached[0] is config:
            return cached[1]
        loaded = _load_signer(config.key_for(body_code), body_code, body_name)
        _signers[body_code] = (config, loaded)
        return loaded


def forget_signers() -> None:
    """Drop loaded keys (tests, and after a key rotation)."""
    with _signers_lock:
        _signers.clear()
    _config_cache.clear()


def _load_signer(spec: KeySpec, body_code: str, body_name: str) -> LoadedSigner:
    from pyhanko.sign.signers import SimpleSigner

    chain: list[asn1_x509.Certificate] = []
    for path in spec.chain_files:
        chain.extend(load_certificates(path))
    if spec.source in ("pkcs12", "demo"):
        if spec.source == "demo":
            path = ensure_demo_signer(body_code, body_name)
            passphrase: bytes | None = DEMO_PASSPHRASE
        else:
            path = spec.pkcs12
            passphrase = _read_secret(spec.passphrase_file)
            if not path or not path.is_file():
                raise SigningConfigError(f"PKCS#12 file not found: {path}")
        loaded = SimpleSigner.load_pkcs12(
            str(path), passphrase=passphrase, other_certs=[str(p) for p in spec.chain_files]
        )
        if loaded is None:
            raise SigningConfigError(f"cannot open PKCS#12 {path}: wrong passphrase or format")
        signer = _cached_key_signer_class()(
            signing_key=loaded.signing_key,
            signing_cert=loaded.signing_cert,
            cert_registry=loaded.cert_registry,
        )
        chain = [c for c in loaded.cert_registry if c.sha256 != loaded.signing_cert.sha256]
        return LoadedSigner(signer, spec, loaded.signing_cert, chain)
    return _load_pkcs11_signer(spec, chain)


def _load_pkcs11_signer(spec: KeySpec, chain: list[asn1_x509.Certificate]) -> LoadedSigner:
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11

    pin = _read_secret(spec.pin_file)
    try:
        session = pkcs11.open_pkcs11_session(
            spec.pkcs11_module,
            token_criteria=TokenCriteria(label=spec.token_label) if spec.token_label else None,
            user_pin=pin.decode() if pin is not None else None,
        )
    except Exception as exc:
        # The PIN is never part of the message.
        raise SigningConfigError(
            f"cannot open PKCS#11 token {spec.token_label!r} with {spec.pkcs11_module}: "
            f"{type(exc).__name__}"
        ) from None
    certificate = None
    if spec.cert_file:
        certificates = load_certificates(spec.cert_file)
        certificate = certificates[0]
        chain = certificates[1:] + chain
    signer = pkcs11.PKCS11Signer(
        session,
        key_label=spec.key_label or None,
        key_id=spec.key_id,
        cert_label=spec.cert_label or (None if certificate else spec.key_label or None),
        signing_cert=certificate,
        ca_chain=chain or None,
    )
    try:
        certificate = signer.signing_cert
    except Exception as exc:
        raise SigningConfigError(
            f"PKCS#11 token {spec.token_label!r}: no certificate for the key "
            f"({type(exc).__name__}); set cert_file or cert_label"
        ) from None
    return LoadedSigner(signer, spec, certificate, chain)


# --- verification -----------------------------------------------------------------------


def verification_trust_roots() -> list[asn1_x509.Certificate]:
    """The roots an issued document's signature must chain to: the configured anchors,
    and the demo CA while the demo is on."""
    roots: list[asn1_x509.Certificate] = []
    try:
        config = load_config()
    except SigningConfigError:
        config = None
    if config is not None:
        for path in config.trust_anchors:
            roots.extend(load_certificates(path))
    if settings.MADOGUCHI_DEMO_IDENTITY:
        ca_path, _crl = ensure_demo_ca()
        roots.extend(load_certificates(ca_path))
    return roots


def timestamp_trust_roots() -> list[asn1_x509.Certificate]:
    """The roots a timestamp on an issued document must chain to for its time to be shown:
    the configured timestamp authorities' anchors."""
    try:
        config = load_config()
    except SigningConfigError:
        return []
    roots: list[asn1_x509.Certificate] = []
    for path in config.timestamp_roots:
        roots.extend(load_certificates(path))
    return roots


def revocation_files() -> list[bytes]:
    """CRLs to embed for B-LT: the configured files, and the demo CA's."""
    crls: list[bytes] = []
    try:
        config = load_config()
    except SigningConfigError:
        return crls
    for path in config.crl_files:
        try:
            crls.append(path.read_bytes())
        except OSError:
            raise SigningConfigError(f"cannot read CRL file {path}") from None
    if config.demo:
        _cert, crl_path = ensure_demo_ca()
        crls.append(crl_path.read_bytes())
    return crls
