"""The records register in the JSON API: the register for staff, holds and disposition
proposals with the same rules as the pages (403/409/422, never a 500), and the public
register without authentication."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from madoguchi.core.api_auth import API_AUTH
from madoguchi.organisation.selectors import body_by_code, is_staff_member

from . import selectors, services
from .models import DispositionProposal

router = Router(tags=["records"])


class RecordFileOut(Schema):
    id: uuid.UUID
    body: str
    unit: str
    classification: list[str]
    title: str
    fiscal_year: int
    retention_class: str
    retention_start: dt.date
    expiry: dt.date | None
    on_hold: bool
    disposition: str
    medium: str
    place: str
    manager: str
    state: str


class ProposalIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="transfer (移管), destroy (廃棄) or extend (延長)")
    reason: str = Field(max_length=2000)
    extension_years: int | None = Field(None, ge=1, le=30)


class HoldIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        description="audit, litigation, appeal, information_request, personal_information_request, duty"
    )
    description: str = Field(max_length=2000)
    ends_on: dt.date | None = None
    end_event: str = Field("", max_length=200)


class ProposalOut(Schema):
    id: uuid.UUID
    file: uuid.UUID
    action: str
    state: str
    approval_reference: str


class RegisterQuery(Schema):
    q: str = Field("", max_length=100)
    year: int | None = Field(None, ge=1900, le=2200)


def _out(file) -> dict:
    return {
        "id": file.pk,
        "body": file.body.code,
        "unit": file.unit.code,
        "classification": [
            file.classification_major,
            file.classification_middle,
            file.classification_minor,
        ],
        "title": file.title,
        "fiscal_year": file.fiscal_year,
        "retention_class": file.retention_class,
        "retention_start": file.retention_start,
        "expiry": file.expiry,
        "on_hold": file.on_hold,
        "disposition": file.disposition,
        "medium": file.medium,
        "place": file.place,
        "manager": file.manager,
        "state": file.state,
    }


def _proposal_out(proposal: DispositionProposal) -> dict:
    return {
        "id": proposal.pk,
        "file": proposal.file_id,
        "action": proposal.action,
        "state": proposal.state,
        "approval_reference": proposal.approval_reference,
    }


def _staff(request: HttpRequest):
    if not is_staff_member(request.user):
        raise HttpError(403, "Staff only / 職員だけが使えます")
    return request.user


def _refusal(exc: services.RecordsError) -> HttpError:
    return HttpError(exc.status, f"{exc.en} / {exc.ja}")


def _params(query: RegisterQuery) -> dict:
    return {"q": query.q, "year": str(query.year) if query.year else ""}


@router.get("/records/files", response=list[RecordFileOut], auth=API_AUTH)
def list_files(request: HttpRequest, query: Query[RegisterQuery]):
    files = selectors.search(selectors.files_for_staff(_staff(request)), _params(query))
    return [_out(file) for file in files[:500]]


@router.get("/records/files/{file_id}", response=RecordFileOut, auth=API_AUTH)
def get_file(request: HttpRequest, file_id: uuid.UUID):
    file = selectors.file_for_staff(_staff(request), file_id)
    if file is None:
        raise HttpError(404, "No such file / ファイルが見つかりません")
    return _out(file)


@router.post("/records/files/{file_id}/holds", response={201: RecordFileOut}, auth=API_AUTH)
def place_hold(request: HttpRequest, file_id: uuid.UUID, payload: HoldIn):
    file = selectors.file_for_staff(_staff(request), file_id)
    if file is None:
        raise HttpError(404, "No such file / ファイルが見つかりません")
    try:
        services.place_hold(actor=request.user, file=file, **payload.dict())
    except services.RecordsError as exc:
        raise _refusal(exc) from None
    file.refresh_from_db()
    return Status(201, _out(file))


@router.post("/records/files/{file_id}/proposals", response={201: ProposalOut}, auth=API_AUTH)
def propose(request: HttpRequest, file_id: uuid.UUID, payload: ProposalIn):
    file = selectors.file_for_staff(_staff(request), file_id)
    if file is None:
        raise HttpError(404, "No such file / ファイルが見つかりません")
    try:
        proposal = services.propose_disposition(actor=request.user, file=file, **payload.dict())
    except services.RecordsError as exc:
        raise _refusal(exc) from None
    return Status(201, _proposal_out(proposal))


@router.post("/records/proposals/{proposal_id}/execute", response=ProposalOut, auth=API_AUTH)
def execute(request: HttpRequest, proposal_id: uuid.UUID):
    """Carries out an approved proposal (approval normally does this itself); anything
    not approved through the route is refused with 409."""
    proposal = selectors.proposal_for(_staff(request), proposal_id)
    if proposal is None:
        raise HttpError(404, "No such proposal / 起案が見つかりません")
    try:
        services.require_records_officer(request.user, proposal.file, "execute_disposition")
        proposal = services.execute_disposition(proposal=proposal, actor=request.user)
    except services.RecordsError as exc:
        raise _refusal(exc) from None
    return _proposal_out(proposal)


@router.get("/records/public/{body}", response=list[RecordFileOut], auth=None)
def public_register(request: HttpRequest, body: str, query: Query[RegisterQuery]):
    found = body_by_code(body)
    if found is None:
        raise HttpError(404, "No such body / 団体が見つかりません")
    return [
        _out(file)
        for file in selectors.search(selectors.public_register(found), _params(query))[:1000]
    ]
