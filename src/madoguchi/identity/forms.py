from __future__ import annotations

from typing import Any

from madoguchi.catalogue.errors import FieldError
from madoguchi.catalogue.fieldtypes import prefecture_choices
from madoguchi.catalogue.japanese import (
    Invalid,
    has_control_characters,
    normalize_kana,
    normalize_phone,
    normalize_postal_code,
    parse_date_parts,
)

PROFILE_INPUTS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_year",
    "birth_month",
    "birth_day",
    "sex",
    "postal_code",
    "prefecture",
    "city",
    "street",
    "building",
    "phone",
    "date_style",
)


def _control_characters(key: str) -> FieldError:
    # Never typed on purpose; a NUL cannot even be stored by PostgreSQL.
    return FieldError(
        key,
        "使用できない制御文字が含まれています。",
        "Contains control characters.",
        "control_chars",
    )


def clean_profile(data) -> tuple[dict[str, Any], list[FieldError]]:
    """Validates the profile form; every part is optional, but what is given must be right."""
    raw = {key: str(data.get(key, "")).strip() for key in PROFILE_INPUTS}
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key in ("family_name", "given_name"):
        if has_control_characters(raw[key]):
            errors.append(_control_characters(key))
        elif len(raw[key]) > 50:
            errors.append(
                FieldError(
                    key,
                    "50文字以内で入力してください。",
                    "Use at most 50 characters.",
                    "max_length",
                )
            )
        values[key] = raw[key]
    for key in ("family_name_kana", "given_name_kana"):
        if raw[key]:
            try:
                values[key] = normalize_kana(raw[key])
            except Invalid as exc:
                errors.append(FieldError(key, exc.ja, exc.en, exc.code))
        else:
            values[key] = ""
    if any(raw[k] for k in ("birth_year", "birth_month", "birth_day")):
        try:
            values["birth_date"] = parse_date_parts(
                raw["birth_year"], raw["birth_month"], raw["birth_day"]
            )
        except Invalid as exc:
            errors.append(FieldError("birth.year", exc.ja, exc.en, exc.code))
    else:
        values["birth_date"] = None
    if raw["sex"] not in ("", "male", "female"):
        errors.append(
            FieldError("sex", "選択肢から選んでください。", "Choose an option.", "choice")
        )
    values["sex"] = raw["sex"] if raw["sex"] in ("male", "female") else ""
    if raw["postal_code"]:
        try:
            values["postal_code"] = normalize_postal_code(raw["postal_code"])
        except Invalid as exc:
            errors.append(FieldError("postal_code", exc.ja, exc.en, exc.code))
    else:
        values["postal_code"] = ""
    if raw["prefecture"] and raw["prefecture"] not in prefecture_choices():
        errors.append(
            FieldError(
                "prefecture", "都道府県を選択してください。", "Choose a prefecture.", "choice"
            )
        )
    values["prefecture"] = raw["prefecture"] if raw["prefecture"] in prefecture_choices() else ""
    for key in ("city", "street", "building"):
        if has_control_characters(raw[key]):
            errors.append(_control_characters(key))
        elif len(raw[key]) > 200:
            errors.append(
                FieldError(
                    key,
                    "200文字以内で入力してください。",
                    "Use at most 200 characters.",
                    "max_length",
                )
            )
        values[key] = raw[key]
    if raw["phone"]:
        try:
            values["phone"] = normalize_phone(raw["phone"])
        except Invalid as exc:
            errors.append(FieldError("phone", exc.ja, exc.en, exc.code))
    else:
        values["phone"] = ""
    values["date_style"] = (
        raw["date_style"] if raw["date_style"] in ("wareki", "seireki") else "wareki"
    )
    return values, errors
