"""The business-day calendar: weekends, national holidays, 年末年始 and extra closures."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.core import calendar

D = dt.date


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (D(2026, 12, 1), True),  # a Tuesday
        (D(2026, 12, 5), False),  # Saturday
        (D(2026, 12, 6), False),  # Sunday
        (D(2026, 11, 3), False),  # 文化の日
        (D(2026, 11, 23), False),  # 勤労感謝の日
        (D(2026, 12, 28), True),  # 御用納め: still open
        (D(2026, 12, 29), False),  # 年末年始
        (D(2026, 12, 31), False),
        (D(2027, 1, 1), False),  # 元日 and 年末年始
        (D(2027, 1, 4), True),  # 御用始め (a Monday)
        (D(2026, 5, 6), False),  # 振替休日 for 憲法記念日 on a Sunday
        (D(2026, 9, 22), False),  # 国民の休日 between 敬老の日 and 秋分の日
    ],
)
def test_open_days(day: dt.date, open_: bool) -> None:
    assert calendar.is_open_day(day) is open_


def test_holiday_names_are_japanese() -> None:
    assert calendar.national_holiday_name(D(2026, 11, 3)) == "文化の日"
    assert calendar.national_holiday_name(D(2026, 12, 1)) is None


def test_period_skips_year_end_and_weekend() -> None:
    # Received on Friday 2026-12-25; five open days: 28 (Mon), then 年末年始 to 1/3,
    # 1/4, 1/5, 1/6, 1/7.
    assert calendar.add_open_days(D(2026, 12, 25), 5) == D(2027, 1, 7)
    assert calendar.open_days_between(D(2026, 12, 25), D(2027, 1, 7)) == 5


def test_first_day_is_not_counted() -> None:
    assert calendar.add_open_days(D(2026, 12, 1), 1) == D(2026, 12, 2)
    assert calendar.add_open_days(D(2026, 12, 1), 0) == D(2026, 12, 1)


def test_extra_closures_count_as_closed() -> None:
    closed = {D(2026, 12, 2)}
    assert calendar.add_open_days(D(2026, 12, 1), 1, extra_closed=closed) == D(2026, 12, 3)
    assert calendar.next_open_day(D(2026, 12, 2), extra_closed=closed) == D(2026, 12, 3)


def test_days_left_go_negative_when_overdue() -> None:
    assert calendar.open_days_between(D(2026, 12, 4), D(2026, 12, 1)) == -3


def test_negative_period_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        calendar.add_open_days(D(2026, 12, 1), -1)


@given(
    start=st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)),
    days=st.integers(min_value=0, max_value=400),
)
def test_adding_then_counting_gives_the_period_back(start: dt.date, days: int) -> None:
    end = calendar.add_open_days(start, days)
    assert calendar.open_days_between(start, end) == days
    assert days == 0 or calendar.is_open_day(end)
