"""The field types of the definition format.

Each type turns form input (or a JSON value from the API) into a canonical answer value,
reports errors per input, and displays a value. Answers are JSON: strings, numbers,
booleans, lists and objects, so that a stored application needs no code to be read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.formats import number_format
from django.utils.translation import get_language

from . import japanese
from .errors import FieldError
from .japanese import Invalid

EMPTY = object()


def prefecture_choices() -> tuple[str, ...]:
    """The 47 prefectures, plus any configured for a demo (e.g. the fictional さくら県)."""
    from django.conf import settings

    return japanese.PREFECTURES + tuple(getattr(settings, "MADOGUCHI_EXTRA_PREFECTURES", ()))


def _lang_en() -> bool:
    return (get_language() or "ja").startswith("en")


def localized(definition: Mapping[str, Any], key: str) -> str:
    if _lang_en() and definition.get(f"{key}_en"):
        return definition[f"{key}_en"]
    return definition.get(key, "") or ""


@dataclass
class DisplayContext:
    date_style: str = "wareki"
    reveal_sensitive: bool = False


@dataclass
class ParseResult:
    value: Any = None  # None when nothing was entered
    raw: dict[str, str] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def _first(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)


def _list(data: Any, name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(v) for v in data.getlist(name)]
    value = data.get(name, [])
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _err(path: str, exc: Invalid) -> FieldError:
    return FieldError(path, exc.ja, exc.en, exc.code)


class FieldType:
    name: str = ""
    # Sub-inputs of composite types; a simple type has one input named after the field.
    parts: tuple[str, ...] = ()
    empty_message = ("{label}を入力してください。", "Enter {label}.")

    def parse_form(
        self, spec: Mapping[str, Any], data: Mapping[str, Any], prefix: str, path: str
    ) -> ParseResult:
        raw = _first(data, prefix)
        result = ParseResult(raw={prefix: raw})
        if raw.strip() == "":
            return result
        try:
            result.value = self.clean(spec, raw)
        except Invalid as exc:
            result.errors.append(_err(path, exc))
        return result

    def parse_json(self, spec: Mapping[str, Any], value: Any, path: str) -> ParseResult:
        if value is None or value == "":
            return ParseResult()
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return ParseResult(
                errors=[
                    FieldError(path, "文字列で指定してください。", "Expected a string.", "type")
                ]
            )
        try:
            return ParseResult(value=self.clean(spec, str(value)))
        except Invalid as exc:
            return ParseResult(errors=[_err(path, exc)])

    def clean(self, spec: Mapping[str, Any], raw: str) -> Any:
        return raw

    def raw_from_value(self, spec: Mapping[str, Any], value: Any, prefix: str) -> dict[str, str]:
        return {prefix: "" if value is None else str(value)}

    def display(self, spec: Mapping[str, Any], value: Any, ctx: DisplayContext) -> str:
        return "" if value is None else str(value)

    def is_empty(self, value: Any) -> bool:
        return value in (None, "", [], {})

    def required_error(self, spec: Mapping[str, Any], path: str) -> FieldError:
        label = localized(spec, "label")
        ja, en = self.empty_message
        return FieldError(
            path, ja.format(label=spec.get("label", "")), en.format(label=label), "required"
        )

    def first_input(self, prefix: str) -> str:
        return f"{prefix}-{self.parts[0]}" if self.parts else prefix


class TextType(FieldType):
    name = "text"
    default_max = 200

    def clean(self, spec, raw):
        text = raw.strip() if self.name == "text" else raw.replace("\r\n", "\n").strip()
        if japanese.has_control_characters(text):
            raise Invalid(
                "使用できない制御文字が含まれています。",
                "Contains control characters.",
                "control_chars",
            )
        max_length = spec.get("max_length", self.default_max)
        if len(text) > max_length:
            raise Invalid(
                f"{max_length}文字以内で入力してください（現在{len(text)}文字）。",
                f"Use at most {max_length} characters (now {len(text)}).",
                "max_length",
            )
        if len(text) < spec.get("min_length", 0):
            raise Invalid(
                f"{spec['min_length']}文字以上で入力してください。",
                f"Use at least {spec['min_length']} characters.",
                "min_length",
            )
        if spec.get("pattern") and not re.fullmatch(spec["pattern"], text):
            message = spec.get("pattern_message") or "入力の形式が正しくありません。"
            raise Invalid(message, "The format is not valid.", "pattern")
        return text


class LongTextType(TextType):
    name = "long_text"
    default_max = 2000


class NumberType(FieldType):
    name = "number"
    empty_message = ("{label}を数字で入力してください。", "Enter {label} as a number.")

    def clean(self, spec, raw):
        text = japanese.normalize_width(raw).replace(",", "")
        if not re.fullmatch(r"-?\d{1,12}", text):
            raise Invalid(
                "半角または全角の数字で入力してください。", "Enter a whole number.", "number"
            )
        number = int(text)
        low, high = spec.get("min"), spec.get("max")
        if low is not None and number < low:
            raise Invalid(f"{low}以上の数を入力してください。", f"Enter {low} or more.", "min")
        if high is not None and number > high:
            raise Invalid(f"{high}以下の数を入力してください。", f"Enter {high} or less.", "max")
        return number

    def parse_json(self, spec, value, path):
        if isinstance(value, bool):
            return ParseResult(
                errors=[FieldError(path, "数で指定してください。", "Expected a number.", "type")]
            )
        return super().parse_json(spec, value, path)

    def display(self, spec, value, ctx):
        if value is None:
            return ""
        number = number_format(value, force_grouping=True)
        if _lang_en() and spec.get("unit_en"):
            return f"{number} {spec['unit_en']}"
        return f"{number}{spec.get('unit', '')}"


class EmailType(FieldType):
    name = "email"

    def clean(self, spec, raw):
        text = japanese.normalize_width(raw)
        try:
            validate_email(text)
        except ValidationError as exc:
            raise Invalid(
                "メールアドレスの形式で入力してください（例: name@example.jp）。",
                "Enter an e-mail address like name@example.jp.",
                "email",
            ) from exc
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"


class PhoneType(FieldType):
    name = "phone"

    def clean(self, spec, raw):
        number = japanese.normalize_phone(raw)
        if spec.get("mobile_only"):
            import phonenumbers

            parsed = phonenumbers.parse(number)
            if phonenumbers.number_type(parsed) not in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            ):
                raise Invalid(
                    "携帯電話の番号を入力してください。", "Enter a mobile number.", "mobile_only"
                )
        return number

    def raw_from_value(self, spec, value, prefix):
        return {prefix: japanese.format_phone(value) if value else ""}

    def display(self, spec, value, ctx):
        return japanese.format_phone(value) if value else ""


class DateType(FieldType):
    name = "date"
    parts = ("year", "month", "day")

    def parse_form(self, spec, data, prefix, path):
        raw = {f"{prefix}-{part}": _first(data, f"{prefix}-{part}") for part in self.parts}
        result = ParseResult(raw=raw)
        year, month, day = (raw[f"{prefix}-{part}"] for part in self.parts)
        if not (year.strip() or month.strip() or day.strip()):
            return result
        missing = [
            part
            for part, text in zip(self.parts, (year, month, day), strict=True)
            if not text.strip()
        ]
        if missing:
            names = {"year": ("年", "year"), "month": ("月", "month"), "day": ("日", "day")}
            part = missing[0]
            result.errors.append(
                FieldError(
                    f"{path}.{part}",
                    f"{names[part][0]}を入力してください。",
                    f"Enter the {names[part][1]}.",
                    "required",
                )
            )
            return result
        try:
            date = japanese.parse_date_parts(year, month, day)
            result.value = self._check_range(spec, date).isoformat()
        except Invalid as exc:
            part = {
                "year_format": "year",
                "year_range": "year",
                "year_out_of_era": "year",
                "month_range": "month",
                "day_range": "day",
            }.get(exc.code, "year")
            result.errors.append(_err(f"{path}.{part}", exc))
        return result

    def clean(self, spec, raw):
        text = raw.strip()
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            date = japanese.parse_date(text)
        if not 1868 <= date.year <= 2200:
            # The same bounds as a typed year: an ISO string must not bypass them.
            raise Invalid(
                "日付は1868年以降で入力してください。",
                "Enter a date from 1868 onwards.",
                "year_range",
            )
        return self._check_range(spec, date).isoformat()

    def _check_range(self, spec, date: dt.date) -> dt.date:
        from django.utils import timezone

        today = timezone.localdate()
        if spec.get("not_future") and date > today:
            raise Invalid(
                "今日以前の日付を入力してください。",
                "The date must be today or in the past.",
                "not_future",
            )
        if spec.get("not_past") and date < today:
            raise Invalid(
                "今日以降の日付を入力してください。", "The date must be today or later.", "not_past"
            )
        if spec.get("min") and date < dt.date.fromisoformat(spec["min"]):
            low = japanese.format_wareki(dt.date.fromisoformat(spec["min"]))
            raise Invalid(
                f"{low}以降の日付を入力してください。",
                f"The date must be on or after {spec['min']}.",
                "min",
            )
        if spec.get("max") and date > dt.date.fromisoformat(spec["max"]):
            high = japanese.format_wareki(dt.date.fromisoformat(spec["max"]))
            raise Invalid(
                f"{high}以前の日付を入力してください。",
                f"The date must be on or before {spec['max']}.",
                "max",
            )
        return date

    def raw_from_value(self, spec, value, prefix):
        if not value:
            return {f"{prefix}-{part}": "" for part in self.parts}
        date = dt.date.fromisoformat(value)
        return {
            f"{prefix}-year": japanese.wareki_year_label(date),
            f"{prefix}-month": str(date.month),
            f"{prefix}-day": str(date.day),
        }

    def display(self, spec, value, ctx):
        if not value:
            return ""
        date = dt.date.fromisoformat(value)
        if _lang_en():
            return date.strftime("%-d %B %Y")
        return japanese.format_date(date, ctx.date_style)


class NameType(FieldType):
    name = "name"
    parts = ("family", "given", "family_kana", "given_kana")

    def _kana(self, spec) -> str:
        return spec.get("kana", "hiragana")

    def _parts(self, spec) -> tuple[str, ...]:
        return self.parts if self._kana(spec) != "none" else self.parts[:2]

    def _clean_parts(self, spec, values: Mapping[str, str], path: str) -> ParseResult:
        result = ParseResult()
        cleaned: dict[str, str] = {}
        labels = {
            "family": ("姓", "family name"),
            "given": ("名", "given name"),
            "family_kana": ("姓のふりがな", "reading of the family name"),
            "given_kana": ("名のふりがな", "reading of the given name"),
        }
        for part in self._parts(spec):
            text = re.sub(r"\s+", " ", values.get(part, "").replace("\u3000", " ")).strip()
            if not text:
                result.errors.append(
                    FieldError(
                        f"{path}.{part}",
                        f"{labels[part][0]}を入力してください。",
                        f"Enter the {labels[part][1]}.",
                        "required",
                    )
                )
                continue
            try:
                if part.endswith("_kana"):
                    cleaned[part] = japanese.normalize_kana(text, script=self._kana(spec))
                else:
                    if japanese.has_control_characters(text) or len(text) > 50:
                        raise Invalid(
                            "50文字以内の文字で入力してください。",
                            "Use at most 50 characters.",
                            "name",
                        )
                    cleaned[part] = text
            except Invalid as exc:
                result.errors.append(_err(f"{path}.{part}", exc))
        if not result.errors:
            result.value = cleaned
        return result

    def parse_form(self, spec, data, prefix, path):
        raw = {f"{prefix}-{part}": _first(data, f"{prefix}-{part}") for part in self._parts(spec)}
        if not any(value.strip() for value in raw.values()):
            return ParseResult(raw=raw)
        result = self._clean_parts(
            spec, {part: raw[f"{prefix}-{part}"] for part in self._parts(spec)}, path
        )
        result.raw = raw
        return result

    def parse_json(self, spec, value, path):
        if value in (None, {}):
            return ParseResult()
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return ParseResult(
                errors=[
                    FieldError(
                        path,
                        "氏名は {family, given, family_kana, given_kana} で指定してください。",
                        "Expected an object {family, given, family_kana, given_kana}.",
                        "type",
                    )
                ]
            )
        unknown = set(value) - set(self._parts(spec))
        if unknown:
            return ParseResult(
                errors=[
                    FieldError(
                        path,
                        f"不明な項目です: {', '.join(sorted(unknown))}",
                        f"Unknown keys: {', '.join(sorted(unknown))}",
                        "unknown_keys",
                    )
                ]
            )
        return self._clean_parts(spec, value, path)

    def raw_from_value(self, spec, value, prefix):
        value = value or {}
        return {f"{prefix}-{part}": value.get(part, "") for part in self._parts(spec)}

    def display(self, spec, value, ctx):
        if not value:
            return ""
        name = f"{value.get('family', '')} {value.get('given', '')}".strip()
        kana = f"{value.get('family_kana', '')} {value.get('given_kana', '')}".strip()
        return f"{name}（{kana}）" if kana else name


class PostalCodeType(FieldType):
    name = "postal_code"

    def clean(self, spec, raw):
        return japanese.normalize_postal_code(raw)

    def raw_from_value(self, spec, value, prefix):
        return {prefix: f"{value[:3]}-{value[3:]}" if value else ""}

    def display(self, spec, value, ctx):
        return japanese.format_postal_code(value) if value else ""


class AddressType(FieldType):
    name = "address"
    parts = ("postal_code", "prefecture", "city", "street", "building")
    _labels = {
        "postal_code": ("郵便番号", "postal code"),
        "prefecture": ("都道府県", "prefecture"),
        "city": ("市区町村", "city"),
        "street": ("町名・番地", "street and number"),
        "building": ("建物名・部屋番号", "building"),
    }
    _optional = frozenset({"building"})

    def _clean_parts(self, spec, values: Mapping[str, str], path: str) -> ParseResult:
        result = ParseResult()
        cleaned: dict[str, str] = {}
        for part in self.parts:
            text = re.sub(r"\s+", " ", str(values.get(part, "")).replace("\u3000", " ")).strip()
            if not text:
                if part not in self._optional:
                    ja, en = self._labels[part]
                    result.errors.append(
                        FieldError(
                            f"{path}.{part}",
                            f"{ja}を入力してください。",
                            f"Enter the {en}.",
                            "required",
                        )
                    )
                cleaned[part] = ""
                continue
            try:
                if part == "postal_code":
                    cleaned[part] = japanese.normalize_postal_code(text)
                elif part == "prefecture":
                    if text not in prefecture_choices():
                        raise Invalid(
                            "都道府県を選択してください。", "Choose a prefecture.", "prefecture"
                        )
                    cleaned[part] = text
                else:
                    if japanese.has_control_characters(text) or len(text) > 200:
                        raise Invalid(
                            "200文字以内で入力してください。",
                            "Use at most 200 characters.",
                            "max_length",
                        )
                    cleaned[part] = text
            except Invalid as exc:
                result.errors.append(_err(f"{path}.{part}", exc))
        if not result.errors:
            result.value = cleaned
        return result

    def parse_form(self, spec, data, prefix, path):
        raw = {f"{prefix}-{part}": _first(data, f"{prefix}-{part}") for part in self.parts}
        if not any(value.strip() for value in raw.values()):
            return ParseResult(raw=raw)
        result = self._clean_parts(
            spec, {part: raw[f"{prefix}-{part}"] for part in self.parts}, path
        )
        result.raw = raw
        return result

    def parse_json(self, spec, value, path):
        if value in (None, {}):
            return ParseResult()
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return ParseResult(
                errors=[
                    FieldError(
                        path,
                        "住所は {postal_code, prefecture, city, street, building} で指定してください。",
                        "Expected an address object.",
                        "type",
                    )
                ]
            )
        unknown = set(value) - set(self.parts)
        if unknown:
            return ParseResult(
                errors=[
                    FieldError(
                        path,
                        f"不明な項目です: {', '.join(sorted(unknown))}",
                        f"Unknown keys: {', '.join(sorted(unknown))}",
                        "unknown_keys",
                    )
                ]
            )
        return self._clean_parts(spec, value, path)

    def raw_from_value(self, spec, value, prefix):
        value = value or {}
        raw = {f"{prefix}-{part}": value.get(part, "") for part in self.parts}
        code = value.get("postal_code", "")
        if len(code) == 7:
            raw[f"{prefix}-postal_code"] = f"{code[:3]}-{code[3:]}"
        return raw

    def display(self, spec, value, ctx):
        if not value:
            return ""
        line = "".join(value.get(part, "") for part in ("prefecture", "city", "street"))
        if value.get("building"):
            line += f" {value['building']}"
        code = value.get("postal_code", "")
        return f"{japanese.format_postal_code(code)} {line}" if code else line


def option_items(spec: Mapping[str, Any]) -> list[dict[str, str]]:
    items = []
    for option in spec.get("options", []):
        if isinstance(option, str):
            items.append(
                {"value": option, "label": option, "label_en": "", "hint": "", "hint_en": ""}
            )
        else:
            items.append(
                {
                    "value": option["value"],
                    "label": option["label"],
                    "label_en": option.get("label_en", ""),
                    "hint": option.get("hint", ""),
                    "hint_en": option.get("hint_en", ""),
                }
            )
    return items


def option_label(spec: Mapping[str, Any], value: str) -> str:
    for item in option_items(spec):
        if item["value"] == value:
            return item["label_en"] if (_lang_en() and item["label_en"]) else item["label"]
    return value


class ChoiceType(FieldType):
    name = "choice"
    empty_message = ("{label}を選択してください。", "Choose {label}.")

    def clean(self, spec, raw):
        if raw not in {item["value"] for item in option_items(spec)}:
            raise Invalid("選択肢の中から選んでください。", "Choose one of the options.", "choice")
        return raw

    def display(self, spec, value, ctx):
        return option_label(spec, value) if value else ""


class MultipleChoiceType(FieldType):
    name = "multiple_choice"
    empty_message = ("{label}を1つ以上選択してください。", "Choose at least one for {label}.")

    def _clean_list(self, spec, values: list[str], path: str) -> ParseResult:
        allowed = [item["value"] for item in option_items(spec)]
        chosen = [value for value in allowed if value in values]  # definition order, no duplicates
        result = ParseResult()
        if len(chosen) != len(set(values)):
            result.errors.append(
                FieldError(
                    path, "選択肢の中から選んでください。", "Choose from the options.", "choice"
                )
            )
            return result
        if not chosen:
            return result
        low, high = spec.get("min_selected"), spec.get("max_selected")
        if low and len(chosen) < low:
            result.errors.append(
                FieldError(
                    path,
                    f"{low}つ以上選択してください。",
                    f"Choose at least {low}.",
                    "min_selected",
                )
            )
        elif high and len(chosen) > high:
            result.errors.append(
                FieldError(
                    path, f"{high}つまで選択できます。", f"Choose at most {high}.", "max_selected"
                )
            )
        else:
            result.value = chosen
        return result

    def parse_form(self, spec, data, prefix, path):
        values = [value for value in _list(data, prefix) if value]
        result = self._clean_list(spec, values, path)
        result.raw = {prefix: values}  # type: ignore[dict-item]
        return result

    def parse_json(self, spec, value, path):
        if value in (None, []):
            return ParseResult()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return ParseResult(
                errors=[
                    FieldError(
                        path,
                        "文字列の配列で指定してください。",
                        "Expected a list of strings.",
                        "type",
                    )
                ]
            )
        return self._clean_list(spec, value, path)

    def raw_from_value(self, spec, value, prefix):
        return {prefix: list(value or [])}  # type: ignore[dict-item]

    def display(self, spec, value, ctx):
        return "、".join(option_label(spec, item) for item in (value or []))

    def is_empty(self, value):
        return not value


class AgreementType(FieldType):
    name = "agreement"
    empty_message = (
        "「{label}」のチェックボックスにチェックを入れてください。",
        "Tick the box: {label}.",
    )

    def parse_form(self, spec, data, prefix, path):
        checked = _first(data, prefix) == "yes"
        return ParseResult(value=True if checked else None, raw={prefix: "yes" if checked else ""})

    def parse_json(self, spec, value, path):
        if value in (None, False):
            return ParseResult()
        if value is not True:
            return ParseResult(
                errors=[
                    FieldError(
                        path, "true か false で指定してください。", "Expected a boolean.", "type"
                    )
                ]
            )
        return ParseResult(value=True)

    def raw_from_value(self, spec, value, prefix):
        return {prefix: "yes" if value else ""}

    def display(self, spec, value, ctx):
        return ("Agreed" if _lang_en() else "同意する") if value else ""


class MyNumberType(FieldType):
    """個人番号. The answer holds ciphertext only; the clear number never reaches a screen
    other than the input that receives it."""

    name = "my_number"

    def clean(self, spec, raw):
        from madoguchi.core.crypto import encrypt_text

        number = japanese.normalize_my_number(raw)
        return {"ciphertext": encrypt_text(number), "last4": number[-4:]}

    def raw_from_value(self, spec, value, prefix):
        return {prefix: ""}

    def display(self, spec, value, ctx):
        if not value:
            return ""
        return "********" + value.get("last4", "????")

    def parse_form(self, spec, data, prefix, path):
        result = super().parse_form(spec, data, prefix, path)
        result.raw = {prefix: ""}  # never echoed back into the page
        return result


class CorporateNumberType(FieldType):
    name = "corporate_number"

    def clean(self, spec, raw):
        return japanese.normalize_corporate_number(raw)


class NoticeType(FieldType):
    """Guidance text on a page; it takes no input."""

    name = "notice"

    def parse_form(self, spec, data, prefix, path):
        return ParseResult()

    def parse_json(self, spec, value, path):
        return ParseResult()


class FileType(FieldType):
    """Attachments. Uploads are stored by the counter (files app); the answer is a list of
    descriptors {id, name, size, content_type, sha256} of stored files."""

    name = "file"
    empty_message = ("{label}のファイルを選択してください。", "Choose a file for {label}.")

    def parse_form(self, spec, data, prefix, path):
        return ParseResult()

    def parse_json(self, spec, value, path):
        if value in (None, []):
            return ParseResult()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return ParseResult(
                errors=[
                    FieldError(
                        path,
                        "ファイルIDの配列で指定してください。",
                        "Expected a list of file ids.",
                        "type",
                    )
                ]
            )
        return ParseResult(value=[{"id": file_id} for file_id in value])

    def raw_from_value(self, spec, value, prefix):
        return {}

    def display(self, spec, value, ctx):
        return "、".join(item.get("name", "") for item in (value or []))

    def is_empty(self, value):
        return not value


class GroupType(FieldType):
    """Repeatable group (e.g. children): a list of items, each an object of sub-fields."""

    name = "group"
    empty_message = ("{label}を1件以上入力してください。", "Add at least one {label}.")

    def is_empty(self, value):
        return not value


FIELD_TYPES: dict[str, FieldType] = {
    cls.name: cls()
    for cls in (
        TextType,
        LongTextType,
        NumberType,
        EmailType,
        PhoneType,
        DateType,
        NameType,
        PostalCodeType,
        AddressType,
        ChoiceType,
        MultipleChoiceType,
        AgreementType,
        FileType,
        GroupType,
        MyNumberType,
        CorporateNumberType,
        NoticeType,
    )
}

# Types whose answers can be sealed when their field is `sensitive`: My Number is always
# encrypted, files live in storage (access to them is checked instead), a group's
# sub-fields are sealed one by one, and a notice has no answer.
UNSEALED_TYPES = frozenset({"my_number", "file", "group", "notice"})

SENSITIVE_MASK = ("（特別な個人情報のため非表示）", "(hidden: special personal data)")


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("sealed") is True and "ciphertext" in value


def seal(value: Any) -> dict[str, Any]:
    """An answer of special personal data (health, disability) as stored: the canonical
    value as JSON, encrypted with the configured keys, so that a database dump, a backup
    or a staff member without the permission does not read it."""
    import json

    from madoguchi.core.crypto import encrypt_text

    return {
        "sealed": True,
        "ciphertext": encrypt_text(json.dumps(value, ensure_ascii=False, sort_keys=True)),
    }


def unseal(value: Any) -> Any:
    """The clear answer of a sealed one; any other value is returned as it is."""
    if not is_sealed(value):
        return value
    import json

    from madoguchi.core.crypto import decrypt_text

    return json.loads(decrypt_text(value["ciphertext"]))


def unseal_all(value: Any) -> Any:
    """Answers (or any part of them) with every sealed value opened: for the resident's own
    pages, their data download and the bytes they sign."""
    if is_sealed(value):
        return unseal(value)
    if isinstance(value, dict):
        return {key: unseal_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unseal_all(item) for item in value]
    return value


class SealedType:
    """A field type whose answers are sealed at rest (`sensitive: true`).

    Parsing validates the clear input with the inner type, then seals the canonical value;
    showing it needs a display context that may reveal it (the resident's own pages, or a
    staff member with the permission who stated a purpose). Everything else is the inner
    type's.
    """

    def __init__(self, inner: FieldType) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _sealed(self, result: ParseResult) -> ParseResult:
        if result.value is not None and not result.errors:
            result.value = seal(result.value)
        return result

    def parse_form(self, spec, data, prefix, path) -> ParseResult:
        return self._sealed(self.inner.parse_form(spec, data, prefix, path))

    def parse_json(self, spec, value, path) -> ParseResult:
        return self._sealed(self.inner.parse_json(spec, value, path))

    def raw_from_value(self, spec, value, prefix) -> dict[str, str]:
        # Only the resident's own form is prefilled from stored answers.
        try:
            return self.inner.raw_from_value(spec, unseal(value), prefix)
        except ValueError:  # sealed under a key no longer configured
            return self.inner.raw_from_value(spec, None, prefix)

    def display(self, spec, value, ctx: DisplayContext) -> str:
        if value is None:
            return ""
        if ctx.reveal_sensitive:
            try:
                return self.inner.display(spec, unseal(value), ctx)
            except ValueError:  # sealed under a key no longer configured: still masked
                pass
        return SENSITIVE_MASK[1] if _lang_en() else SENSITIVE_MASK[0]

    def is_empty(self, value) -> bool:
        return value is None or (not is_sealed(value) and self.inner.is_empty(value))


def field_type(spec: Mapping[str, Any]) -> FieldType:
    """The type that parses, shows and checks a field's answers (sealed when sensitive)."""
    type_ = FIELD_TYPES[spec["type"]]
    if spec.get("sensitive") and spec["type"] not in UNSEALED_TYPES:
        return SealedType(type_)  # type: ignore[return-value]
    return type_
