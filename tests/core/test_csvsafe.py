"""The one rule for every CSV the platform writes: no cell a spreadsheet would run."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core.csvsafe import FORMULA_START, SafeWriter, safe_cell

SRC = Path(__file__).resolve().parents[2] / "src" / "madoguchi"


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        '=HYPERLINK("http://evil.example","x")',
        "+81-90",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "＝1+1",
        "＠SUM(A1)",
    ],
)
def test_a_formula_is_shown_as_text(value):
    assert safe_cell(value) == "'" + value


def test_other_values_stay_as_they_are():
    assert safe_cell("山田 花子") == "山田 花子"
    assert safe_cell("a=b") == "a=b"
    assert safe_cell(-3) == -3 and safe_cell(1.5) == 1.5
    assert safe_cell(None) == ""
    assert safe_cell(True) == "はい"
    assert safe_cell({"a": "=x"}) == '{"a": "=x"}'
    assert safe_cell(["=x"]) == '["=x"]'


@given(st.text(max_size=30))
def test_no_text_cell_starts_a_formula(value):
    cleaned = safe_cell(value)
    assert not cleaned.startswith(FORMULA_START)
    assert cleaned.endswith(value)


def test_the_writer_makes_every_cell_safe_but_the_header():
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writeheader(["名前", "金額"])
    writer.writerow(["=cmd|' /C calc'!A0", -300])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [["名前", "金額"], ["'=cmd|' /C calc'!A0", "-300"]]


def test_every_csv_writer_in_the_code_is_the_safe_one():
    """csv.writer called anywhere but in the helper would bypass the rule."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "csvsafe.py" and path.parent.name == "core":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("writer", "DictWriter")
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, offenders
