"""The register as CSV (UTF-8 with BOM, for Excel), streamed row by row.

The columns are those of a 行政文書ファイル管理簿 as municipalities publish it; none holds
personal data. A value starting with = + - @ (or a tab or carriage return) is prefixed
with ' (madoguchi.core.csvsafe) so that a spreadsheet shows it instead of running it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from madoguchi.core.csvsafe import SafeWriter

from .models import RecordFile

HEADER = [
    "大分類",
    "中分類",
    "小分類",
    "行政文書ファイル名",
    "作成部署",
    "作成年度",
    "保存期間",
    "保存期間の起算日",
    "保存期間の満了日",
    "媒体の種別",
    "保存場所",
    "管理者",
    "保存期間満了時の措置",
    "状態",
]


def _row(file: RecordFile) -> list[str]:
    return [
        file.classification_major,
        file.classification_middle,
        file.classification_minor,
        file.title,
        file.unit.name,
        f"{file.fiscal_year}年度",
        file.get_retention_class_display(),
        file.retention_start.isoformat(),
        file.expiry.isoformat() if file.expiry else ("保留中" if file.on_hold else "—"),
        file.medium,
        file.place,
        file.manager,
        file.get_disposition_display(),
        file.get_state_display(),
    ]


def register_csv_rows(files: Iterable[RecordFile]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = SafeWriter(buffer)

    def flush() -> bytes:
        value = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate(0)
        return value

    writer.writeheader(HEADER)
    yield b"\xef\xbb\xbf" + flush()
    iterator = files.iterator(chunk_size=2000) if hasattr(files, "iterator") else files
    for file in iterator:
        writer.writerow(_row(file))
        yield flush()
