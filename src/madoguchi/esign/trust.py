"""The trust anchors and revocation sources applicants' signatures are validated against."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings


class TrustConfigError(Exception):
    """A configured anchor or CRL file cannot be read."""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise TrustConfigError(f"cannot read {path}") from None


def _certificates(path: Path) -> list[asn1_x509.Certificate]:
    data = _read(path)
    try:
        if pem.detect(data):
            return [asn1_x509.Certificate.load(der) for _t, _h, der in pem.unarmor(data, True)]
        return [asn1_x509.Certificate.load(data)]
    except (ValueError, TypeError):
        raise TrustConfigError(f"{path} is not a certificate file (PEM or DER)") from None


def _crl(path: Path) -> asn1_crl.CertificateList:
    data = _read(path)
    try:
        if pem.detect(data):
            _type, _headers, data = pem.unarmor(data)
        crl = asn1_crl.CertificateList.load(data)
        crl.native  # noqa: B018 - parse now: a broken file is a configuration error
        return crl
    except (ValueError, TypeError):
        raise TrustConfigError(f"{path} is not a CRL (PEM or DER)") from None


def anchors() -> list[asn1_x509.Certificate]:
    roots: list[asn1_x509.Certificate] = []
    for name in settings.MADOGUCHI_ESIGN_TRUST_ANCHORS:
        roots.extend(_certificates(Path(name)))
    if settings.MADOGUCHI_DEMO_IDENTITY:
        from .demo import ensure_demo_ca

        roots.extend(_certificates(ensure_demo_ca()))
    return roots


def intermediates() -> list[asn1_x509.Certificate]:
    found: list[asn1_x509.Certificate] = []
    for name in settings.MADOGUCHI_ESIGN_INTERMEDIATES:
        found.extend(_certificates(Path(name)))
    return found


def crls() -> list[asn1_crl.CertificateList]:
    return [_crl(Path(name)) for name in settings.MADOGUCHI_ESIGN_CRL_FILES]


def revocation_required() -> bool:
    """With a revocation source configured, a certificate whose status is unknown is not
    accepted (hard-fail); without one, revocation is not checked."""
    return bool(settings.MADOGUCHI_ESIGN_CRL_FILES) or settings.MADOGUCHI_ESIGN_FETCH_REVOCATION


def validation_context(moment: dt.datetime | None = None):
    from pyhanko_certvalidator import ValidationContext

    required = revocation_required()
    return ValidationContext(
        trust_roots=anchors(),
        other_certs=intermediates(),
        crls=crls(),
        allow_fetching=settings.MADOGUCHI_ESIGN_FETCH_REVOCATION,
        # "require": every certificate but the root needs revocation data (pyHanko's
        # "hard-fail" would skip certificates that name no CRL or OCSP location).
        revocation_mode="require" if required else "soft-fail",
        moment=moment,
        # A CRL or OCSP answer a little older than the signature is still the best
        # evidence there is; JPKI publishes CRLs daily.
        retroactive_revinfo=True,
    )
