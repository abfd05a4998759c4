from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from . import selectors

router = Router(tags=["procedures"])


class ProcedureSummary(Schema):
    body: str
    id: str
    name: str
    name_kana: str
    name_en: str
    category: str
    life_events: list[str]
    version: int
    identity_level: str
    channel: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    accepting: bool


class ProcedureDetail(ProcedureSummary):
    definition: dict[str, Any]


def _summary(procedure) -> dict[str, Any]:
    version = procedure.current_version
    return {
        "body": procedure.body.code,
        "id": procedure.identifier,
        "name": version.name,
        "name_kana": version.name_kana,
        "name_en": version.name_en,
        "category": version.category,
        "life_events": version.life_events,
        "version": version.number,
        "identity_level": version.identity_level,
        "channel": version.channel,
        "opens_at": version.opens_at,
        "closes_at": version.closes_at,
        "accepting": version.accepts_online and version.is_open(),
    }


@router.get(
    "/procedures", response=list[ProcedureSummary], auth=None, summary="List published procedures"
)
def list_procedures(
    request: HttpRequest, q: str = "", body: str | None = None, life_event: str | None = None
):
    return [
        _summary(p)
        for p in selectors.search_procedures(q[:100], body_code=body, life_event=life_event)
    ]


@router.get(
    "/procedures/{body}/{identifier}",
    response=ProcedureDetail,
    auth=None,
    summary="A procedure and its current definition",
)
def get_procedure(request: HttpRequest, body: str, identifier: str):
    procedure = selectors.procedure_by_identifier(body, identifier)
    if procedure is None:
        raise HttpError(404, "No such procedure / 手続が見つかりません")
    return {**_summary(procedure), "definition": procedure.current_version.definition}
