"""JSON API of issued documents: public verification, and the resident's documents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import File, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from madoguchi.core.api_auth import API_AUTH

from . import selectors, verification

router = Router(tags=["documents"])


class SignatureOut(Schema):
    signer: str
    signer_sha256: str
    signed_at: str | None
    timestamp: str | None
    level: str


class DocumentRecordOut(Schema):
    id: uuid.UUID
    number: str
    type: str
    issuer: str
    issuer_code: str
    unit: str
    state: str
    issued_at: str | None
    valid_until: str | None
    revoked_at: str | None
    revocation_reason: str | None
    pdf_sha256: str
    signature_level: str
    ledger: dict[str, Any] | None


class VerificationOut(Schema):
    verdict: str
    valid: bool
    message: str
    message_en: str
    sha256: str
    signature: SignatureOut | None
    document: DocumentRecordOut | None


class MyDocumentOut(Schema):
    id: uuid.UUID
    number: str
    type: str
    state: str
    application_id: uuid.UUID
    issued_at: dt.datetime | None
    valid_until: dt.date | None
    downloadable: bool


@router.post(
    "/documents/verify",
    response=VerificationOut,
    auth=None,
    summary="Verify an issued PDF (no log-in)",
    description="Upload the PDF as multipart `file`. The verdict is one of valid, revoked, "
    "tampered, modified, untrusted, other_key, unknown_document, unsigned, damaged, not_pdf, "
    "too_large; `valid` is true only for an unchanged, unrevoked document.",
)
def verify_document(request: HttpRequest, file: File[UploadedFile]):
    if file.size is not None and file.size > verification.settings.MADOGUCHI_VERIFY_MAX_BYTES:
        return verification.Verification(verification.TOO_LARGE).as_dict()
    return verification.verify_pdf(file.read()).as_dict()


@router.get(
    "/documents/{document_id}/record",
    response=DocumentRecordOut,
    auth=None,
    summary="The public register entry of an issued document (what its QR code opens)",
)
def document_record(request: HttpRequest, document_id: uuid.UUID):
    document = verification.verify_by_id(document_id)
    if document is None:
        raise HttpError(404, "No such document / 文書が見つかりません")
    return verification.public_record(document)


@router.get(
    "/documents", response=list[MyDocumentOut], auth=API_AUTH, summary="My issued documents"
)
def my_documents(request: HttpRequest):
    return [
        {
            "id": document.pk,
            "number": document.number,
            "type": document.title,
            "state": document.state,
            "application_id": document.application_id,
            "issued_at": document.issued_at,
            "valid_until": document.valid_until,
            "downloadable": selectors.can_download(document),
        }
        for document in selectors.documents_for_resident(request.user)[:200]
    ]


@router.get(
    "/documents/{document_id}/pdf",
    auth=API_AUTH,
    summary="Download one of my issued documents (application/pdf)",
    response={200: None},
)
def download_document(request: HttpRequest, document_id: uuid.UUID):
    document = selectors.document_for_resident(request.user, document_id)
    if document is None or not selectors.can_download(document):
        raise HttpError(404, "No such document / 文書が見つかりません")
    response = FileResponse(
        document.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{document.number}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- applicants' signatures ----------------------------------------------------------------


class SigningPayloadOut(Schema):
    format: str
    sha256: str
    canonical: str  # the exact bytes to sign, as UTF-8 text


class SignatureCheckOut(Schema):
    id: uuid.UUID
    kind: str
    status: str
    reason: str
    message: str
    message_en: str
    canonical_sha256: str
    signer: str
    signing_time: dt.datetime | None
    timestamp: dt.datetime | None


def _signable(request: HttpRequest, application_id: uuid.UUID):
    from madoguchi.counter import selectors as counter_selectors
    from madoguchi.esign import services as esign

    application = counter_selectors.application_for_resident(request.user, application_id)
    if (
        application is None
        or application.applicant_id != request.user.pk
        or not esign.required(application)
    ):
        raise HttpError(404, "No such application to sign / 署名する申請が見つかりません")
    return application


@router.get(
    "/applications/{application_id}/signing-payload",
    response=SigningPayloadOut,
    auth=API_AUTH,
    tags=["signatures"],
    summary="The canonical bytes of a draft to sign (電子署名), and their SHA-256",
)
def signing_payload(request: HttpRequest, application_id: uuid.UUID):
    from madoguchi.esign import canonical

    application = _signable(request, application_id)
    data = canonical.canonical_bytes(application)
    import hashlib

    return {
        "format": canonical.FORMAT,
        "sha256": hashlib.sha256(data).hexdigest(),
        "canonical": data.decode("utf-8"),
    }


@router.post(
    "/applications/{application_id}/signature",
    response={200: SignatureCheckOut, 422: SignatureCheckOut},
    auth=API_AUTH,
    tags=["signatures"],
    summary="Upload the applicant's signature: a detached CMS/PKCS#7 or a signed PDF",
    description="200 with status `valid`, or 422 with status `invalid`/`indeterminate` and "
    "the reason. Submit the application afterwards (POST /applications/{id}/submit).",
)
def upload_signature(request: HttpRequest, application_id: uuid.UUID, file: File[UploadedFile]):
    from madoguchi.esign import services as esign
    from madoguchi.esign.validation import Verdict

    application = _signable(request, application_id)
    if application.state not in ("draft", "correction_requested"):
        raise HttpError(409, "The application is not awaiting a signature / 署名できない状態です")
    try:
        check = esign.check_signature(application=application, data=file.read(), actor=request.user)
    except esign.SignatureRejected as exc:
        raise HttpError(422, f"{exc.en} / {exc.ja}") from exc
    verdict = Verdict(check.status, check.reason)
    body = {
        "id": check.pk,
        "kind": check.kind,
        "status": check.status,
        "reason": check.reason,
        "message": verdict.message,
        "message_en": verdict.message_en,
        "canonical_sha256": check.canonical_sha256,
        "signer": check.signer_subject,
        "signing_time": check.signing_time,
        "timestamp": check.timestamp,
    }
    return Status(200 if check.status == "valid" else 422, body)
