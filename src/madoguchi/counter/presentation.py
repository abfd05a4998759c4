"""Turns a definition page, the inputs and the errors into what the templates render."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from madoguchi.catalogue import conditions
from madoguchi.catalogue.definition import Definition, Page, input_name
from madoguchi.catalogue.errors import FieldError
from madoguchi.catalogue.fieldtypes import (
    field_type,
    localized,
    option_items,
    prefecture_choices,
)

PART_LABELS = {
    "name": {
        "family": ("姓", "Family name"),
        "given": ("名", "Given name"),
        "family_kana": ("せい", "Family name (kana)"),
        "given_kana": ("めい", "Given name (kana)"),
    },
    "date": {"year": ("年", "Year"), "month": ("月", "Month"), "day": ("日", "Day")},
    "address": {
        "postal_code": ("郵便番号", "Postal code"),
        "prefecture": ("都道府県", "Prefecture"),
        "city": ("市区町村", "City"),
        "street": ("町名・番地", "Street and number"),
        "building": ("建物名・部屋番号（任意）", "Building (optional)"),
    },
}


def _label(pair: tuple[str, str], english: bool) -> str:
    return pair[1] if english else pair[0]


def _errors_for(path: str, errors: list[FieldError]) -> list[FieldError]:
    return [error for error in errors if error.path == path or error.path.startswith(path + ".")]


def bind_fields(
    definition: Definition,
    fields: list[Mapping[str, Any]],
    raw: Mapping[str, Any],
    errors: list[FieldError],
    answers: Mapping[str, Any],
    *,
    english: bool = False,
    path_prefix: str = "",
    same_page_ids: set[str] | None = None,
) -> list[dict[str, Any]]:
    same_page_ids = same_page_ids if same_page_ids is not None else {spec["id"] for spec in fields}
    bound = []
    for spec in fields:
        path = f"{path_prefix}{spec['id']}"
        condition = spec.get("show_if")
        referenced = {field_id for field_id, _leaf in conditions.referenced_fields(condition)}
        if (
            condition
            and not (referenced & same_page_ids)
            and not conditions.evaluate(condition, answers)
        ):
            continue  # hidden by answers on earlier pages
        name = input_name(path)
        field_errors = _errors_for(path, errors)
        type_ = field_type(spec)
        hint = localized(spec, "hint")
        item = {
            "id": spec["id"],
            "type": spec["type"],
            "template": f"counter/fields/{spec['type']}.html",
            "name": name,
            "first_input": type_.first_input(name),
            "label": localized(spec, "label"),
            "hint": hint,
            "hint_id": f"{name}-hint" if hint else "",
            "error_id": f"{name}-error" if field_errors else "",
            "required": definition.field_required(spec, answers)
            if "required_if" not in spec
            else None,
            "conditionally_required": "required_if" in spec,
            "errors": [error.message for error in field_errors],
            "part_errors": {
                error.path[len(path) + 1 :]: error.message
                for error in field_errors
                if error.path != path
            },
            "value": raw.get(name, ""),
            "spec": spec,
            "show_if_json": json.dumps(condition, ensure_ascii=False)
            if condition and referenced & same_page_ids
            else "",
            "text": localized(spec, "text"),
            "unit": localized(spec, "unit"),
        }
        if spec["type"] in PART_LABELS:
            item["parts"] = [
                {
                    "key": part,
                    "name": f"{name}-{part}",
                    "label": _label(label, english),
                    "value": raw.get(f"{name}-{part}", ""),
                    "error": item["part_errors"].get(part, ""),
                }
                for part, label in PART_LABELS[spec["type"]].items()
                if not (
                    spec["type"] == "name" and spec.get("kana") == "none" and part.endswith("_kana")
                )
            ]
        if spec["type"] == "my_number":
            stored = answers.get(spec["id"]) if not path_prefix else None
            item["stored"] = stored.get("last4") if isinstance(stored, dict) else ""
        if spec["type"] == "address":
            item["prefectures"] = prefecture_choices()
        if spec["type"] in ("choice", "multiple_choice"):
            chosen = raw.get(name, [] if spec["type"] == "multiple_choice" else "")
            chosen_set = set(chosen) if isinstance(chosen, list) else {chosen}
            item["options"] = [
                {
                    "value": option["value"],
                    "label": option["label_en"]
                    if english and option["label_en"]
                    else option["label"],
                    "hint": option["hint_en"] if english and option["hint_en"] else option["hint"],
                    "id": f"{name}-{index}",
                    "checked": option["value"] in chosen_set,
                }
                for index, option in enumerate(option_items(spec))
            ]
            item["widget"] = spec.get("widget") or (
                "select" if len(item["options"]) > 12 and spec["type"] == "choice" else "radio"
            )
        if spec["type"] == "file":
            item["files"] = answers.get(spec["id"]) or []
            item["accept"] = ",".join(
                {"image": "image/jpeg,image/png", "pdf": "application/pdf"}[kind]
                for kind in spec["accept"]
            )
            item["max_files"] = spec.get("max_files", 1)
            item["max_size_mb"] = spec.get("max_size_mb")
        if spec["type"] == "group":
            count_raw = raw.get(f"{name}-count", "")
            count = (
                int(count_raw)
                if str(count_raw).isdigit()
                else max(len(answers.get(spec["id"]) or []), spec.get("min_items", 1))
            )
            item_label = localized(spec, "item_label") or item["label"]
            item["count"] = count
            item["can_add"] = count < spec.get("max_items", 50)
            item["min_items"] = spec.get("min_items", 0)
            item["items"] = [
                {
                    "index": index,
                    "legend": f"{item_label} {index + 1}",
                    "fields": bind_fields(
                        definition,
                        spec["fields"],
                        raw,
                        errors,
                        {
                            **answers,
                            **(
                                (answers.get(spec["id"]) or [{}] * (index + 1))[index]
                                if index < len(answers.get(spec["id"]) or [])
                                else {}
                            ),
                        },
                        english=english,
                        path_prefix=f"{path}.{index}.",
                        same_page_ids={sub["id"] for sub in spec["fields"]},
                    ),
                }
                for index in range(count)
            ]
            item["item_label"] = item_label
        bound.append(item)
    return bound


def page_position(
    definition: Definition, page: Page, answers: Mapping[str, Any]
) -> tuple[int, int]:
    visible = definition.visible_pages(answers)
    ids = [p.id for p in visible]
    return (ids.index(page.id) + 1 if page.id in ids else 1, len(visible))
