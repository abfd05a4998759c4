"""Due dates from the 標準処理期間, in open days of the office (開庁日).

行政手続法 第6条 sets a standard period from the day an application reaches the office;
the time the applicant takes to answer a 補正 does not count. So:

- on submission the due date is the n-th open day after the day of receipt (民法 第140条:
  the first day is not counted; an application received on a Saturday starts counting on
  Monday);
- when a 補正 is requested on day P the clock stops: the open days left, those in
  (P, due], are kept and the due date is cleared (an application waiting on its resident
  is never "overdue");
- when the resident resubmits on day R the clock restarts: the new due date is the open
  day that leaves the same number of open days after R. An application that was already
  late when the 補正 was requested stays as late (the deficit is carried over).

Only the date arithmetic lives here; the services store the results on the application.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from madoguchi.core import calendar


def due_date_for(received: dt.date, processing_days: int | None) -> dt.date | None:
    if processing_days is None:
        return None
    return calendar.add_open_days(received, processing_days)


def open_days_left(due: dt.date, on: dt.date) -> int:
    """Open days in (on, due]; negative when `due` has passed (days of delay).

    Counted from a cached running total of open days, so that a page of the queue can
    show fifty of them without walking the calendar day by day."""
    if min(due, on).year < _EPOCH.year or max(due, on).year > _EPOCH.year + 200:
        return calendar.open_days_between(on, due)
    return _open_days_through(due) - _open_days_through(on)


_EPOCH = dt.date(2000, 1, 1)


@lru_cache(maxsize=64)
def _running_total(year: int) -> tuple[int, ...]:
    """Open days from 1 January of `year` through each day of it (index = day of year - 1)."""
    day = dt.date(year, 1, 1)
    total, counts = 0, []
    while day.year == year:
        total += calendar.is_open_day(day)
        counts.append(total)
        day += dt.timedelta(days=1)
    return tuple(counts)


@lru_cache(maxsize=256)
def _open_days_before_year(year: int) -> int:
    if year <= _EPOCH.year:
        return 0
    return _open_days_before_year(year - 1) + _running_total(year - 1)[-1]


@lru_cache(maxsize=256)
def _first_ordinal(year: int) -> int:
    return dt.date(year, 1, 1).toordinal()


def _open_days_through(day: dt.date) -> int:
    """Open days in [2000-01-01, day]."""
    index = day.toordinal() - _first_ordinal(day.year)
    return _open_days_before_year(day.year) + _running_total(day.year)[index]


def resume(on: dt.date, days_left: int) -> dt.date:
    """The due date after the clock restarts on `on` with `days_left` open days."""
    if days_left >= 0:
        return calendar.add_open_days(on, days_left)
    # Late already: the due date is that many open days before `on`, so that the delay
    # shown the next day is the delay at the time of the 補正 plus one.
    day = on
    remaining = -days_left
    while remaining:
        day -= dt.timedelta(days=1)
        if calendar.is_open_day(day):
            remaining -= 1
    return day


@dataclass(frozen=True)
class DueStatus:
    """How an application stands against its due date, as the queue shows it."""

    due_date: dt.date | None
    paused: bool
    days_left: int | None  # open days left (negative: days late)
    overdue: bool
    due_soon: bool

    @property
    def days_late(self) -> int:
        return -self.days_left if self.overdue and self.days_left is not None else 0

    @property
    def css(self) -> str:
        if self.paused:
            return "paused"
        if self.overdue:
            return "overdue"
        if self.due_soon:
            return "due-soon"
        return ""


def status(
    *,
    due_date: dt.date | None,
    paused: bool,
    days_left_at_pause: int | None,
    today: dt.date,
    soon_days: int,
    running: bool,
) -> DueStatus:
    if paused:
        return DueStatus(None, True, days_left_at_pause, False, False)
    if due_date is None or not running:
        return DueStatus(due_date, False, None, False, False)
    left = open_days_left(due_date, today)
    return DueStatus(due_date, False, left, due_date < today, 0 <= left <= soon_days)
