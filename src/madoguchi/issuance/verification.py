"""Public verification of an issued PDF: the same check for the page, the API and the CLI.

The verdict says whether the file is exactly a document this platform issued, signed by
the issuing body's key, unchanged since, and not revoked — or what is wrong with it. It
never raises on bad input and never reveals more than the PDF itself holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from .models import DocumentState, IssuedDocument

VALID = "valid"
REVOKED = "revoked"
TAMPERED = "tampered"
MODIFIED = "modified"
UNTRUSTED = "untrusted"
OTHER_KEY = "other_key"
UNKNOWN_DOCUMENT = "unknown_document"
UNSIGNED = "unsigned"
DAMAGED = "damaged"
NOT_PDF = "not_pdf"
TOO_LARGE = "too_large"
EMPTY = "empty"

MESSAGES: dict[str, tuple[str, str]] = {
    VALID: (
        "この文書は本物です。交付したときから変更されておらず、失効していません。",
        "This document is genuine: unchanged since it was issued, and not revoked.",
    ),
    REVOKED: (
        "この文書は交付されたものですが、失効しています。現在は効力がありません。",
        "This document was issued but has been revoked; it is no longer in force.",
    ),
    TAMPERED: (
        "署名の後に内容が書き換えられています。交付された文書として扱えません。",
        "The content was changed after signing; it is not the issued document.",
    ),
    MODIFIED: (
        "署名は有効ですが、署名の後に変更が加えられています（別のソフトで保存し直した場合など）。"
        "交付されたままのファイルで確認してください。",
        "The signature is valid but the file was changed after signing (e.g. re-saved by "
        "another program); check the file as it was issued.",
    ),
    UNTRUSTED: (
        "この署名は交付元の鍵によるものではありません（発行元を確認できない証明書で署名されています）。",
        "The signature was not made with an issuing body's key.",
    ),
    OTHER_KEY: (
        "この文書番号の交付文書とは別の鍵で署名されています。",
        "Signed with another key than the one that issued this document.",
    ),
    UNKNOWN_DOCUMENT: (
        "交付の記録にない文書です。",
        "No document of this platform matches this file.",
    ),
    UNSIGNED: (
        "電子署名がありません。交付されたファイルではないか、署名が取り除かれています。",
        "The file carries no signature: it is not the issued file, or the signature was removed.",
    ),
    DAMAGED: (
        "PDFが壊れているか途中で切れているため、確認できません。",
        "The PDF is damaged or truncated and cannot be checked.",
    ),
    NOT_PDF: ("PDFファイルではありません。", "The file is not a PDF."),
    TOO_LARGE: ("ファイルが大きすぎます。", "The file is too large."),
    EMPTY: ("ファイルを選んでください。", "Choose a file."),
}


@dataclass
class Verification:
    verdict: str
    sha256: str = ""
    document: IssuedDocument | None = None
    signer: str = ""
    signer_fingerprint: str = ""
    signed_at: dt.datetime | None = None
    timestamp: dt.datetime | None = None
    level: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict == VALID

    @property
    def message(self) -> str:
        return MESSAGES[self.verdict][0]

    @property
    def message_en(self) -> str:
        return MESSAGES[self.verdict][1]

    def as_dict(self) -> dict[str, Any]:
        """What the API and `madoguchi documents verify --json` return: nothing personal."""
        document = self.document
        return {
            "verdict": self.verdict,
            "valid": self.ok,
            "message": self.message,
            "message_en": self.message_en,
            "sha256": self.sha256,
            "signature": {
                "signer": self.signer,
                "signer_sha256": self.signer_fingerprint,
                "signed_at": self.signed_at.isoformat() if self.signed_at else None,
                "timestamp": self.timestamp.isoformat() if self.timestamp else None,
                "level": self.level,
            }
            if self.signer
            else None,
            "document": public_record(document) if document else None,
        }


def public_record(document: IssuedDocument) -> dict[str, Any]:
    """The register entry of a document as anyone may see it: no personal data."""
    from . import selectors

    return {
        "id": str(document.pk),
        "number": document.number,
        "type": document.title,
        "issuer": document.body.name,
        "issuer_code": document.body.code,
        "unit": document.unit.name,
        "state": document.state,
        "issued_at": document.issued_at.isoformat() if document.issued_at else None,
        "valid_until": document.valid_until.isoformat() if document.valid_until else None,
        "revoked_at": document.revoked_at.isoformat() if document.revoked_at else None,
        "revocation_reason": document.get_revocation_reason_display()
        if document.revocation_reason
        else None,
        "pdf_sha256": document.pdf_sha256,
        "signature_level": document.signature_level,
        "ledger": selectors.ledger_evidence(document),
    }


_ID_PATTERN = re.compile(r"madoguchi-document:([0-9a-fA-F-]{36})")


def _document_id(resolver) -> uuid.UUID | None:
    """The document ID written into the signed revision's metadata (Info /Keywords)."""
    try:
        info = resolver.trailer_view["/Info"].get_object()
    except Exception:
        return None
    for key in ("/Keywords", "/madoguchidocumentid"):
        try:
            value = str(info[key])
        except Exception:  # noqa: S112 - a missing or odd entry is simply not an ID  # nosec B112
            continue
        match = _ID_PATTERN.search(value) or re.fullmatch(r"[0-9a-fA-F-]{36}", value)
        if match:
            try:
                return uuid.UUID(match.group(1) if match.groups() else match.group(0))
            except ValueError:
                return None
    return None


def _validation_context(roots=None):
    from pyhanko_certvalidator import ValidationContext

    from .keys import verification_trust_roots

    return ValidationContext(
        trust_roots=verification_trust_roots() if roots is None else roots,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def _trusted_time(status) -> dt.datetime | None:
    """The signature timestamp's time, if its authority chains to the configured TSA
    anchors. The token is an unsigned attribute, outside what the issuer's signature
    covers: anyone holding the PDF could swap it, so an untrusted one shows nothing."""
    token = status.timestamp_validity
    if token is None or not (token.intact and token.valid and token.trusted):
        return None
    return token.timestamp


def verify_pdf(data: bytes | None) -> Verification:
    """Checks an uploaded file. Never raises for anything the file contains."""
    if not data:
        return Verification(EMPTY)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > settings.MADOGUCHI_VERIFY_MAX_BYTES:
        return Verification(TOO_LARGE, sha256=digest)
    # A PDF header may follow up to 1024 bytes of junk (ISO 32000-1, 7.5.2 note).
    if b"%PDF-" not in data[:1024]:
        return Verification(NOT_PDF, sha256=digest)
    try:
        return _verify(data, digest)
    except RecursionError:
        return Verification(DAMAGED, sha256=digest)


def _verify(data: bytes, digest: str) -> Verification:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    from madoguchi.esign.sync import outside_event_loop

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except Exception:
        return Verification(DAMAGED, sha256=digest)
    if not signatures:
        return Verification(UNSIGNED, sha256=digest)
    from .signing import FIELD_NAME

    signature = next((sig for sig in signatures if sig.field_name == FIELD_NAME), signatures[0])
    try:
        from .keys import timestamp_trust_roots

        status = outside_event_loop(
            validate_pdf_signature,
            signature,
            signer_validation_context=_validation_context(),
            ts_validation_context=_validation_context(timestamp_trust_roots()),
        )
    except Exception:
        # The signature's structure itself is broken (a rewritten file whose byte
        # ranges no longer match, a cut-off signature dictionary).
        return Verification(TAMPERED, sha256=digest)
    result = Verification(
        TAMPERED,
        sha256=digest,
        signer=status.signing_cert.subject.human_friendly,
        signer_fingerprint=status.signing_cert.sha256.hex(),
        signed_at=status.signer_reported_dt,
        timestamp=_trusted_time(status),
        level="PAdES-B-T" if status.timestamp_validity else "PAdES-B-B",
    )
    if not (status.intact and status.valid):
        return result
    try:
        document_id = _document_id(reader.get_historical_resolver(signature.signed_revision))
    except Exception:
        document_id = None
    document = (
        IssuedDocument.objects.select_related("body", "unit").filter(pk=document_id).first()
        if document_id
        else None
    )
    result.document = document
    if document is not None and document.signature_level:
        result.level = document.signature_level
    if not status.trusted:
        result.verdict = UNTRUSTED
        return result
    if document is None or document.state not in (DocumentState.ISSUED, DocumentState.REVOKED):
        result.verdict = UNKNOWN_DOCUMENT
        result.document = None
        return result
    if result.signer_fingerprint != document.signer_fingerprint:
        result.verdict = OTHER_KEY
        return result
    from pyhanko.sign.diff_analysis import ModificationLevel

    unchanged = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.modification_level is not None
        and status.modification_level <= ModificationLevel.LTA_UPDATES
    )
    if not unchanged:
        result.verdict = MODIFIED
        return result
    if digest != document.pdf_sha256:
        # Only validation data (DSS, document timestamps) was added after signing.
        result.details["validation_data_added"] = True
    result.verdict = REVOKED if document.state == DocumentState.REVOKED else VALID
    return result


def verify_by_id(document_id) -> IssuedDocument | None:
    """The register entry a QR code points to (no file checked)."""
    try:
        key = uuid.UUID(str(document_id))
    except ValueError:
        return None
    return (
        IssuedDocument.objects.select_related("body", "unit")
        .filter(pk=key, state__in=[DocumentState.ISSUED, DocumentState.REVOKED])
        .first()
    )
