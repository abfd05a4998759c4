from __future__ import annotations

import copy
import datetime as dt

from django.db.models import F, QuerySet

from madoguchi.core.text import LIFE_EVENTS

from . import search
from .fieldtypes import localized
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


def procedure_for_submission(body_code: str, identifier: str) -> Procedure | None:
    """What procedure_by_identifier finds, for the API's hot path (a submission): the
    procedure and its body in one query, and its current version from the versions this
    process has read before. The procedure is read on every request, so a procedure
    closed, unpublished or given a new version takes effect on the next one."""
    found = list(
        Procedure.objects.filter(
            is_published=True,
            current_version__isnull=False,
            body__code=body_code,
            identifier=identifier,
        )
        .select_related("body")
        .annotate(version_loaded_at=F("current_version__loaded_at"))[:1]
    )
    if not found:
        return None
    procedure = found[0]
    version = cached_version(procedure.current_version_id, procedure.version_loaded_at)
    version.procedure = procedure
    procedure.current_version = version
    return procedure


# Versions never change once written (ProcedureVersion.save refuses to), so a version read
# once, with its parsed definition, serves every later request of this process naming it.
# The key has the time the version was loaded besides its id: a database whose ids start
# again (tests rolled back, a database recreated) never finds another version's entry.
_versions: dict[tuple[int, dt.datetime], ProcedureVersion] = {}
VERSION_CACHE_SIZE = 256


def cached_version(version_id: int, loaded_at: dt.datetime) -> ProcedureVersion:
    """The version, from this process's cache or read (and cached). Each caller gets its
    own copy: what it caches on it (a related object) stays its own; the definition and
    its parsed form (`spec`), which nobody changes, are shared."""
    key = (version_id, loaded_at)
    version = _versions.get(key)
    if version is None:
        version = ProcedureVersion.objects.get(pk=version_id)
        version.spec  # noqa: B018 -- parsed once, shared by the copies
        while len(_versions) >= VERSION_CACHE_SIZE:
            _versions.pop(next(iter(_versions)), None)
        _versions[key] = version
    return copy.copy(version)


def forget_cached_versions() -> None:
    """Empties the cache of versions: for tests that change a version in place (standing
    in for the clock), which nothing else does."""
    _versions.clear()


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
    """(heading, procedures) per 分類, in the order of the Japanese names. The heading is
    in the reader's language: a category's English name comes from the first of its
    definitions that gives `category_en`."""
    groups: dict[str, list[Procedure]] = {}
    headings: dict[str, str] = {}
    for procedure in procedures:
        category = procedure.current_version.category
        groups.setdefault(category, []).append(procedure)
        if headings.get(category, category) == category:
            headings[category] = localized(procedure.current_version.definition, "category")
    return [(headings[category], groups[category]) for category in sorted(groups)]


def life_event_counts(procedures: list[Procedure]) -> list[tuple[str, str, int]]:
    """(life event id, label, number of procedures) for the events that have procedures."""
    counts: dict[str, int] = {}
    for procedure in procedures:
        for event in procedure.current_version.life_events:
            counts[event] = counts.get(event, 0) + 1
    return [(key, label, counts[key]) for key, label in LIFE_EVENTS.items() if counts.get(key)]
