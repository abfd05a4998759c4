from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from madoguchi.ledger.services import record_event
from madoguchi.organisation.models import Body, Unit

from . import search
from .models import Procedure, ProcedureVersion
from .validation import Problem, check_path


class CatalogueRejected(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the catalogue")
        self.problems = problems


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def definition_hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _resolve(file: Path, data: dict[str, Any]) -> tuple[Body | None, Unit | None, list[Problem]]:
    body = Body.objects.filter(code=data["body"]).first()
    if body is None:
        return (
            None,
            None,
            [
                Problem(
                    str(file),
                    None,
                    "body",
                    f"団体コード {data['body']} の団体が登録されていません。",
                    f"No body with code {data['body']} exists.",
                )
            ],
        )
    unit = Unit.objects.filter(body=body, code=data["department"]).first()
    if unit is None:
        return (
            body,
            None,
            [
                Problem(
                    str(file),
                    None,
                    "department",
                    f"{body.name}に組織コード「{data['department']}」の組織がありません。",
                    f"{body.name_en or body.name} has no unit '{data['department']}'.",
                )
            ],
        )
    return body, unit, []


def _version_fields(data: dict[str, Any]) -> dict[str, Any]:
    availability = data.get("availability") or {}
    text, reading = search.index_texts(
        data["name"],
        data.get("name_en", ""),
        data["category"],
        " ".join(data.get("keywords", [])),
        data.get("summary", ""),
    )
    return {
        "name": data["name"],
        "name_kana": data["name_kana"].replace(" ", "").replace("\u3000", ""),
        "name_en": data.get("name_en", ""),
        "category": data["category"],
        "life_events": data.get("life_events", []),
        "identity_level": data["identity_level"],
        "channel": data["channel"],
        "opens_at": dt.datetime.fromisoformat(availability["opens"])
        if "opens" in availability
        else None,
        "closes_at": dt.datetime.fromisoformat(availability["closes"])
        if "closes" in availability
        else None,
        "search_text": text,
        "search_reading": reading,
    }


def load_catalogue(path: Path | str, *, actor_id: str = "system") -> LoadReport:
    """Loads every definition under `path`; all of them or, on any problem, none.

    A changed definition becomes a new version; an unchanged one is left alone, so that
    loading is idempotent and applications keep pointing at the version they used.
    """
    valid, problems = check_path(Path(path))
    resolved = []
    for file, data in valid:
        body, unit, found = _resolve(file, data)
        problems.extend(found)
        resolved.append((file, data, body, unit))
    if problems:
        raise CatalogueRejected(problems)
    report = LoadReport()
    with transaction.atomic():
        for file, data, body, unit in resolved:
            digest = definition_hash(data)
            procedure, created = Procedure.objects.select_for_update().get_or_create(
                body=body, identifier=data["id"], defaults={"unit": unit}
            )
            current = procedure.current_version
            label = f"{body.code}/{data['id']}"
            if current is not None and current.definition_sha256 == digest:
                report.unchanged.append(label)
                continue
            number = (current.number + 1) if current else 1
            version = ProcedureVersion.objects.create(
                procedure=procedure,
                number=number,
                definition=data,
                definition_sha256=digest,
                source_path=str(file),
                **_version_fields(data),
            )
            procedure.current_version = version
            procedure.unit = unit
            procedure.save(update_fields=["current_version", "unit"])
            record_event(
                event_type="procedure.version_published",
                actor_kind="system" if actor_id == "system" else "staff",
                actor_id=actor_id,
                subject_type="procedure",
                subject_id=procedure.pk,
                body_id=body.pk,
                content_sha256=digest,
                details={"identifier": data["id"], "version": number},
            )
            (report.created if created else report.new_versions).append(label)
    return report
