"""Retention start and expiry: computed from their inputs, never typed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.records import retention

dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))


@pytest.mark.parametrize(
    ("completed", "rule", "start"),
    [
        (dt.date(2027, 3, 31), "fiscal_year", dt.date(2027, 4, 1)),
        (dt.date(2026, 4, 1), "fiscal_year", dt.date(2027, 4, 1)),
        (dt.date(2026, 12, 28), "fiscal_year", dt.date(2027, 4, 1)),
        (dt.date(2026, 12, 28), "calendar_year", dt.date(2027, 1, 1)),
        (dt.date(2026, 12, 28), "completion", dt.date(2026, 12, 29)),
    ],
)
def test_the_start_is_the_april_1st_after_the_fiscal_year_unless_defined_otherwise(
    completed, rule, start
):
    assert retention.retention_start(rule, completed) == start


@pytest.mark.parametrize(
    ("retention_class", "expires"),
    [
        ("1年", dt.date(2028, 3, 31)),
        ("3年", dt.date(2030, 3, 31)),
        ("5年", dt.date(2032, 3, 31)),
        ("10年", dt.date(2037, 3, 31)),
        ("30年", dt.date(2057, 3, 31)),
        ("常用", None),
    ],
)
def test_expiry_is_the_day_before_the_anniversary(retention_class, expires):
    start = dt.date(2027, 4, 1)
    assert retention.expiry(start, retention.years_of(retention_class)) == expires


def test_unknown_inputs_are_refused():
    with pytest.raises(ValueError):
        retention.years_of("7年")
    with pytest.raises(ValueError):
        retention.retention_start("whenever", dt.date(2026, 1, 1))


@given(day=dates)
def test_the_fiscal_year_runs_from_april_to_march(day):
    year = retention.fiscal_year_of(day)
    assert dt.date(year, 4, 1) <= day <= retention.fiscal_year_end(year)


@given(completed=dates, years=st.sampled_from([1, 3, 5, 10, 30]))
def test_a_fiscal_year_file_starts_in_april_and_expires_at_the_end_of_march(completed, years):
    start = retention.retention_start("fiscal_year", completed)
    assert (start.month, start.day) == (4, 1) and start > completed
    assert start - completed <= dt.timedelta(days=366)
    expires = retention.expiry(start, years)
    assert (expires.month, expires.day) == (3, 31)
    assert expires.year == start.year + years


@given(
    expires=st.one_of(st.none(), dates),
    extension=st.integers(0, 30),
    holds=st.lists(st.one_of(st.none(), dates), max_size=4),
)
def test_holds_and_extensions_only_ever_move_the_expiry_later(expires, extension, holds):
    extended = retention.extend(expires, extension)
    if expires is not None:
        assert extended >= expires
    held, on_hold = retention.with_holds(extended, holds)
    assert on_hold == bool(holds)
    if not holds:
        assert held == extended
    elif extended is None or None in holds:
        assert held is None  # suspended until the hold's end event
    else:
        assert held == max([extended, *holds])
    # An expired file on hold is never disposable.
    assert not retention.is_expired(held, on_hold, dt.date(2100, 1, 1)) or not holds


def test_leap_days_do_not_break_the_arithmetic():
    assert retention.expiry(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)
    assert retention.expiry(dt.date(2028, 3, 1), 1) == dt.date(2029, 2, 28)
    assert retention.extend(dt.date(2028, 2, 28), 1) == dt.date(2029, 2, 28)
