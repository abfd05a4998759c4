"""Reading the organisation CSV files: units (組織) and staff (職員).

Rows are numbered as a spreadsheet numbers them (the header is row 1), so that an error
says 「staff.csv 12行目 職」 and the person fixing it finds the cell. Headers may be
Japanese or English; files may be UTF-8 (with or without BOM) or Shift_JIS/CP932, the two
things Excel saves in Japan.

    units.csv:  組織コード,名称,種別,上位組織コード,英語名称,文書記号,メール,電話
    staff.csv:  メールアドレス,氏名,組織コード,職,役割,主所属
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from . import roles as role_specs

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000

UNIT_COLUMNS = {
    "code": ("組織コード", "code"),
    "name": ("名称", "name"),
    "kind": ("種別", "kind"),
    "parent": ("上位組織コード", "parent"),
    "name_en": ("英語名称", "name_en"),
    "document_symbol": ("文書記号", "document_symbol"),
    "email": ("メール", "email"),
    "phone": ("電話", "phone"),
}
UNIT_REQUIRED = ("code", "name", "kind")
STAFF_COLUMNS = {
    "email": ("メールアドレス", "email"),
    "name": ("氏名", "name"),
    "unit": ("組織コード", "unit"),
    "position": ("職", "position"),
    "roles": ("役割", "roles"),
    "primary": ("主所属", "primary"),
}
STAFF_REQUIRED = ("email", "unit", "position")
KINDS = {
    "部": "department",
    "課": "division",
    "係": "section",
    "department": "department",
    "division": "division",
    "section": "section",
}
TRUE = {"1", "true", "yes", "はい", "○", "〇", "主", "y"}
FALSE = {"0", "false", "no", "いいえ", "", "n", "×"}
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_SPLIT = re.compile(r"[;；、,，\s]+")


@dataclass(frozen=True)
class ImportProblem:
    file: str
    row: int | None
    column: str
    ja: str
    en: str

    def format(self) -> str:
        where = f"{self.file}:{self.row}" if self.row else self.file
        column = f" {self.column}:" if self.column else ""
        return f"{where}:{column} {self.ja} / {self.en}"


@dataclass
class UnitRow:
    row: int
    code: str
    name: str
    kind: str
    parent: str = ""
    name_en: str = ""
    document_symbol: str = ""
    email: str = ""
    phone: str = ""


@dataclass
class StaffRow:
    row: int
    email: str
    name: str
    unit: str
    position: str
    roles: list[str] = field(default_factory=list)
    primary: bool | None = None


def decode(data: bytes, *, file: str) -> tuple[str | None, list[ImportProblem]]:
    if len(data) > MAX_BYTES:
        return None, [
            ImportProblem(
                file,
                None,
                "",
                f"ファイルが大きすぎます（{MAX_BYTES // 1024 // 1024}MBまで）。",
                f"The file is too large (at most {MAX_BYTES // 1024 // 1024}MB).",
            )
        ]
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding), []
        except UnicodeDecodeError:
            continue
    return None, [
        ImportProblem(
            file,
            None,
            "",
            "文字コードを読めません。UTF-8 か Shift_JIS で保存してください。",
            "Cannot read the file: save it as UTF-8 or Shift_JIS.",
        )
    ]


def _rows(
    data: bytes, *, file: str, columns: dict[str, tuple[str, str]], required: tuple[str, ...]
) -> tuple[list[tuple[int, dict[str, str]]], list[ImportProblem]]:
    text, problems = decode(data, file=file)
    if text is None:
        return [], problems
    if "\x00" in text:
        return [], [
            ImportProblem(file, None, "", "CSV ファイルではありません。", "This is not a CSV file.")
        ]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [ImportProblem(file, 1, "", f"CSV として読めません: {exc}", f"Not CSV: {exc}")]
    if not header or not any(cell.strip() for cell in header):
        return [], [
            ImportProblem(file, 1, "", "見出し行がありません。", "The header row is missing.")
        ]
    names = {ja: key for key, (ja, en) in columns.items()} | {
        en: key for key, (ja, en) in columns.items()
    }
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        title = cell.strip()
        if not title:
            continue
        key = names.get(title) or names.get(title.lower())
        if key is None:
            known = "、".join(ja for ja, _en in columns.values())
            problems.append(
                ImportProblem(
                    file,
                    1,
                    title,
                    f"見出し「{title}」は使えません。使える見出し: {known}",
                    f"Unknown column '{title}'.",
                )
            )
            continue
        if key in positions:
            problems.append(
                ImportProblem(
                    file,
                    1,
                    title,
                    f"見出し「{title}」が重複しています。",
                    f"Duplicate column '{title}'.",
                )
            )
        positions[key] = index
    for key in required:
        if key not in positions:
            ja, en = columns[key]
            problems.append(
                ImportProblem(
                    file,
                    1,
                    ja,
                    f"必須の列「{ja}」がありません。",
                    f"The required column '{en}' is missing.",
                )
            )
    if problems:
        return [], problems
    rows: list[tuple[int, dict[str, str]]] = []
    number = 1
    try:
        for cells in reader:
            number += 1
            if number > MAX_ROWS + 1:
                problems.append(
                    ImportProblem(
                        file,
                        number,
                        "",
                        f"{MAX_ROWS}行までにしてください。",
                        f"At most {MAX_ROWS} rows.",
                    )
                )
                break
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                problems.append(
                    ImportProblem(
                        file,
                        number,
                        "",
                        f"列が多すぎます（見出しは{len(header)}列、この行は{len(cells)}列）。",
                        f"Too many cells ({len(cells)} for {len(header)} columns).",
                    )
                )
                continue
            values = {
                key: (cells[index].strip() if index < len(cells) else "")
                for key, index in positions.items()
            }
            rows.append((number, values))
    except csv.Error as exc:
        problems.append(
            ImportProblem(file, number, "", f"CSV として読めません: {exc}", f"Not CSV: {exc}")
        )
    return rows, problems


def _control(value: str) -> bool:
    return any(ord(ch) < 32 or ch == "\x7f" for ch in value)


def parse_units(
    data: bytes, *, file: str = "units.csv"
) -> tuple[list[UnitRow], list[ImportProblem]]:
    rows, problems = _rows(data, file=file, columns=UNIT_COLUMNS, required=UNIT_REQUIRED)
    result: list[UnitRow] = []
    seen: dict[str, int] = {}

    def problem(row: int, key: str, ja: str, en: str) -> None:
        problems.append(ImportProblem(file, row, UNIT_COLUMNS[key][0], ja, en))

    for number, values in rows:
        before = len(problems)
        code = values.get("code", "")
        if not _CODE.match(code):
            problem(
                number,
                "code",
                f"組織コード「{code}」は英小文字・数字・ハイフン・アンダースコア（50文字まで）にしてください。",
                "The unit code must be lower-case letters, digits, '-' or '_'.",
            )
        elif code in seen:
            problem(
                number,
                "code",
                f"組織コード「{code}」は{seen[code]}行目と重複しています。",
                f"The unit code '{code}' is also on row {seen[code]}.",
            )
        else:
            seen[code] = number
        name = values.get("name", "")
        if not name or len(name) > 100 or _control(name):
            problem(
                number,
                "name",
                "名称を100文字以内で入力してください。",
                "Give a name (at most 100).",
            )
        kind = KINDS.get(values.get("kind", "").strip().lower()) or KINDS.get(
            values.get("kind", "")
        )
        if kind is None:
            problem(
                number,
                "kind",
                f"種別「{values.get('kind', '')}」は 部・課・係 のいずれかにしてください。",
                "The kind must be 部, 課 or 係 (department, division, section).",
            )
        parent = values.get("parent", "")
        if parent and parent == code:
            problem(
                number,
                "parent",
                "上位組織に自分自身は指定できません。",
                "A unit cannot be its own parent.",
            )
        symbol = values.get("document_symbol", "")
        if len(symbol) > 20 or _control(symbol):
            problem(
                number,
                "document_symbol",
                "文書記号は20文字以内にしてください。",
                "At most 20 characters.",
            )
        email = values.get("email", "")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problem(
                    number,
                    "email",
                    "メールアドレスの形式が正しくありません。",
                    "Invalid e-mail address.",
                )
        if len(values.get("name_en", "")) > 200 or len(values.get("phone", "")) > 30:
            problem(
                number,
                "name_en",
                "英語名称は200文字、電話は30文字以内にしてください。",
                "Too long.",
            )
        if len(problems) == before:
            result.append(
                UnitRow(
                    row=number,
                    code=code,
                    name=name,
                    kind=kind,
                    parent=parent,
                    name_en=values.get("name_en", ""),
                    document_symbol=symbol,
                    email=email,
                    phone=values.get("phone", ""),
                )
            )
    return result, problems


def parse_staff(
    data: bytes, *, positions: dict[str, str], file: str = "staff.csv"
) -> tuple[list[StaffRow], list[ImportProblem]]:
    """`positions` maps codes and names (係長, section_chief) to position codes."""
    rows, problems = _rows(data, file=file, columns=STAFF_COLUMNS, required=STAFF_REQUIRED)
    result: list[StaffRow] = []
    seen: dict[tuple[str, str], int] = {}
    primary_rows: dict[str, int] = {}

    def problem(row: int, key: str, ja: str, en: str) -> None:
        problems.append(ImportProblem(file, row, STAFF_COLUMNS[key][0], ja, en))

    for number, values in rows:
        before = len(problems)
        email = values.get("email", "").lower()
        try:
            validate_email(email)
        except ValidationError:
            problem(
                number,
                "email",
                f"メールアドレス「{values.get('email', '')}」の形式が正しくありません。",
                "Invalid e-mail address.",
            )
        name = values.get("name", "")
        if len(name) > 100 or _control(name):
            problem(
                number,
                "name",
                "氏名は100文字以内にしてください。",
                "The name is at most 100 characters.",
            )
        unit = values.get("unit", "")
        if not _CODE.match(unit):
            problem(
                number,
                "unit",
                f"組織コード「{unit}」の形式が正しくありません。",
                "Invalid unit code.",
            )
        position = positions.get(values.get("position", ""))
        if position is None:
            names = "、".join(sorted({v for v in positions if not v.isascii()}))
            problem(
                number,
                "position",
                f"職「{values.get('position', '')}」は登録されていません。登録済み: {names}",
                f"Unknown position '{values.get('position', '')}'.",
            )
        roles: list[str] = []
        for text in _SPLIT.split(values.get("roles", "")):
            if not text:
                continue
            role = role_specs.role_by_text(text)
            if role is None:
                labels = "、".join(spec.label for spec in role_specs.ROLES.values())
                problem(
                    number,
                    "roles",
                    f"役割「{text}」はありません。使える役割: {labels}",
                    f"Unknown role '{text}'.",
                )
            elif role not in roles:
                roles.append(role)
        primary_text = values.get("primary", "").strip().lower()
        primary: bool | None = None
        if "primary" in values and primary_text:
            if primary_text in TRUE:
                primary = True
            elif primary_text in FALSE:
                primary = False
            else:
                problem(
                    number,
                    "primary",
                    "主所属は 1 か 0（はい・いいえ）で入力してください。",
                    "Use 1 or 0.",
                )
        key = (email, unit)
        if email and unit and key in seen:
            problem(
                number,
                "unit",
                f"この職員のこの組織への所属は{seen[key]}行目と重複しています。",
                f"The same membership is also on row {seen[key]}.",
            )
        elif email and unit:
            seen[key] = number
        if primary and email in primary_rows:
            problem(
                number,
                "primary",
                f"主所属は1つだけにしてください（{primary_rows[email]}行目も主所属です）。",
                f"Only one primary membership (row {primary_rows[email]} is one too).",
            )
        elif primary:
            primary_rows[email] = number
        if len(problems) == before:
            result.append(
                StaffRow(
                    row=number,
                    email=email,
                    name=name,
                    unit=unit,
                    position=position,
                    roles=roles,
                    primary=primary,
                )
            )
    return result, problems
