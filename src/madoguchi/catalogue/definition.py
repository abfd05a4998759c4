"""The runtime view of a validated procedure definition: pages, fields, logic and fees."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import conditions
from .errors import FieldError
from .fieldtypes import (
    DisplayContext,
    ParseResult,
    field_type,
    is_sealed,
    localized,
    option_items,
    unseal,
)


def input_name(path: str) -> str:
    return "f-" + path.replace(".", "-")


@dataclass(frozen=True)
class FeeLine:
    id: str
    label: str
    amount: int
    quantity: int
    unit: str = ""

    @property
    def subtotal(self) -> int:
        return self.amount * self.quantity


@dataclass(frozen=True)
class FeeReduction:
    id: str
    label: str
    legal_basis: str
    amount: int


@dataclass(frozen=True)
class FeeBreakdown:
    lines: list[FeeLine]
    subtotal: int
    reduction: FeeReduction | None
    total: int
    legal_basis: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """A JSON snapshot, kept with a payment as what was charged and why."""
        return {
            "lines": [{**line.__dict__, "subtotal": line.subtotal} for line in self.lines],
            "subtotal": self.subtotal,
            "reduction": self.reduction.__dict__ if self.reduction else None,
            "total": self.total,
            "legal_basis": self.legal_basis,
        }


@dataclass
class PageResult:
    values: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)


def _with_sensitive_items(spec: dict[str, Any]) -> dict[str, Any]:
    """A sensitive group seals each of its items' answers (the group itself is a list)."""
    if spec.get("type") != "group" or not spec.get("sensitive"):
        return spec
    return {**spec, "fields": [{**sub, "sensitive": True} for sub in spec.get("fields", [])]}


def _keep_seal(new: Any, stored: Any) -> Any:
    """The stored sealed answer when the new one says the same: each sealing encrypts
    afresh, and an unchanged answer must keep its bytes (the fee and the summary the
    resident signs are tied to the answers' hash)."""
    if is_sealed(new) and is_sealed(stored):
        return stored if unseal(new) == unseal(stored) else new
    if isinstance(new, list) and isinstance(stored, list):
        return [
            {key: _keep_seal(item, old.get(key)) for key, item in entry.items()}
            if isinstance(entry, dict) and isinstance(old, dict)
            else entry
            for entry, old in zip(new, stored + [None] * (len(new) - len(stored)), strict=False)
        ]
    return new


class Page:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.id: str = data["id"]
        self.fields: list[dict[str, Any]] = [_with_sensitive_items(spec) for spec in data["fields"]]

    @property
    def title(self) -> str:
        return localized(self.data, "title")

    @property
    def intro(self) -> str:
        return localized(self.data, "intro")

    def __repr__(self) -> str:
        return f"<Page {self.id}>"


class Definition:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.pages = [Page(page) for page in data["pages"]]
        self.fields: dict[str, dict[str, Any]] = {}
        self.page_of: dict[str, str] = {}
        for page in self.pages:
            for spec in page.fields:
                self.fields[spec["id"]] = spec
                self.page_of[spec["id"]] = page.id

    # --- navigation -----------------------------------------------------------------

    def page(self, page_id: str) -> Page | None:
        return next((page for page in self.pages if page.id == page_id), None)

    def visible_pages(self, answers: Mapping[str, Any]) -> list[Page]:
        return [
            page for page in self.pages if conditions.evaluate(page.data.get("show_if"), answers)
        ]

    def next_page(self, current: str | None, answers: Mapping[str, Any]) -> Page | None:
        visible = self.visible_pages(answers)
        if current is None:
            return visible[0] if visible else None
        ids = [page.id for page in self.pages]
        position = ids.index(current) if current in ids else -1
        for page in visible:
            if ids.index(page.id) > position:
                return page
        return None

    def previous_page(self, current: str, answers: Mapping[str, Any]) -> Page | None:
        ids = [page.id for page in self.pages]
        position = ids.index(current) if current in ids else len(ids)
        earlier = [page for page in self.visible_pages(answers) if ids.index(page.id) < position]
        return earlier[-1] if earlier else None

    # --- logic ----------------------------------------------------------------------

    @staticmethod
    def field_visible(spec: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
        return conditions.evaluate(spec.get("show_if"), context)

    @staticmethod
    def field_required(spec: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
        if spec["type"] in ("notice",):
            return False
        if "required_if" in spec:
            return conditions.evaluate(spec["required_if"], context)
        return spec.get("required", True)

    def fee(self, answers: Mapping[str, Any]) -> int | None:
        """The amount charged (円) after 減免, or None when the procedure has no fee."""
        breakdown = self.fee_breakdown(answers)
        return None if breakdown is None else breakdown.total

    def fee_breakdown(self, answers: Mapping[str, Any]) -> FeeBreakdown | None:
        """The fee table applied to the answers: its lines (amount × quantity, each line
        whose condition holds), the most favourable 減免 whose condition holds, the total."""
        fee = self.data.get("fee")
        if not fee:
            return None
        lines = []
        for line in [{"id": "_base", **fee}, *fee.get("items", [])]:
            if not conditions.evaluate(line.get("when"), answers):
                continue
            quantity = 1
            if line.get("quantity_field"):
                value = unseal(answers.get(line["quantity_field"]))
                quantity = value if isinstance(value, int) and not isinstance(value, bool) else 0
            if line["id"] == "_base" and line["amount"] == 0 and fee.get("items"):
                continue  # a table of items only: no empty base line
            lines.append(
                FeeLine(
                    id=line["id"],
                    label=localized(line, "label") or "手数料",
                    amount=line["amount"],
                    quantity=quantity,
                    unit=line.get("unit", ""),
                )
            )
        subtotal = sum(line.subtotal for line in lines)
        best: tuple[int, dict[str, Any]] | None = None
        for rule in fee.get("reductions", []):
            if not conditions.evaluate(rule["when"], answers):
                continue
            if rule.get("exempt"):
                off = subtotal
            elif "percent" in rule:
                # 円未満切捨て of the reduced amount: the resident never pays more than the rule.
                off = subtotal - subtotal * (100 - rule["percent"]) // 100
            else:
                off = min(rule.get("amount_off", 0), subtotal)
            if best is None or off > best[0]:
                best = (off, rule)
        reduction = None
        if best is not None and best[0] > 0:
            reduction = FeeReduction(
                id=best[1]["id"],
                label=localized(best[1], "label"),
                legal_basis=best[1]["legal_basis"],
                amount=best[0],
            )
        return FeeBreakdown(
            lines=lines,
            subtotal=subtotal,
            reduction=reduction,
            total=subtotal - (reduction.amount if reduction else 0),
            legal_basis=fee.get("legal_basis", ""),
            note=localized(fee, "note"),
        )

    # --- parsing form input ---------------------------------------------------------

    def parse_page(
        self,
        page: Page,
        data: Mapping[str, Any],
        answers: Mapping[str, Any],
        *,
        group_counts: Mapping[str, int] | None = None,
    ) -> PageResult:
        """Parses the posted inputs of one page. Values of fields hidden by the answers are
        dropped; required fields that are visible and empty get an error."""
        group_counts = group_counts or {}
        parsed: dict[str, ParseResult] = {}
        result = PageResult()
        for spec in page.fields:
            parsed[spec["id"]] = self._parse_form_field(
                spec, data, spec["id"], answers, group_counts
            )
            outcome = parsed[spec["id"]]
            if (
                spec["type"] == "my_number"
                and outcome.value is None
                and not outcome.errors
                and answers.get(spec["id"])
            ):
                # The number is never shown again; an empty box keeps the stored one.
                outcome.value = answers[spec["id"]]
        context = dict(answers)
        for field_id, outcome in parsed.items():
            context[field_id] = outcome.value
            result.raw.update(outcome.raw)
        for spec in page.fields:
            outcome = parsed[spec["id"]]
            if spec["type"] in ("notice", "file"):
                continue
            if not self.field_visible(spec, context):
                result.values[spec["id"]] = None
                continue
            result.errors.extend(outcome.errors)
            type_ = field_type(spec)
            if (
                not outcome.errors
                and type_.is_empty(outcome.value)
                and self.field_required(spec, context)
            ):
                result.errors.append(type_.required_error(spec, self._error_path(spec)))
            result.values[spec["id"]] = _keep_seal(outcome.value, answers.get(spec["id"]))
        return result

    @staticmethod
    def _error_path(spec: Mapping[str, Any], path: str | None = None) -> str:
        path = path or spec["id"]
        type_ = field_type(spec)
        return f"{path}.{type_.parts[0]}" if type_.parts else path

    def _parse_form_field(self, spec, data, path, answers, group_counts) -> ParseResult:
        if spec["type"] != "group":
            return field_type(spec).parse_form(spec, data, input_name(path), path)
        count = group_counts.get(spec["id"])
        if count is None:
            raw_count = data.get(f"{input_name(path)}-count", "")
            raw_count = raw_count[0] if isinstance(raw_count, list) else raw_count
            count = (
                int(raw_count)
                if str(raw_count).isdigit()
                else max(len(answers.get(spec["id"]) or []), spec.get("min_items", 1))
            )
        count = min(count, spec.get("max_items", 50))
        outcome = ParseResult(raw={f"{input_name(path)}-count": str(count)})
        items: list[dict[str, Any]] = []
        for index in range(count):
            item_values: dict[str, Any] = {}
            item_results: dict[str, ParseResult] = {}
            previous_items = answers.get(spec["id"]) or []
            previous = previous_items[index] if index < len(previous_items) else {}
            for sub in spec["fields"]:
                sub_path = f"{path}.{index}.{sub['id']}"
                item_results[sub["id"]] = field_type(sub).parse_form(
                    sub, data, input_name(sub_path), sub_path
                )
                sub_result = item_results[sub["id"]]
                if (
                    sub["type"] == "my_number"
                    and sub_result.value is None
                    and not sub_result.errors
                    and previous.get(sub["id"])
                ):
                    sub_result.value = previous[sub["id"]]
                outcome.raw.update(item_results[sub["id"]].raw)
                item_values[sub["id"]] = item_results[sub["id"]].value
            context = {**answers, **item_values}
            for sub in spec["fields"]:
                sub_path = f"{path}.{index}.{sub['id']}"
                sub_result = item_results[sub["id"]]
                if sub["type"] == "notice":
                    item_values.pop(sub["id"], None)
                    continue
                if not self.field_visible(sub, context):
                    item_values[sub["id"]] = None
                    continue
                outcome.errors.extend(sub_result.errors)
                type_ = field_type(sub)
                if (
                    not sub_result.errors
                    and type_.is_empty(sub_result.value)
                    and self.field_required(sub, context)
                ):
                    outcome.errors.append(
                        type_.required_error(sub, self._error_path(sub, sub_path))
                    )
            items.append(item_values)
        if len(items) < spec.get("min_items", 0):
            outcome.errors.append(
                FieldError(
                    path,
                    f"{spec['min_items']}件以上入力してください。",
                    f"Add at least {spec['min_items']}.",
                    "min_items",
                )
            )
        outcome.value = items or None
        return outcome

    # --- parsing JSON (API) ---------------------------------------------------------

    def parse_json_answers(self, given: Any) -> tuple[dict[str, Any], list[FieldError]]:
        if not isinstance(given, dict):
            return {}, [
                FieldError(
                    "answers",
                    "answers はオブジェクトで指定してください。",
                    "answers must be an object.",
                    "type",
                )
            ]
        errors: list[FieldError] = []
        answers: dict[str, Any] = {}
        for key in given:
            if key not in self.fields:
                errors.append(
                    FieldError(
                        f"answers.{key}",
                        "この手続にない項目です。",
                        "No such field in this procedure.",
                        "unknown_field",
                    )
                )
        for field_id, spec in self.fields.items():
            if field_id not in given or spec["type"] == "notice":
                continue
            outcome = self._parse_json_field(spec, given[field_id], field_id)
            errors.extend(outcome.errors)
            if outcome.value is not None:
                answers[field_id] = outcome.value
        return answers, errors

    def _parse_json_field(self, spec, value, path) -> ParseResult:
        if spec["type"] != "group":
            return field_type(spec).parse_json(spec, value, path)
        if value in (None, []):
            return ParseResult()
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return ParseResult(
                errors=[
                    FieldError(
                        path,
                        "オブジェクトの配列で指定してください。",
                        "Expected a list of objects.",
                        "type",
                    )
                ]
            )
        outcome = ParseResult(value=[])
        sub_specs = {sub["id"]: sub for sub in spec["fields"]}
        if len(value) > spec.get("max_items", 50):
            outcome.errors.append(
                FieldError(
                    path, f"{spec.get('max_items', 50)}件までです。", "Too many items.", "max_items"
                )
            )
            return outcome
        for index, item in enumerate(value):
            clean_item: dict[str, Any] = {}
            for key in item:
                if key not in sub_specs:
                    outcome.errors.append(
                        FieldError(
                            f"{path}.{index}.{key}",
                            "この手続にない項目です。",
                            "No such field.",
                            "unknown_field",
                        )
                    )
            for sub_id, sub in sub_specs.items():
                if sub["type"] == "notice":
                    continue  # takes no answer, as in forms and at the top level
                sub_result = field_type(sub).parse_json(
                    sub, item.get(sub_id), f"{path}.{index}.{sub_id}"
                )
                outcome.errors.extend(sub_result.errors)
                clean_item[sub_id] = sub_result.value
            outcome.value.append(clean_item)
        return outcome

    # --- completeness before submission --------------------------------------------

    def missing_answers(self, answers: Mapping[str, Any]) -> list[tuple[Page, FieldError]]:
        """Required answers that are missing on visible pages, with the page to fix them on."""
        problems: list[tuple[Page, FieldError]] = []
        for page in self.visible_pages(answers):
            for spec in page.fields:
                if spec["type"] == "notice" or not self.field_visible(spec, answers):
                    continue
                type_ = field_type(spec)
                value = answers.get(spec["id"])
                if type_.is_empty(value):
                    if self.field_required(spec, answers):
                        problems.append((page, type_.required_error(spec, self._error_path(spec))))
                    continue
                if spec["type"] == "group":
                    if len(value) < spec.get("min_items", 0):
                        problems.append(
                            (
                                page,
                                FieldError(
                                    spec["id"],
                                    f"{spec['min_items']}件以上入力してください。",
                                    f"Add at least {spec['min_items']}.",
                                    "min_items",
                                ),
                            )
                        )
                    for index, item in enumerate(value):
                        context = {**answers, **item}
                        for sub in spec["fields"]:
                            if sub["type"] == "notice" or not self.field_visible(sub, context):
                                continue
                            sub_type = field_type(sub)
                            if sub_type.is_empty(item.get(sub["id"])) and self.field_required(
                                sub, context
                            ):
                                path = f"{spec['id']}.{index}.{sub['id']}"
                                problems.append(
                                    (
                                        page,
                                        sub_type.required_error(sub, self._error_path(sub, path)),
                                    )
                                )
        return problems

    def relevant_answers(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Answers of visible pages and fields only: what is submitted."""
        kept: dict[str, Any] = {}
        for page in self.visible_pages(answers):
            for spec in page.fields:
                if spec["type"] == "notice" or not self.field_visible(spec, answers):
                    continue
                value = answers.get(spec["id"])
                if value is None:
                    continue
                if spec["type"] == "group":
                    value = [
                        {
                            sub["id"]: item.get(sub["id"])
                            for sub in spec["fields"]
                            if sub["type"] != "notice"
                            and self.field_visible(sub, {**answers, **item})
                            and item.get(sub["id"]) is not None
                        }
                        for item in value
                    ]
                kept[spec["id"]] = value
        return kept

    # --- display --------------------------------------------------------------------

    def display_rows(
        self, answers: Mapping[str, Any], ctx: DisplayContext | None = None
    ) -> list[dict[str, Any]]:
        """Answers as rows per page for the check-answers page, staff and the status page."""
        ctx = ctx or DisplayContext()
        sections = []
        for page in self.visible_pages(answers):
            rows = []
            for spec in page.fields:
                if spec["type"] == "notice" or not self.field_visible(spec, answers):
                    continue
                rows.append(self._display_row(spec, answers.get(spec["id"]), answers, ctx))
            if rows:
                sections.append({"page": page, "rows": rows})
        return sections

    def display_row(
        self, field_id: str, answers: Mapping[str, Any], ctx: DisplayContext
    ) -> dict[str, Any]:
        """One top-level answer as a row of display_rows."""
        spec = self.fields[field_id]
        return self._display_row(spec, answers.get(field_id), answers, ctx)

    def _display_row(self, spec, value, context, ctx) -> dict[str, Any]:
        row = {
            "id": spec["id"],
            "label": localized(spec, "label"),
            "type": spec["type"],
            "sensitive": bool(spec.get("sensitive")),
            "value": "",
            "items": [],
            "files": [],
        }
        if spec["type"] == "group":
            for index, item in enumerate(value or []):
                item_label = localized(spec, "item_label") or localized(spec, "label")
                sub_rows = [
                    self._display_row(sub, item.get(sub["id"]), {**context, **item}, ctx)
                    for sub in spec["fields"]
                    if sub["type"] != "notice" and self.field_visible(sub, {**context, **item})
                ]
                row["items"].append({"label": f"{item_label} {index + 1}", "rows": sub_rows})
        elif spec["type"] == "file":
            row["files"] = list(value or [])
        else:
            row["value"] = field_type(spec).display(spec, value, ctx)
        return row

    def iter_fields(self) -> Iterable[tuple[str, dict[str, Any]]]:
        for field_id, spec in self.fields.items():
            yield field_id, spec
            if spec["type"] == "group":
                for sub in spec["fields"]:
                    yield f"{field_id}.*.{sub['id']}", sub

    def options(self, field_id: str) -> list[dict[str, str]]:
        return option_items(self.fields[field_id])
