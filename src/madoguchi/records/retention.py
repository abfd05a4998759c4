"""Retention arithmetic of the records register: pure functions, property-tested.

The retention period starts on the April 1st after the 年度 (April–March) in which the
file was completed, unless its rule says otherwise (the January 1st after the calendar
year, or the day after completion), and ends the day before the same date N years later:
a 3-year file completed in 年度 2026 (by 2027-03-31) starts 2027-04-01 and expires
2030-03-31. 常用 files never expire. Extensions add whole years to the expiry; an active
hold moves it to the hold's end date, or suspends it (no date) until its end event.
"""

from __future__ import annotations

import datetime as dt

YEARS = {"1年": 1, "3年": 3, "5年": 5, "10年": 10, "30年": 30, "常用": None}


def years_of(retention_class: str) -> int | None:
    try:
        return YEARS[retention_class]
    except KeyError:
        raise ValueError(f"unknown retention class {retention_class!r}") from None


def fiscal_year_of(day: dt.date) -> int:
    """The 年度 of a date: 2027-03-31 is in 年度 2026, 2027-04-01 in 年度 2027."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_end(fiscal_year: int) -> dt.date:
    return dt.date(fiscal_year + 1, 3, 31)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def retention_start(rule: str, completed_on: dt.date) -> dt.date:
    if rule == "fiscal_year":
        return dt.date(fiscal_year_of(completed_on) + 1, 4, 1)
    if rule == "calendar_year":
        return dt.date(completed_on.year + 1, 1, 1)
    if rule == "completion":
        return completed_on + dt.timedelta(days=1)
    raise ValueError(f"unknown retention start rule {rule!r}")


def expiry(start: dt.date, years: int | None) -> dt.date | None:
    """The day before the same date `years` later; when that date does not exist (a
    period starting on 29 February), the end of that month (民法第143条)."""
    if years is None:
        return None
    try:
        return start.replace(year=start.year + years) - dt.timedelta(days=1)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def extend(expires: dt.date | None, years: int) -> dt.date | None:
    """The expiry moved `years` later: 2030-03-31 + 2 → 2032-03-31."""
    if expires is None or not years:
        return expires
    return _add_years(expires, years)


def with_holds(
    expires: dt.date | None, hold_ends: list[dt.date | None]
) -> tuple[dt.date | None, bool]:
    """The expiry with the active holds applied, and whether a hold is active."""
    if not hold_ends:
        return expires, False
    if expires is None or any(end is None for end in hold_ends):
        return None, True
    return max([expires, *hold_ends]), True


def is_expired(expires: dt.date | None, on_hold: bool, today: dt.date) -> bool:
    return expires is not None and not on_hold and expires < today
