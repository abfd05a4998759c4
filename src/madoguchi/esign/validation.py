"""Validation of an applicant's signature over the canonical bytes of an application.

Two forms are accepted: a detached CMS/PKCS#7 SignedData (what JPKI's signing app or any
signing tool returns), and a PAdES-signed PDF of the application that carries the
canonical bytes as its embedded file `madoguchi-application.json`.

The verdict follows ETSI EN 319 102-1's three outcomes with a sub-reason:
valid; invalid (digest_mismatch, bad_signature, revoked, key_usage, modified, malformed);
indeterminate (untrusted, expired, not_yet_valid, revocation_unknown, chain).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509

from . import trust
from .sync import outside_event_loop

VALID = "valid"
INVALID = "invalid"
INDETERMINATE = "indeterminate"

CMS = "cms"
PADES = "pades"

EMBEDDED_NAME = "madoguchi-application.json"
MAX_CMS_BYTES = 256 * 1024

REASONS: dict[str, tuple[str, str]] = {
    "": ("署名を確認しました。", "The signature is valid."),
    "digest_mismatch": (
        "署名された内容が、この申請の内容と一致しません。入力内容を変更した場合は、もう一度署名してください。",
        "What was signed is not this application as it stands; sign it again.",
    ),
    "bad_signature": (
        "署名の値が正しくありません（ファイルが壊れているか、書き換えられています）。",
        "The signature value does not verify.",
    ),
    "revoked": (
        "署名に使われた電子証明書は失効しています。",
        "The signing certificate has been revoked.",
    ),
    "key_usage": (
        "この電子証明書は署名用ではありません（署名用電子証明書で署名してください）。",
        "The certificate is not for signing.",
    ),
    "modified": (
        "署名の後にPDFが変更されています。",
        "The PDF was changed after it was signed.",
    ),
    "malformed": (
        "署名ファイルの形式が正しくありません（CMS/PKCS#7 の署名か、署名付きのPDFを選んでください）。",
        "Not a CMS/PKCS#7 signature or a signed PDF.",
    ),
    "no_embedded_application": (
        "このPDFには申請内容が含まれていません。この画面からダウンロードした署名用PDFに署名してください。",
        "The PDF does not carry the application; sign the PDF downloaded from this page.",
    ),
    "untrusted": (
        "電子証明書の発行元を確認できません（署名用電子証明書以外で署名されています）。",
        "The certificate does not chain to an accepted certification authority.",
    ),
    "expired": (
        "署名の時点で電子証明書の有効期間が過ぎています。",
        "The certificate was not valid (expired) at the time of signing.",
    ),
    "not_yet_valid": (
        "署名の時点で電子証明書の有効期間が始まっていません。",
        "The certificate was not yet valid at the time of signing.",
    ),
    "revocation_unknown": (
        "電子証明書の失効情報を確認できませんでした。しばらくしてからもう一度お試しください。",
        "The certificate's revocation status could not be established; try again later.",
    ),
    "chain": (
        "電子証明書の検証に失敗しました。",
        "The certificate path could not be validated.",
    ),
}


@dataclass
class Verdict:
    status: str
    reason: str = ""
    kind: str = ""
    signer_subject: str = ""
    signer_issuer: str = ""
    signer_serial: str = ""
    signer_fingerprint: str = ""
    signer_not_before: dt.datetime | None = None
    signer_not_after: dt.datetime | None = None
    signing_time: dt.datetime | None = None
    timestamp: dt.datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return REASONS.get(self.reason, REASONS["chain"])[0]

    @property
    def message_en(self) -> str:
        return REASONS.get(self.reason, REASONS["chain"])[1]

    @property
    def ok(self) -> bool:
        return self.status == VALID


def detect_kind(data: bytes) -> str:
    return PADES if b"%PDF-" in data[:1024] else CMS


# --- parsing ------------------------------------------------------------------------------


def _der(data: bytes) -> bytes:
    """DER from DER, PEM (PKCS7 / CMS) or bare base64, as signing apps hand them out."""
    from asn1crypto import pem

    stripped = data.strip()
    if pem.detect(stripped):
        _type, _headers, der = pem.unarmor(stripped)
        return der
    if stripped[:1] == b"\x30":
        return data
    try:
        return base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        return data


def parse_cms(data: bytes) -> cms.SignedData:
    info = cms.ContentInfo.load(_der(data))
    if info["content_type"].native != "signed_data":
        raise ValueError("not SignedData")
    signed_data = info["content"]
    signed_data.native  # noqa: B018 - parse the whole structure now, not half-way later
    if len(signed_data["signer_infos"]) != 1:
        raise ValueError("exactly one signer expected")
    return signed_data


def _signer_certificate(signed_data: cms.SignedData) -> asn1_x509.Certificate | None:
    sid = signed_data["signer_infos"][0]["sid"]
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue
        certificate = choice.chosen
        if sid.name == "issuer_and_serial_number":
            if (
                certificate.issuer == sid.chosen["issuer"]
                and certificate.serial_number == sid.chosen["serial_number"].native
            ):
                return certificate
        elif certificate.key_identifier == sid.chosen.native:
            return certificate
    return None


def _other_certificates(signed_data: cms.SignedData) -> list[asn1_x509.Certificate]:
    return [c.chosen for c in signed_data["certificates"] or [] if c.name == "certificate"]


def _describe(verdict: Verdict, certificate: asn1_x509.Certificate) -> None:
    verdict.signer_subject = certificate.subject.human_friendly[:500]
    verdict.signer_issuer = certificate.issuer.human_friendly[:500]
    verdict.signer_serial = format(certificate.serial_number, "x")
    verdict.signer_fingerprint = certificate.sha256.hex()
    validity = certificate["tbs_certificate"]["validity"]
    verdict.signer_not_before = validity["not_before"].native
    verdict.signer_not_after = validity["not_after"].native


# --- the certificate path ---------------------------------------------------------------


def check_certificate(
    verdict: Verdict,
    certificate: asn1_x509.Certificate,
    others: list[asn1_x509.Certificate],
    moment: dt.datetime,
) -> Verdict:
    """Chain to a trust anchor, validity and revocation at `moment`, key usage."""
    import asyncio

    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import (
        ExpiredError,
        InsufficientRevinfoError,
        InvalidCertificateError,
        NotYetValidError,
        PathBuildingError,
        PathValidationError,
        RevokedError,
        ValidationError,
    )

    try:
        validator = CertificateValidator(
            certificate,
            intermediate_certs=others,
            validation_context=trust.validation_context(moment),
        )
        outside_event_loop(asyncio.run, validator.async_validate_path())
    except RevokedError as exc:
        verdict.status, verdict.reason = INVALID, "revoked"
        revoked_at = getattr(exc, "revocation_dt", None)
        verdict.details["revoked_at"] = revoked_at.isoformat() if revoked_at else ""
    except ExpiredError:
        verdict.status, verdict.reason = INDETERMINATE, "expired"
    except NotYetValidError:
        verdict.status, verdict.reason = INDETERMINATE, "not_yet_valid"
    except InsufficientRevinfoError:
        verdict.status, verdict.reason = INDETERMINATE, "revocation_unknown"
    except PathBuildingError:
        verdict.status, verdict.reason = INDETERMINATE, "untrusted"
    except InvalidCertificateError as exc:
        message = str(exc).lower()
        if "usage" in message:
            verdict.status, verdict.reason = INVALID, "key_usage"
        else:
            verdict.status, verdict.reason = INDETERMINATE, "chain"
    except (PathValidationError, ValidationError):
        verdict.status, verdict.reason = INDETERMINATE, "chain"
    except (ValueError, TypeError, KeyError):
        # A certificate of the set that cannot be read (a damaged name, asn1crypto parsing
        # lazily): no path can be checked.
        verdict.status, verdict.reason = INDETERMINATE, "chain"
    else:
        verdict.status, verdict.reason = VALID, ""
        usage = certificate.key_usage_value
        # A signing certificate (JPKI's 署名用電子証明書 has both) asserts one of these.
        if usage is not None and not ({"digital_signature", "non_repudiation"} & set(usage.native)):
            verdict.status, verdict.reason = INVALID, "key_usage"
    return verdict


def _signing_moment(verdict: Verdict) -> dt.datetime:
    """The time the certificate must have been valid: the timestamp's when there is a
    valid one; otherwise now (the signature reaches us now, and nothing proves it is
    older — a claimed signing time is only a claim)."""
    return verdict.timestamp or dt.datetime.now(dt.UTC)


def _claimed_time_outside(verdict: Verdict) -> str:
    claimed = verdict.signing_time
    if claimed is None or verdict.signer_not_after is None:
        return ""
    if claimed > verdict.signer_not_after:
        return "expired"
    if verdict.signer_not_before and claimed < verdict.signer_not_before:
        return "not_yet_valid"
    return ""


def _timestamp_certificates(signer_info) -> list[asn1_x509.Certificate]:
    """The certificates inside the signature timestamp token (the TSA's chain)."""
    found: list[asn1_x509.Certificate] = []
    for attribute in signer_info["unsigned_attrs"] or []:
        if attribute["type"].native != "signature_time_stamp_token":
            continue
        for token in attribute["values"]:
            found += _other_certificates(token["content"])
    return found


def trusted_timestamp(tst, signer_info) -> dt.datetime | None:
    """The time of a signature timestamp, if it proves anything: intact, cryptographically
    valid, and signed by a certificate issued for timestamps (extended key usage
    timeStamping) that chains to a trust anchor and was valid, unrevoked, at that time.
    pyHanko's `valid` is only the first two: without this, anyone's self-made TSA could
    say "last month" for an expired certificate."""
    if tst is None or not (tst.intact and tst.valid) or tst.timestamp is None:
        return None
    authority = tst.signing_cert
    try:
        usage = authority.extended_key_usage_value
        if usage is None or "time_stamping" not in usage.native:
            return None
        check = Verdict(INVALID)
        check_certificate(check, authority, _timestamp_certificates(signer_info), tst.timestamp)
    except (ValueError, TypeError, KeyError):
        return None
    return tst.timestamp if check.ok else None


def _from_status(verdict: Verdict, status, certificate, others, signer_info) -> Verdict:
    """The crypto from pyHanko's status, the path from our own check."""
    verdict.signing_time = status.signer_reported_dt
    verdict.timestamp = trusted_timestamp(status.timestamp_validity, signer_info)
    if not status.intact:
        verdict.status, verdict.reason = INVALID, "digest_mismatch"
        return verdict
    if not status.valid:
        verdict.status, verdict.reason = INVALID, "bad_signature"
        return verdict
    check_certificate(verdict, certificate, others, _signing_moment(verdict))
    # A trusted timestamp is the proof of when; a claimed signing time only a claim.
    if verdict.ok and verdict.timestamp is None:
        outside = _claimed_time_outside(verdict)
        if outside:
            verdict.status, verdict.reason = INDETERMINATE, outside
    return verdict


def _no_trust_context():
    from pyhanko_certvalidator import ValidationContext

    # pyHanko checks the cryptography only; the path is checked by check_certificate.
    return ValidationContext(trust_roots=[], allow_fetching=False, revocation_mode="soft-fail")


# --- detached CMS -------------------------------------------------------------------------


def verify_detached_cms(signature: bytes, content: bytes) -> Verdict:
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

    verdict = Verdict(INVALID, "malformed", kind=CMS)
    if not signature or len(signature) > MAX_CMS_BYTES:
        return verdict
    try:
        signed_data = parse_cms(signature)
        # asn1crypto parses lazily: a damaged certificate name (an unassigned code point)
        # raises only when it is compared or shown.
        certificate = _signer_certificate(signed_data)
        if certificate is None:
            return verdict
        _describe(verdict, certificate)
    except Exception:
        return verdict
    encapsulated = signed_data["encap_content_info"]["content"]
    if encapsulated.native is not None and bytes(encapsulated.native) != content:
        # An attached signature over something else than this application.
        verdict.reason = "digest_mismatch"
        return verdict
    import asyncio

    try:
        status = outside_event_loop(
            asyncio.run,
            async_validate_detached_cms(
                content, signed_data, signer_validation_context=_no_trust_context()
            ),
        )
    except Exception:
        verdict.reason = "bad_signature"
        return verdict
    return _from_status(
        verdict,
        status,
        certificate,
        _other_certificates(signed_data),
        signed_data["signer_infos"][0],
    )


# --- PAdES PDF ----------------------------------------------------------------------------


def embedded_application(resolver) -> bytes | None:
    """The bytes of the embedded file `madoguchi-application.json` in a PDF revision."""
    try:
        names = resolver.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except (KeyError, TypeError):
        return None
    items = list(names)
    for position in range(0, len(items) - 1, 2):
        if str(items[position]) != EMBEDDED_NAME:
            continue
        try:
            return items[position + 1].get_object()["/EF"]["/F"].get_object().data
        except (KeyError, TypeError, AttributeError):
            return None
    return None


def verify_signed_pdf(data: bytes, content: bytes) -> Verdict:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    verdict = Verdict(INVALID, "malformed", kind=PADES)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception:
        return verdict
    if not signatures:
        return verdict
    signature = signatures[0]
    try:
        certificate = signature.signer_cert
        _describe(verdict, certificate)
        status = outside_event_loop(
            validate_pdf_signature, signature, signer_validation_context=_no_trust_context()
        )
    except Exception:
        verdict.reason = "bad_signature"
        return verdict
    if not (status.intact and status.valid):
        return _from_status(verdict, status, certificate, [], signature.signer_info)
    unchanged = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.modification_level is not None
        and status.modification_level <= ModificationLevel.LTA_UPDATES
    )
    if not unchanged:
        verdict.reason = "modified"
        return verdict
    try:
        signed = embedded_application(reader.get_historical_resolver(signature.signed_revision))
    except Exception:
        signed = None
    if signed is None:
        verdict.reason = "no_embedded_application"
        return verdict
    verdict.details["embedded_sha256"] = hashlib.sha256(signed).hexdigest()
    if signed != content:
        verdict.reason = "digest_mismatch"
        return verdict
    return _from_status(
        verdict,
        status,
        certificate,
        list(signature.other_embedded_certs),
        signature.signer_info,
    )


def verify(data: bytes, content: bytes) -> Verdict:
    """The verdict on `data` (a detached CMS or a signed PDF) over `content`."""
    if detect_kind(data) == PADES:
        return verify_signed_pdf(data, content)
    return verify_detached_cms(data, content)
