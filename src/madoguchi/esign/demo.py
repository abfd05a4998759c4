"""A demo certificate authority standing in for JPKI's 署名用電子証明書 in the sample
municipality (decision 0006's demo identity, for signatures). It proves nothing: its CA
is trusted only while MADOGUCHI_DEMO_IDENTITY is on, and every name in it says DEMO."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

from django.conf import settings

DEMO_CA_NAME = "DEMO 署名用認証局（見本・本番使用不可）"
DEMO_SIGNER_NAME = "デモ 利用者（見本の署名用電子証明書）"


def _directory() -> Path:
    directory = Path(settings.MADOGUCHI_ESIGN_DEMO_DIR)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "madoguchi demo"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DEMO - NOT FOR PRODUCTION"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, ca: bool):
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def ensure_demo_ca() -> Path:
    """The demo CA (and a demo signer it issued), created on first use."""
    directory = _directory()
    ca_path = directory / "demo-signing-ca.pem"
    signer_path = directory / "demo-signer.pem"
    if ca_path.exists() and signer_path.exists():
        return ca_path
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ca_path.exists() and signer_path.exists()):
            _create(directory, ca_path, signer_path)
    return ca_path


def _create(directory: Path, ca_path: Path, signer_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name(DEMO_CA_NAME)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(DEMO_SIGNER_NAME))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=5 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write_private(
        directory / "demo-signer.key",
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    _write_private(signer_path, signer.public_bytes(pem))
    _write_private(ca_path, ca.public_bytes(pem))


def demo_sign(content: bytes) -> bytes:
    """A detached CMS signature over `content` by the demo signer, as JPKI's signing app
    would return one. Only while the demo identity is on."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    if not settings.MADOGUCHI_DEMO_IDENTITY:
        raise PermissionError("the demo signer exists only in the demo")
    ca_path = ensure_demo_ca()
    directory = ca_path.parent
    certificate = x509.load_pem_x509_certificate((directory / "demo-signer.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (directory / "demo-signer.key").read_bytes(), password=None
    )
    ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(certificate, key, hashes.SHA256())
        .add_certificate(ca)
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
