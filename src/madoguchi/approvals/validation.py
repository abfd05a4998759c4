"""Checking route definition files: YAML, the JSON Schema, the logic, then the references
to the organisation (body, units, positions).

Every problem names the file, the line and the path inside the definition, in Japanese
and English, like the procedure checker (`madoguchi procedures check`). The YAML reader
and the condition language are the catalogue's: procedure authors learn one format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from django.db import DatabaseError

from madoguchi.catalogue import conditions, yamlsource

from . import registry

SCHEMA_PATH = Path(__file__).parent / "schema" / "route.schema.json"
DRAFTER = "drafter"  # `unit: drafter`: the drafter's unit, or the nearest unit above it

TYPE_NAMES = {
    "string": ("文字列", "a string"),
    "integer": ("整数", "an integer"),
    "number": ("数", "a number"),
    "boolean": ("true または false", "true or false"),
    "object": ("項目の集まり（キー: 値）", "a mapping"),
    "array": ("リスト（- で始まる行）", "a list"),
    "null": ("null", "null"),
}
PATTERN_HINTS = {
    "^[a-z0-9][a-z0-9_-]*$": (
        "英小文字・数字・ハイフン・アンダースコア",
        "lower-case letters, digits, '-', '_'",
    ),
    "^[0-9]{6}$": ("6桁の数字（全国地方公共団体コード）", "six digits (local government code)"),
    "^[a-z][a-z0-9_]{0,62}$": (
        "英小文字で始まる英小文字・数字・アンダースコア",
        "lower-case letters, digits or '_', starting with a letter",
    ),
    "^[a-z][a-z0-9_]{0,29}$": (
        "職コード（section_chief など）",
        "a position code (section_chief …)",
    ),
    "^[a-z0-9][a-z0-9_-]{0,49}$": ("組織コード、または drafter", "a unit code, or drafter"),
    "^[a-z][a-z0-9_]{0,39}$": (
        "種類のコード（internal_document など）",
        "a kind (internal_document …)",
    ),
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


def format_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Under a condition's oneOf, the error of the alternative the author meant: the one
    whose required key is present."""
    while error.context:
        instance = error.instance if isinstance(error.instance, dict) else {}
        meant = [
            sub
            for sub in error.context
            if not (sub.validator == "required" and not sub.relative_path)
        ]
        by_branch: dict[Any, list] = {}
        for sub in meant or error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        chosen = None
        for subs in by_branch.values():
            required = error.validator_value[subs[0].relative_schema_path[0]].get("required", [])
            if all(key in instance for key in required):
                chosen = subs
                break
        subs = chosen or next(iter(by_branch.values()))
        error = max(subs, key=lambda sub: len(sub.relative_path))
    return error


def _translate(error: jsonschema.ValidationError) -> tuple[tuple, str, str]:
    path = tuple(error.absolute_path)
    validator, value, instance = error.validator, error.validator_value, error.instance
    if validator == "required":
        named = re.match(r"'([^']+)' is a required property", error.message)
        missing = named[1] if named else "?"
        return (
            path,
            f"必須の項目「{missing}」がありません。",
            f"Required key '{missing}' is missing.",
        )
    if validator == "additionalProperties":
        allowed = set((error.schema or {}).get("properties", {}))
        names = (
            [key for key in instance if key not in allowed] if isinstance(instance, dict) else []
        )
        name = names[0] if names else "?"
        return (
            (*path, name),
            f"「{name}」はここでは使えない項目です（綴りをご確認ください）。",
            f"'{name}' is not allowed here (check the spelling).",
        )
    if validator == "type":
        names = value if isinstance(value, list) else [value]
        ja = "、".join(TYPE_NAMES.get(n, (n, n))[0] for n in names)
        en = " or ".join(TYPE_NAMES.get(n, (n, n))[1] for n in names)
        return path, f"{ja}で指定してください。", f"Expected {en}."
    if validator == "enum":
        choices = ", ".join(json.dumps(choice, ensure_ascii=False) for choice in value)
        return path, f"次のいずれかを指定してください: {choices}", f"Must be one of: {choices}"
    if validator == "const":
        shown = json.dumps(value, ensure_ascii=False)
        return path, f"{shown} を指定してください。", f"Must be {shown}."
    if validator == "pattern":
        ja, en = PATTERN_HINTS.get(value, (f"形式 {value}", f"pattern {value}"))
        return path, f"形式が正しくありません。{ja}で指定してください。", f"Wrong format: use {en}."
    if validator in ("minItems", "maxItems"):
        word = ("以上", "at least") if validator == "minItems" else ("以下", "at most")
        return path, f"{value}件{word[0]}にしてください。", f"Needs {word[1]} {value} items."
    if validator in ("minLength", "maxLength"):
        word = ("以上", "at least") if validator == "minLength" else ("以内", "at most")
        return path, f"{value}文字{word[0]}にしてください。", f"Needs {word[1]} {value} characters."
    if validator == "uniqueItems":
        return path, "同じ値が重複しています。", "Items must be unique."
    if validator in ("minProperties", "maxProperties", "oneOf"):
        return (
            path,
            "条件は「field」と比較（equals など）1つの組か、all・any・not で書いてください。",
            "A condition is 'field' plus one comparison, or all/any/not.",
        )
    return path, f"定義が正しくありません: {error.message}", error.message


def schema_problems(data: Any, source: yamlsource.SourceMap, file: str) -> list[Problem]:
    problems = []
    errors = [_deepest(error) for error in _validator().iter_errors(data)]
    for error in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        path, ja, en = _translate(error)
        problems.append(Problem(file, source.line_of(path), format_path(path), ja, en))
    return problems


# --- the logic ----------------------------------------------------------------------------


def _context_fields(data: Mapping[str, Any]) -> set[str] | None:
    """The facts the route's conditions may test, when every subject kind it serves is
    registered and declares them; None when that cannot be known."""
    subjects = data.get("subjects") or []
    if not subjects:
        return None
    fields: set[str] = {"drafter_position", "drafter_rank"}  # added by the engine
    for kind in subjects:
        if not registry.is_registered(kind):
            return None
        declared = registry.get_kind(kind).context_fields
        if not declared:
            return None
        fields |= set(declared)
    return fields


def logic_problems(
    data: Mapping[str, Any], source: yamlsource.SourceMap, file: str
) -> list[Problem]:
    problems: list[Problem] = []

    def problem(path: tuple, ja: str, en: str) -> None:
        problems.append(Problem(file, source.line_of(path), format_path(path), ja, en))

    steps = data["steps"]
    ids: dict[str, int] = {}
    for index, step in enumerate(steps):
        path = ("steps", index)
        if step["id"] in ids:
            problem(
                (*path, "id"),
                f"段階「{step['id']}」は steps[{ids[step['id']]}] と重複しています。",
                f"Step '{step['id']}' is also steps[{ids[step['id']]}].",
            )
        ids.setdefault(step["id"], index)
        has_approver, has_consult = "approver" in step, "consult" in step
        if has_approver == has_consult:
            problem(
                path,
                "段階には approver（1人の承認）か consult（合議）のどちらか一方を書いてください。",
                "A step has either 'approver' or 'consult', not both or neither.",
            )
        approvers = (
            [((*path, "approver"), step["approver"])]
            if has_approver
            else [((*path, "consult", i), item) for i, item in enumerate(step.get("consult", []))]
        )
        if step.get("optional") and not (
            has_approver and step["approver"].get("unit", DRAFTER) == DRAFTER
        ):
            problem(
                (*path, "optional"),
                "optional は、起案者の組織（unit: drafter）の approver の段階にだけ使えます。",
                "'optional' is only for an 'approver' step in the drafter's unit.",
            )
        seen_targets: set[tuple] = set()
        for approver_path, approver in approvers:
            if "position" not in approver and "role" not in approver:
                problem(
                    approver_path,
                    "承認者は position（職）か role（役割）で指定してください。",
                    "An approver needs a 'position' or a 'role'.",
                )
            unit = approver.get("unit", DRAFTER)
            if "body" in approver and unit == DRAFTER:
                problem(
                    (*approver_path, "body"),
                    "body を指定するときは unit に組織コードも指定してください。",
                    "With 'body', name the unit too.",
                )
            target = (approver.get("body"), unit, approver.get("position"), approver.get("role"))
            if has_consult and target in seen_targets:
                problem(
                    approver_path,
                    "同じ合議先が重複しています。",
                    "The same consulted approver appears twice.",
                )
            seen_targets.add(target)

    known_fields = _context_fields(data)
    condition_paths: list[tuple[tuple, Any]] = [
        (("steps", index, "when"), step["when"])
        for index, step in enumerate(steps)
        if "when" in step
    ]
    rules = data.get("final") or []
    for index, rule in enumerate(rules):
        path = ("final", index)
        if "when" in rule:
            condition_paths.append(((*path, "when"), rule["when"]))
        target = rule["step"]
        if target not in ids:
            problem(
                (*path, "step"),
                f"段階「{target}」がありません（steps の id を指定してください）。",
                f"There is no step '{target}'.",
            )
            continue
        step = steps[ids[target]]
        if "consult" in step:
            problem(
                (*path, "step"),
                "決裁権者には合議（consult）ではなく approver の段階を指定してください。",
                "The final approver must be an 'approver' step, not a consultation.",
            )
        if step.get("optional"):
            problem(
                (*path, "step"),
                f"決裁権者の段階「{target}」は optional にできません。",
                f"The final step '{target}' cannot be optional.",
            )
        if "when" in step:
            problem(
                (*path, "step"),
                f"決裁権者の段階「{target}」に when は付けられません（条件は final に書いてください）。",
                f"The final step '{target}' cannot have 'when'; put the condition in 'final'.",
            )
        last = index == len(rules) - 1
        if last and "when" in rule:
            problem(
                path,
                "final の最後の規則には when を付けないでください（どの条件にも当たらないときの決裁権者です）。",
                "The last rule of 'final' has no 'when': it is the default.",
            )
        if not last and "when" not in rule:
            problem(
                path,
                "when のない規則は final の最後に置いてください（それより後の規則は使われません）。",
                "A rule without 'when' must be the last one; later rules would never apply.",
            )
    if not rules and "consult" in steps[-1]:
        problem(
            ("steps", len(steps) - 1),
            "最後の段階が決裁権者になります。合議ではなく approver の段階にするか、final で決裁権者を指定してください。",
            "The last step is the final approver: make it an 'approver' step or use 'final'.",
        )

    if known_fields is not None:
        for path, condition in condition_paths:
            for field_id, _leaf in conditions.referenced_fields(condition):
                if field_id not in known_fields:
                    names = "、".join(sorted(known_fields))
                    problem(
                        (*path, "field"),
                        f"条件が参照する「{field_id}」は使えません。使える項目: {names}",
                        f"The condition refers to unknown fact '{field_id}'; known: {names}.",
                    )
    return problems


def reference_problems(
    data: Mapping[str, Any], source: yamlsource.SourceMap, file: str, *, require_body: bool
) -> list[Problem]:
    """Units and positions named by the route must exist (the body too, when loading)."""
    from madoguchi.organisation.models import DEFAULT_POSITIONS, Body, Position, Unit

    problems: list[Problem] = []

    def problem(path: tuple, ja: str, en: str) -> None:
        problems.append(Problem(file, source.line_of(path), format_path(path), ja, en))

    try:
        body = Body.objects.filter(code=data["body"]).first()
        known_positions = set(Position.objects.values_list("code", flat=True)) | {
            code for code, *_rest in DEFAULT_POSITIONS
        }
    except DatabaseError:
        return problems
    if body is None:
        if require_body:
            problem(
                ("body",),
                f"団体コード {data['body']} の団体が登録されていません。",
                f"No body with code {data['body']} exists.",
            )
        return problems
    for index, step in enumerate(data["steps"]):
        approvers = (
            [(("steps", index, "approver"), step["approver"])]
            if "approver" in step
            else [
                (("steps", index, "consult", i), item)
                for i, item in enumerate(step.get("consult", []))
            ]
        )
        for path, approver in approvers:
            position = approver.get("position")
            if position and position not in known_positions:
                names = ", ".join(sorted(known_positions))
                problem(
                    (*path, "position"),
                    f"職「{position}」は登録されていません。登録済み: {names}",
                    f"There is no position '{position}'; known: {names}.",
                )
            unit = approver.get("unit", DRAFTER)
            if unit == DRAFTER:
                continue
            owner = body
            if "body" in approver:
                owner = Body.objects.filter(code=approver["body"]).first()
                if owner is None:
                    problem(
                        (*path, "body"),
                        f"団体コード {approver['body']} の団体が登録されていません。",
                        f"No body with code {approver['body']} exists.",
                    )
                    continue
            found = Unit.objects.filter(body=owner, code=unit).first()
            if found is None:
                problem(
                    (*path, "unit"),
                    f"{owner.name}に組織コード「{unit}」の組織がありません。",
                    f"{owner.name_en or owner.name} has no unit '{unit}'.",
                )
            elif not found.is_active:
                problem(
                    (*path, "unit"),
                    f"組織「{found.name}」は廃止されています。",
                    f"The unit '{unit}' is retired.",
                )
    return problems


def check_text(
    text: str, file: str, *, references: bool = True, require_body: bool = False
) -> tuple[dict[str, Any] | None, list[Problem]]:
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
    if not problems and references:
        problems.extend(reference_problems(data, source, file, require_body=require_body))
    return (data if not problems else None), problems


def definition_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def check_path(
    path: Path, *, references: bool = True, require_body: bool = False
) -> tuple[list[tuple[Path, dict[str, Any]]], list[Problem]]:
    """Checks a file or a folder; two files defining the same route are a problem too."""
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
        data, found = check_text(
            text.lstrip("\ufeff"), str(file), references=references, require_body=require_body
        )
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
                    f"ルート「{data['id']}」は {owners[key]} でも定義されています。",
                    f"Route '{data['id']}' is also defined in {owners[key]}.",
                )
            )
            continue
        owners[key] = file
        valid.append((file, data))
    return valid, problems
