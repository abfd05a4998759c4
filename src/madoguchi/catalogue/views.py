from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from madoguchi.core.text import CHANNELS, LIFE_EVENTS
from madoguchi.identity import levels

from . import selectors
from .fieldtypes import localized


def procedure_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    life_event = request.GET.get("life_event", "")
    if life_event not in LIFE_EVENTS:
        life_event = ""
    procedures = selectors.search_procedures(query, life_event=life_event or None)
    everything = list(selectors.published_procedures())
    context = {
        "query": query,
        "life_event": life_event,
        "life_event_label": LIFE_EVENTS.get(life_event, ""),
        "results": procedures,
        "groups": selectors.grouped_by_category(procedures) if not query else [],
        "life_events": selectors.life_event_counts(everything),
    }
    return render(request, "catalogue/list.html", context)


def procedure_detail(request: HttpRequest, body_code: str, identifier: str) -> HttpResponse:
    procedure = selectors.procedure_by_identifier(body_code, identifier)
    if procedure is None:
        raise Http404
    version = procedure.current_version
    definition = version.definition
    attachments = [
        localized(spec, "label")
        for page in definition["pages"]
        for spec in page["fields"]
        if spec["type"] == "file"
    ]
    legal_basis = definition.get("legal_basis")
    fee = definition.get("fee") or {}
    context = {
        "procedure": procedure,
        "version": version,
        "definition": definition,
        "name": localized(definition, "name"),
        "summary": localized(definition, "summary"),
        "who_can_apply": localized(definition, "who_can_apply"),
        "contact": localized(definition, "contact"),
        "fee_unit": localized(fee, "unit"),
        "fee_note": localized(fee, "note"),
        "closed_message": localized(definition.get("availability") or {}, "closed_message"),
        "channel_label": CHANNELS.get(version.channel, ""),
        "identity_label": levels.LABELS[version.identity_level],
        "attachments": attachments,
        "legal_basis": [legal_basis] if isinstance(legal_basis, str) else (legal_basis or []),
        "is_open": version.is_open(),
        "life_events": [LIFE_EVENTS[key] for key in version.life_events if key in LIFE_EVENTS],
    }
    return render(request, "catalogue/detail.html", context)
