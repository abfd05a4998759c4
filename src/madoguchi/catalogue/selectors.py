from __future__ import annotations

from django.db.models import QuerySet

from madoguchi.core.text import LIFE_EVENTS

from . import search
from .japanese import to_search_kana
from .models import Procedure, ProcedureVersion


def published_procedures(*, body_code: str | None = None) -> QuerySet[Procedure]:
    queryset = (
        Procedure.objects.filter(is_published=True, current_version__isnull=False)
        .select_related("current_version", "body", "unit")
        .order_by("current_version__name_kana")
    )
    if body_code:
        queryset = queryset.filter(body__code=body_code)
    return queryset


def procedure_by_identifier(body_code: str, identifier: str) -> Procedure | None:
    return published_procedures().filter(body__code=body_code, identifier=identifier).first()


def version_by_id(version_id: int) -> ProcedureVersion | None:
    return (
        ProcedureVersion.objects.select_related("procedure", "procedure__body", "procedure__unit")
        .filter(pk=version_id)
        .first()
    )


def search_procedures(
    query: str, *, body_code: str | None = None, life_event: str | None = None
) -> list[Procedure]:
    procedures = list(published_procedures(body_code=body_code))
    if life_event:
        procedures = [p for p in procedures if life_event in p.current_version.life_events]
    query = query.strip()
    if not query:
        return procedures
    folded_query = to_search_kana(query).replace(" ", "").replace("\u3000", "")
    query_tokens = search.tokens(query)
    ranked = []
    for procedure in procedures:
        version = procedure.current_version
        score = search.score(
            query_tokens,
            name=version.name,
            name_kana=version.name_kana,
            text=version.search_text,
            reading=version.search_reading,
        )
        if folded_query and (
            folded_query in version.name_kana or folded_query in to_search_kana(version.name)
        ):
            score += 10
        elif folded_query and folded_query in version.search_reading.replace(" ", ""):
            score += 4
        if score > 0:
            ranked.append((score, procedure))
    ranked.sort(key=lambda pair: (-pair[0], pair[1].current_version.name_kana))
    return [procedure for _score, procedure in ranked]


def grouped_by_category(procedures: list[Procedure]) -> list[tuple[str, list[Procedure]]]:
    groups: dict[str, list[Procedure]] = {}
    for procedure in procedures:
        groups.setdefault(procedure.current_version.category, []).append(procedure)
    return sorted(groups.items())


def life_event_counts(procedures: list[Procedure]) -> list[tuple[str, str, int]]:
    """(life event id, label, number of procedures) for the events that have procedures."""
    counts: dict[str, int] = {}
    for procedure in procedures:
        for event in procedure.current_version.life_events:
            counts[event] = counts.get(event, 0) + 1
    return [(key, label, counts[key]) for key, label in LIFE_EVENTS.items() if counts.get(key)]
