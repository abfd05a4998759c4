"""JSON API of issued documents: public verification, and the resident's documents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import File, Router, Schema
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
