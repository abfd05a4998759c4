"""CSV export of a filtered queue: UTF-8 with a BOM (so that Excel reads the Japanese),
streamed row by row so that a unit's 100,000 applications never sit in memory.

Cells that a spreadsheet would take for a formula (starting with = + - @, a tab or a
carriage return) are prefixed with an apostrophe by madoguchi.core.csvsafe (CSV injection). The export holds
the queue's columns only: no resident's name, address or answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

from madoguchi.core.csvsafe import SafeWriter
from madoguchi.counter import deadlines
from madoguchi.counter.models import Channel, State

from .selectors import QueueFilter, due_soon_days, queue

HEADER = (
    "受付番号",
    "手続",
    "定義の版",
    "状態",
    "受付日時",
    "処理期限",
    "残り開庁日",
    "期限の状況",
    "担当者",
    "受付経路",
    "決定日時",
)
CHUNK = 2000
_STATE_LABELS = {value: str(label) for value, label in State.choices}
_CHANNEL_LABELS = {value: str(label) for value, label in Channel.choices}


class _Line:
    """csv.writer writes into this and hands back the line it wrote."""

    def write(self, value: str) -> str:
        return value


def _when(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def rows(unit, flt: QueueFilter, *, user, on: dt.date | None = None) -> Iterator[tuple]:
    """The rows of the export, read from the database in chunks."""
    on = on or timezone.localdate()
    soon = due_soon_days()
    columns = (
        "receipt_number",
        "procedure_version__name",
        "procedure_version__number",
        "state",
        "submitted_at",
        "due_date",
        "clock_paused_on",
        "open_days_left",
        "assignee__display_name",
        "assignee__email",
        "channel",
        "decided_at",
    )
    queryset = queue(unit, flt, user=user, on=on).values_list(*columns)
    for (
        receipt,
        name,
        number,
        state,
        submitted,
        due,
        paused_on,
        left_at_pause,
        assignee_name,
        assignee_email,
        channel,
        decided,
    ) in queryset.iterator(chunk_size=CHUNK):
        running = state not in (State.APPROVED, State.REJECTED, State.RETURNED, State.WITHDRAWN)
        if paused_on is not None:
            left, standing = left_at_pause, "停止中（補正待ち）"
        elif due is not None and running:
            left = deadlines.open_days_left(due, on)
            standing = "期限切れ" if due < on else ("期限間近" if left <= soon else "")
        else:
            left, standing = "", ""
        yield (
            receipt or "",
            name,
            number,
            _STATE_LABELS.get(state, state),
            _when(submitted),
            due.isoformat() if due else "",
            left if left is not None else "",
            standing,
            assignee_name or assignee_email or "",
            _CHANNEL_LABELS.get(channel, channel),
            _when(decided),
        )


def stream(unit, flt: QueueFilter, *, user, on: dt.date | None = None) -> Iterator[str]:
    """The CSV text, one line at a time, starting with the BOM and the header."""
    writer = SafeWriter(_Line(), lineterminator="\r\n")
    yield "\ufeff" + writer.writeheader(HEADER)
    for row in rows(unit, flt, user=user, on=on):
        yield writer.writerow(row)
