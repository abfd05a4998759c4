"""The business-day calendar of a Japanese local government (開庁日).

Closed: Saturdays, Sundays, national holidays (国民の祝日, 振替休日 and 国民の休日, from the
`holidays` package's Japan calendar, which is computed, not downloaded) and 年末年始
(December 29 to January 3, 「行政機関の休日に関する法律」第1条). A body may close on more
days (extra closures), passed in by the caller.

Periods follow 民法 第140条 (初日不算入): a period of n days that starts on the day
something was received ends on the n-th open day after that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from functools import lru_cache

import holidays

_YEAR_END = {(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)}
# A standard processing period is at most ten years (the definition schema's limit); the
# loop bound protects against a calendar without open days (every day an extra closure).
_MAX_SCAN_DAYS = 3660 * 2


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.Japan(years=year).keys())


def national_holiday_name(day: dt.date) -> str | None:
    """The holiday's Japanese name (e.g. 「文化の日」), or None."""
    if day not in _national_holidays(day.year):
        return None
    return holidays.Japan(years=day.year, language="ja").get(day)


def is_year_end_closure(day: dt.date) -> bool:
    return (day.month, day.day) in _YEAR_END


def is_open_day(day: dt.date, *, extra_closed: Collection[dt.date] = ()) -> bool:
    """True when the office is open on this day (開庁日)."""
    return not (
        day.weekday() >= 5
        or is_year_end_closure(day)
        or day in _national_holidays(day.year)
        or day in extra_closed
    )


def add_open_days(start: dt.date, days: int, *, extra_closed: Collection[dt.date] = ()) -> dt.date:
    """The n-th open day after `start` (start itself not counted); `start` for n = 0."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    for _ in range(_MAX_SCAN_DAYS * max(1, days)):
        if remaining == 0:
            return day
        day += dt.timedelta(days=1)
        if is_open_day(day, extra_closed=extra_closed):
            remaining -= 1
    raise ValueError("no open days in the calendar")


def open_days_between(
    start: dt.date, end: dt.date, *, extra_closed: Collection[dt.date] = ()
) -> int:
    """Open days in (start, end]: how many open days pass from `start` to `end`.

    Negative when `end` is before `start`, so that "days left" can go below zero.
    """
    if end < start:
        return -open_days_between(end, start, extra_closed=extra_closed)
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if is_open_day(day, extra_closed=extra_closed):
            count += 1
    return count


def next_open_day(day: dt.date, *, extra_closed: Collection[dt.date] = ()) -> dt.date:
    """`day` itself when open, else the first open day after it."""
    for _ in range(_MAX_SCAN_DAYS):
        if is_open_day(day, extra_closed=extra_closed):
            return day
        day += dt.timedelta(days=1)
    raise ValueError("no open days in the calendar")
