from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Header, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from pydantic import ConfigDict, Field

from madoguchi.catalogue import selectors as catalogue_selectors
from madoguchi.catalogue.japanese import Invalid, lookup_postal_code, normalize_postal_code
from madoguchi.core.api_auth import API_AUTH
from madoguchi.files.services import KINDS, UploadRejected, store_upload

from . import selectors, services
from .models import Application

router = Router(tags=["applications"])


class ApplicationIn(Schema):
    # Unknown keys are refused: a misspelt "submit": false must not submit silently.
    model_config = ConfigDict(extra="forbid")

    # The formats of the catalogue (procedure.schema.json): nothing else is looked up.
    body: str = Field(pattern=r"^[0-9]{6}$", description="全国地方公共団体コード")
    procedure: str = Field(pattern=r"^[a-z][a-z0-9-]{2,79}$", description="The procedure's id")
    answers: dict[str, Any]
    submit: bool = True


class HistoryItem(Schema):
    event: str
    at: dt.datetime


class ApplicationOut(Schema):
    id: uuid.UUID
    body: str
    procedure: str
    procedure_version: int
    state: str
    state_label: str
    receipt_number: str | None
    submitted_at: dt.datetime | None
    fee_amount: int | None
    history: list[HistoryItem]


class UploadedFileOut(Schema):
    id: uuid.UUID
    name: str
    size: int
    content_type: str
    sha256: str


class PostalAddressOut(Schema):
    postal_code: str
    prefecture: str
    city: str
    town: str


def _out(application: Application, history: list | None = None) -> dict[str, Any]:
    """The application as the API shows it. `history`: its events, when the caller has
    them already (the ones just recorded for a new application), instead of a query."""
    if history is None:
        history = list(
            selectors.history_for_resident(application).values_list("event_type", "occurred_at")
        )
    else:
        history = [
            (event.event_type, event.occurred_at)
            for event in history
            if event.event_type not in selectors.INTERNAL_EVENTS
        ]
    return {
        "id": application.pk,
        "body": application.body.code,
        "procedure": application.procedure.identifier,
        "procedure_version": application.procedure_version.number,
        "state": application.state,
        "state_label": application.get_state_display(),
        "receipt_number": application.receipt_number,
        "submitted_at": application.submitted_at,
        "fee_amount": application.fee_amount,
        "history": [
            {"event": event_type, "at": occurred_at} for event_type, occurred_at in history
        ],
    }


@router.post(
    "/applications",
    response={200: ApplicationOut, 201: ApplicationOut},
    auth=API_AUTH,
    summary="Create an application from its answers and (by default) submit it",
    description="Send the same Idempotency-Key again and you get the application created the first time.",
)
def create_application(
    request: HttpRequest,
    payload: ApplicationIn,
    idempotency_key: uuid.UUID = Header(..., alias="Idempotency-Key"),
):
    procedure = catalogue_selectors.procedure_for_submission(payload.body, payload.procedure)
    if procedure is None:
        raise HttpError(404, "No such procedure / 手続が見つかりません")
    application, created = services.create_and_submit(
        procedure=procedure,
        applicant=request.user,
        answers=payload.answers,
        idempotency_key=idempotency_key,
        identity_level=getattr(request, "api_identity_level", None),
        submit=payload.submit,
    )
    if not created:
        # The application of an earlier request with this key, loaded with what _out shows.
        # A new one comes back from the service with its body, procedure and version.
        application = Application.objects.select_related(
            "body", "procedure", "procedure_version"
        ).get(pk=application.pk)
        return Status(200, _out(application))
    # A new application's history is what the service recorded for it: no query for it.
    return Status(201, _out(application, application.history_written))


@router.post(
    "/applications/{application_id}/submit",
    response=ApplicationOut,
    auth=API_AUTH,
    summary="Submit a draft application",
)
def submit(request: HttpRequest, application_id: uuid.UUID):
    application = selectors.application_for_resident(request.user, application_id)
    if application is None or application.applicant_id != request.user.pk:
        raise HttpError(404, "No such application / 申請が見つかりません")
    application = services.submit_application(
        application=application,
        actor=request.user,
        identity_level=getattr(request, "api_identity_level", None),
    )
    return _out(application)


@router.get(
    "/applications", response=list[ApplicationOut], auth=API_AUTH, summary="My applications"
)
def my_applications(request: HttpRequest):
    return [
        _out(a)
        for a in selectors.applications_for_resident(request.user).select_related("procedure")[:200]
    ]


@router.get(
    "/applications/{application_id}",
    response=ApplicationOut,
    auth=API_AUTH,
    summary="Status of one application",
)
def get_application(request: HttpRequest, application_id: uuid.UUID):
    application = selectors.application_for_resident(request.user, application_id)
    if application is None:
        raise HttpError(404, "No such application / 申請が見つかりません")
    return _out(application)


@router.post(
    "/files",
    response={201: UploadedFileOut},
    auth=API_AUTH,
    summary="Upload an attachment, to name in an application's answers",
)
def upload_file(request: HttpRequest, file: File[UploadedFile], accept: Form[str] = "image,pdf"):
    kinds = [kind for kind in accept.split(",") if kind in KINDS]
    if not kinds:
        raise HttpError(422, "accept must list image and/or pdf")
    try:
        stored = store_upload(file, owner=request.user, accept=kinds)
    except UploadRejected as exc:
        raise services.InvalidAnswers([_file_error(exc)]) from exc
    return Status(201, stored.descriptor())


def _file_error(exc: UploadRejected):
    from madoguchi.catalogue.errors import FieldError

    return FieldError("file", exc.ja, exc.en, exc.code)


@router.get(
    "/postal-codes/{code}",
    response=PostalAddressOut,
    auth=None,
    summary="Address for a Japanese postal code (offline data)",
)
def postal_code(request: HttpRequest, code: str):
    try:
        normalized = normalize_postal_code(code)
    except Invalid as exc:
        raise HttpError(422, f"{exc.en} / {exc.ja}") from exc
    found = lookup_postal_code(normalized)
    if found is None:
        raise HttpError(404, "No address for this postal code / 住所が見つかりません")
    return {
        "postal_code": normalized,
        "prefecture": found.prefecture,
        "city": found.city,
        "town": found.town,
    }
