"""CSV cells that a spreadsheet shows as text instead of running (CSV/formula injection).

Every CSV the platform writes goes through `safe_cell` (or `SafeWriter`), so that a
resident who types ``=HYPERLINK(...)`` or ``@SUM(...)`` into a form cannot make a staff
member's spreadsheet evaluate it when the export is opened.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any

# What a spreadsheet takes for the start of a formula: = + - @ (OWASP), and a tab or a
# carriage return, after which some spreadsheets read the rest of the cell as a new one.
# The full-width forms too: Japanese spreadsheet software converts them on import.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """The value as a cell: text that would start a formula gets a leading apostrophe
    (shown by spreadsheets, not evaluated); numbers stay numbers; None is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


class SafeWriter:
    """csv.writer whose rows are made safe cell by cell; writerow returns what the
    underlying file's write returned (the line, for a streaming pseudo-file)."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writeheader(self, header: Iterable[str]) -> Any:
        """The header row, written as it is: column names are the platform's own."""
        return self._writer.writerow(list(header))
