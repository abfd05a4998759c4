"""Checking procedure definition files: YAML, the JSON Schema, then the logic.

Every problem names the file, the line and the path inside the definition, in Japanese
and English. The loader refuses a catalogue with any problem; `madoguchi procedures check`
prints them all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from . import conditions, yamlsource
from .fieldtypes import option_items

SCHEMA_PATH = Path(__file__).parent / "schema" / "procedure.schema.json"

TYPE_NAMES = {
    "string": ("文字列", "a string"),
    "integer": ("整数", "an integer"),
    "number": ("数", "a number"),
    "boolean": ("true または false", "true or false"),
    "object": ("項目の集まり（キー: 値）", "a mapping"),
    "array": ("リスト（- で始まる行）", "a list"),
    "null": ("null", "null"),
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    ja: str
    en: str

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        location = f" {self.path}:" if self.path else ""
        return f"{where}:{location} {self.ja} / {self.en}"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())


def format_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _type_text(expected: Any) -> tuple[str, str]:
    names = expected if isinstance(expected, list) else [expected]
    return (
        "、".join(TYPE_NAMES.get(n, (n, n))[0] for n in names),
        " or ".join(TYPE_NAMES.get(n, (n, n))[1] for n in names),
    )


def _same_level(errors: list[jsonschema.ValidationError], validators: set[str]) -> bool:
    return any(e.validator in validators and not e.relative_path for e in errors)


def _leaf_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most specific error under a oneOf/anyOf, from the alternative the author meant.

    `best_match` prefers the shallowest error of the context, which for `fee: {amount: "300"}`
    is "Expected null" and for a condition with two comparisons "'all' is missing". The
    alternative meant is the one whose type matches and whose required keys are present.
    """
    while error.context:
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        candidates = [
            subs for subs in branches.values() if not _same_level(subs, {"type", "const", "enum"})
        ] or list(branches.values())
        candidates = [
            subs for subs in candidates if not _same_level(subs, {"required"})
        ] or candidates
        error = min(
            (sub for subs in candidates for sub in subs),
            key=lambda sub: (-len(sub.relative_path), sub.validator in ("oneOf", "anyOf")),
        )
    return error


def _translate(error: jsonschema.ValidationError) -> tuple[tuple[str | int, ...], str, str]:
    path = tuple(error.absolute_path)
    validator, value, instance = error.validator, error.validator_value, error.instance
    if validator == "required":
        # One error per missing key; its message names the key ("'channel' is a required ...").
        named = re.match(r"'([^']+)' is a required property", error.message)
        missing = (
            named[1]
            if named
            else next(
                (name for name in value if isinstance(instance, dict) and name not in instance),
                "?",
            )
        )
        return (
            path,
            f"必須の項目「{missing}」がありません。",
            f"Required key '{missing}' is missing.",
        )
    if validator in ("additionalProperties", "unevaluatedProperties"):
        names = _unexpected(error)
        name = names[0] if names else "?"
        return (
            (*path, name),
            f"「{name}」はここでは使えない項目です（綴りをご確認ください）。",
            f"'{name}' is not allowed here (check the spelling).",
        )
    if validator == "type":
        ja, en = _type_text(value)
        return path, f"{ja}で指定してください。", f"Expected {en}."
    if validator == "enum":
        choices = ", ".join(json.dumps(choice, ensure_ascii=False) for choice in value)
        return path, f"次のいずれかを指定してください: {choices}", f"Must be one of: {choices}"
    if validator == "const":
        return (
            path,
            f"{json.dumps(value, ensure_ascii=False)} を指定してください。",
            f"Must be {json.dumps(value)}.",
        )
    if validator == "pattern":
        hints = {
            "^[a-z][a-z0-9-]{2,79}$": (
                "英小文字で始まる3〜80文字の英小文字・数字・ハイフン",
                "3-80 lower-case letters, digits or hyphens, starting with a letter",
            ),
            "^[a-z][a-z0-9_]{0,62}$": (
                "英小文字で始まる英小文字・数字・アンダースコア（63文字まで）",
                "lower-case letters, digits or underscores, starting with a letter",
            ),
            "^[0-9]{6}$": (
                "6桁の数字（全国地方公共団体コード）",
                "six digits (local government code)",
            ),
            "^[ぁ-ゖゝゞー・ 　]+$": ("ひらがな", "hiragana"),
        }
        ja, en = hints.get(value, (f"形式 {value}", f"pattern {value}"))
        return path, f"形式が正しくありません。{ja}で指定してください。", f"Wrong format: use {en}."
    if validator in ("minItems", "maxItems"):
        word = ("以上", "at least") if validator == "minItems" else ("以下", "at most")
        return path, f"{value}件{word[0]}にしてください。", f"Needs {word[1]} {value} items."
    if validator in ("minLength", "maxLength"):
        word = ("以上", "at least") if validator == "minLength" else ("以内", "at most")
        return path, f"{value}文字{word[0]}にしてください。", f"Needs {word[1]} {value} characters."
    if validator in ("minimum", "exclusiveMinimum"):
        return path, f"{value}以上の値にしてください。", f"Must be at least {value}."
    if validator in ("maximum", "exclusiveMaximum"):
        return path, f"{value}以下の値にしてください。", f"Must be at most {value}."
    if validator == "uniqueItems":
        return path, "同じ値が重複しています。", "Items must be unique."
    if validator in ("minProperties", "maxProperties"):
        return (
            path,
            "条件は「field」と比較（equals など）1つの組で書いてください。",
            "A condition is 'field' plus exactly one comparison.",
        )
    return path, f"定義が正しくありません: {error.message}", error.message


def _field_keys(instance: Any) -> set[str]:
    """The properties a field of this type may have: the common ones plus its type's (or
    any type's, when the type itself is missing or wrong and is reported instead)."""
    defs = schema()["$defs"]
    clauses = defs["field"]["allOf"]
    matching = [c for c in clauses if _validator().evolve(schema=c["if"]).is_valid(instance)]
    keys = set(defs["field_common"]["properties"])
    for clause in matching or clauses:
        keys |= set(clause["then"].get("properties", {}))
    return keys


def _unexpected(error: jsonschema.ValidationError) -> list[str]:
    """The keys an additional/unevaluatedProperties error is really about.

    A field's type-specific properties (`min`, `options`, a group's `fields` ...) count as
    evaluated only when its type's `then` schema passes, so one wrong value there also
    reports its valid siblings as unevaluated; those are not unknown, the other error is
    the one to show.
    """
    instance = error.instance if isinstance(error.instance, dict) else {}
    found = re.findall(r"'([^']+)'", error.message)
    names = [name for name in found if name in instance] or list(instance)
    if error.validator == "unevaluatedProperties":
        allowed = _field_keys(instance)
        names = [name for name in names if name not in allowed]
    return names


def schema_problems(data: Any, source: yamlsource.SourceMap, file: str) -> list[Problem]:
    problems = []
    errors = [_leaf_error(error) for error in _validator().iter_errors(data)]
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        if error.validator == "unevaluatedProperties" and not _unexpected(error):
            continue
        path, ja, en = _translate(error)
        problems.append(Problem(file, source.line_of(path), format_path(path), ja, en))
    return problems


# --- the logic: references between fields, values, dates ---------------------------------


def _fields_in_order(
    data: Mapping[str, Any],
) -> Iterator[tuple[tuple[str | int, ...], dict, int, dict | None]]:
    """(path, field, page index, enclosing group) for every field, in page order."""
    for page_index, page in enumerate(data["pages"]):
        for field_index, spec in enumerate(page["fields"]):
            yield ("pages", page_index, "fields", field_index), spec, page_index, None
            if spec["type"] == "group":
                for sub_index, sub in enumerate(spec.get("fields", [])):
                    yield (
                        ("pages", page_index, "fields", field_index, "fields", sub_index),
                        sub,
                        page_index,
                        spec,
                    )


def logic_problems(
    data: Mapping[str, Any], source: yamlsource.SourceMap, file: str
) -> list[Problem]:
    problems: list[Problem] = []

    def problem(path: tuple[str | int, ...], ja: str, en: str) -> None:
        problems.append(Problem(file, source.line_of(path), format_path(path), ja, en))

    page_ids: dict[str, int] = {}
    for index, page in enumerate(data["pages"]):
        if page["id"] in page_ids:
            problem(
                ("pages", index, "id"),
                f"ページID「{page['id']}」が重複しています。",
                f"Duplicate page id '{page['id']}'.",
            )
        page_ids.setdefault(page["id"], index)

    seen: dict[str, tuple[dict, int, dict | None]] = {}
    for path, spec, page_index, group in _fields_in_order(data):
        if spec["id"] in seen:
            problem(
                (*path, "id"),
                f"項目ID「{spec['id']}」が重複しています。",
                f"Duplicate field id '{spec['id']}'.",
            )
            continue
        seen[spec["id"]] = (spec, page_index, group)
        if group is not None and spec["type"] in ("group", "file"):
            problem(
                (*path, "type"),
                "繰り返しグループの中にグループやファイルは置けません。",
                "Groups cannot contain groups or files.",
            )
        _check_field(spec, path, problem)

    def check_condition(
        condition, path, *, page_index: int, same_page_ok: bool, group: dict | None
    ) -> None:
        for field_id, leaf in conditions.referenced_fields(condition):
            target = seen.get(field_id)
            if target is None:
                problem(
                    path,
                    f"条件が参照する項目「{field_id}」がありません。",
                    f"The condition refers to unknown field '{field_id}'.",
                )
                continue
            spec, target_page, target_group = target
            if target_group is not None and target_group is not group:
                problem(
                    path,
                    f"「{field_id}」は別の繰り返しグループの中の項目なので参照できません。",
                    f"'{field_id}' is inside another group.",
                )
                continue
            if target_page > page_index or (target_page == page_index and not same_page_ok):
                problem(
                    path,
                    f"条件は前のページの項目しか参照できません（「{field_id}」）。",
                    f"A condition may only refer to earlier pages ('{field_id}').",
                )
            _check_condition_value(spec, leaf, path, problem)

    for index, page in enumerate(data["pages"]):
        if "show_if" in page:
            check_condition(
                page["show_if"],
                ("pages", index, "show_if"),
                page_index=index,
                same_page_ok=False,
                group=None,
            )
    for path, spec, page_index, group in _fields_in_order(data):
        for key in ("show_if", "required_if"):
            if key in spec:
                check_condition(
                    spec[key], (*path, key), page_index=page_index, same_page_ok=True, group=group
                )
                for field_id, _leaf in conditions.referenced_fields(spec[key]):
                    if field_id == spec["id"]:
                        problem(
                            (*path, key),
                            "項目が自分自身を条件にしています。",
                            "A field cannot depend on itself.",
                        )

    fee = data.get("fee") or {}
    lines = [(("fee",), fee)] if fee else []
    lines += [(("fee", "items", index), item) for index, item in enumerate(fee.get("items", []))]
    for line_path, line in lines:
        if line.get("quantity_field"):
            target = seen.get(line["quantity_field"])
            if target is None or target[0]["type"] != "number" or target[2] is not None:
                problem(
                    (*line_path, "quantity_field"),
                    "手数料の数量には、グループ外の数値項目（type: number）を指定してください。",
                    "quantity_field must name a number field outside groups.",
                )
    # Fee conditions are evaluated on the submitted answers: any field outside groups.
    last_page = len(data["pages"])
    for kind in ("items", "reductions"):
        ids: set[str] = set()
        for index, rule in enumerate(fee.get(kind, [])):
            if rule["id"] in ids:
                problem(
                    ("fee", kind, index, "id"),
                    f"「{rule['id']}」が重複しています。",
                    f"Duplicate id '{rule['id']}'.",
                )
            ids.add(rule["id"])
            if "when" in rule:
                check_condition(
                    rule["when"],
                    ("fee", kind, index, "when"),
                    page_index=last_page,
                    same_page_ok=True,
                    group=None,
                )
            if kind == "reductions":
                given = [key for key in ("exempt", "percent", "amount_off") if key in rule]
                if len(given) != 1:
                    problem(
                        ("fee", kind, index),
                        "減免には exempt、percent、amount_off のどれか一つを指定してください。",
                        "A reduction needs exactly one of exempt, percent or amount_off.",
                    )

    availability = data.get("availability") or {}
    moments = {}
    for key in ("opens", "closes"):
        if key in availability:
            try:
                moment = dt.datetime.fromisoformat(availability[key])
            except ValueError:
                problem(
                    ("availability", key),
                    "日時は 2026-11-01T09:00:00+09:00 の形式で書いてください。",
                    "Use an ISO 8601 date-time like 2026-11-01T09:00:00+09:00.",
                )
                continue
            if moment.tzinfo is None:
                problem(
                    ("availability", key),
                    "日時には時差（+09:00）を付けてください。",
                    "Add the UTC offset (+09:00).",
                )
                continue
            moments[key] = moment
    if "opens" in moments and "closes" in moments and moments["opens"] >= moments["closes"]:
        problem(
            ("availability", "closes"),
            "受付終了は受付開始より後にしてください。",
            "closes must be after opens.",
        )

    if data.get("channel") == "in_person" and data.get("signature_required"):
        problem(
            ("signature_required",),
            "窓口のみの手続には電子署名を求められません。",
            "An in-person-only procedure cannot require an e-signature.",
        )

    # The answers an issued document prints, and the dates that end its validity.
    deliverable = data.get("deliverable") or {}
    for index, field_id in enumerate(deliverable.get("fields", [])):
        if field_id not in seen:
            problem(
                ("deliverable", "fields", index),
                f"交付文書に載せる項目「{field_id}」がありません。",
                f"The deliverable lists unknown field '{field_id}'.",
            )
    for index, rule in enumerate((deliverable.get("validity") or {}).get("until", [])):
        found = seen.get(rule["field"])
        if found is None or found[0]["type"] != "date":
            problem(
                ("deliverable", "validity", "until", index, "field"),
                f"有効期限の基準「{rule['field']}」は日付の項目ではありません。",
                f"Validity 'until' must name a date field, not '{rule['field']}'.",
            )

    from madoguchi.notifications.templating import template_problems

    for path, ja, en in template_problems(data.get("notifications") or {}):
        problem(("notifications", *path), ja, en)
    return problems


def _check_field(spec: dict, path: tuple, problem) -> None:
    if spec["type"] in ("choice", "multiple_choice"):
        values = [item["value"] for item in option_items(spec)]
        duplicates = {value for value in values if values.count(value) > 1}
        if duplicates:
            problem(
                (*path, "options"),
                f"選択肢の値が重複しています: {', '.join(sorted(duplicates))}",
                f"Duplicate option values: {', '.join(sorted(duplicates))}",
            )
        low, high = spec.get("min_selected"), spec.get("max_selected")
        if high is not None and high > len(values):
            problem(
                (*path, "max_selected"),
                "max_selected が選択肢の数を超えています。",
                "max_selected exceeds the number of options.",
            )
        if low is not None and high is not None and low > high:
            problem(
                (*path, "min_selected"),
                "min_selected は max_selected 以下にしてください。",
                "min_selected must not exceed max_selected.",
            )
    if (
        spec["type"] == "number"
        and spec.get("min") is not None
        and spec.get("max") is not None
        and spec["min"] > spec["max"]
    ):
        problem((*path, "min"), "min は max 以下にしてください。", "min must not exceed max.")
    if spec["type"] == "group" and spec.get("min_items", 0) > spec.get("max_items", 50):
        problem(
            (*path, "min_items"),
            "min_items は max_items 以下にしてください。",
            "min_items must not exceed max_items.",
        )
    if spec["type"] == "date":
        for key in ("min", "max"):
            if key in spec:
                try:
                    dt.date.fromisoformat(spec[key])
                except ValueError:
                    problem(
                        (*path, key),
                        "日付は 2026-04-01 の形式で書いてください。",
                        "Use a date like 2026-04-01.",
                    )
    if spec.get("pattern"):
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            problem(
                (*path, "pattern"),
                f"正規表現として読めません: {exc}",
                f"Not a valid regular expression: {exc}",
            )
    if spec["type"] in ("text", "long_text") and spec.get("min_length", 0) > spec.get(
        "max_length", 10000
    ):
        problem(
            (*path, "min_length"),
            "min_length は max_length 以下にしてください。",
            "min_length must not exceed max_length.",
        )
    if spec.get("required") is False and "required_if" in spec:
        problem(
            (*path, "required_if"),
            "required: false と required_if は同時に書けません。",
            "Use either required: false or required_if.",
        )


def _check_condition_value(target: dict, leaf: Mapping[str, Any], path: tuple, problem) -> None:
    operator = next(key for key in leaf if key != "field")
    value = leaf[operator]
    kind = target["type"]
    if kind in ("choice", "multiple_choice"):
        allowed = {item["value"] for item in option_items(target)}
        if operator in ("equals", "not_equals", "contains"):
            candidates = [value]
        elif operator == "in":
            candidates = list(value)
        else:
            candidates = []
        unknown = [str(c) for c in candidates if c not in allowed]
        if unknown:
            problem(
                path,
                f"「{target['id']}」の選択肢にない値です: {', '.join(unknown)}",
                f"Not an option of '{target['id']}': {', '.join(unknown)}",
            )
        if operator == "contains" and kind != "multiple_choice":
            problem(
                path,
                "contains は複数選択の項目にだけ使えます。",
                "'contains' applies to multiple_choice fields only.",
            )
    if operator in ("greater_than", "less_than") and kind != "number":
        problem(
            path,
            f"{operator} は数値項目にだけ使えます。",
            f"'{operator}' applies to number fields only.",
        )
    if kind == "agreement" and operator in ("equals", "not_equals") and not isinstance(value, bool):
        problem(
            path,
            "同意の項目は true か false と比べてください。",
            "Compare an agreement with true or false.",
        )


def check_text(text: str, file: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Checks one definition's text; returns the data when it has no problem."""
    try:
        data, source = yamlsource.load(text)
    except yamlsource.YamlError as exc:
        return None, [Problem(file, exc.line, "", exc.ja, exc.en)]
    problems = [
        Problem(
            file,
            line,
            format_path(path),
            f"キー「{path[-1]}」が重複しています。",
            f"Duplicate key '{path[-1]}'.",
        )
        for path, line in source.duplicates
    ]
    if data is None:
        return None, [*problems, Problem(file, 1, "", "ファイルが空です。", "The file is empty.")]
    problems.extend(schema_problems(data, source, file))
    if not problems:
        problems.extend(logic_problems(data, source, file))
    return (data if not problems else None), problems


def definition_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def check_path(path: Path) -> tuple[list[tuple[Path, dict[str, Any]]], list[Problem]]:
    """Checks a file or a folder. Also reports two files that define the same procedure."""
    if not path.exists():
        return [], [
            Problem(
                str(path),
                None,
                "",
                "ファイルまたはフォルダがありません。",
                "No such file or folder.",
            )
        ]
    files = definition_files(path)
    if not files:
        return [], [
            Problem(
                str(path),
                None,
                "",
                "定義ファイル（.yaml / .yml）がありません。",
                "No definition files (.yaml/.yml) found.",
            )
        ]
    valid: list[tuple[Path, dict[str, Any]]] = []
    problems: list[Problem] = []
    owners: dict[tuple[str, str], Path] = {}
    for file in files:
        try:
            content = file.read_bytes()
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            # exc.start counts from 0; people count bytes and lines from 1.
            problems.append(
                Problem(
                    str(file),
                    content.count(b"\n", 0, exc.start) + 1,
                    "",
                    f"UTF-8 で保存してください（{exc.start + 1}バイト目が読めません。Shift_JIS/CP932 ではありませんか）。",
                    f"Save the file as UTF-8 (byte {exc.start + 1} is not UTF-8; is it Shift_JIS/CP932?).",
                )
            )
            continue
        except OSError as exc:
            problems.append(
                Problem(
                    str(file),
                    None,
                    "",
                    f"読めません: {exc.strerror}",
                    f"Cannot read: {exc.strerror}",
                )
            )
            continue
        data, found = check_text(text.lstrip("\ufeff"), str(file))
        problems.extend(found)
        if data is None:
            continue
        key = (data["body"], data["id"])
        if key in owners:
            problems.append(
                Problem(
                    str(file),
                    1,
                    "id",
                    f"手続「{data['id']}」は {owners[key]} でも定義されています。",
                    f"Procedure '{data['id']}' is also defined in {owners[key]}.",
                )
            )
            continue
        owners[key] = file
        valid.append((file, data))
    return valid, problems
