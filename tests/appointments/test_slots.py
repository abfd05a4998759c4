"""Bookable times: opening hours with a lunch break, the business-day calendar, closures,
blocks, lead time and horizon, and the places left."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.appointments import slots
from madoguchi.appointments.models import Closure, SlotBlock

from .conftest import at, open_day

pytestmark = pytest.mark.django_db


def test_slots_follow_the_opening_hours_and_never_span_the_lunch_break(counter):
    day = open_day()
    (found,) = slots.days(counter, day, 1)
    starts = [timezone.localtime(s.starts_at).strftime("%H:%M") for s in found.slots]
    assert starts[0] == "08:30" and starts[-1] == "17:00"
    assert "11:45" in starts and "12:00" not in starts and "13:00" in starts
    assert len(starts) == 14 + 17
    assert all(s.free == 2 for s in found.slots)
    # A 30-minute visit takes two slots: none starts at 11:45 or 17:00.
    (long_visit,) = slots.days(counter, day, 1, minutes=30)
    long_starts = [timezone.localtime(s.starts_at).strftime("%H:%M") for s in long_visit.slots]
    assert "11:30" in long_starts and "11:45" not in long_starts and "17:00" not in long_starts
    assert all(s.ends_at - s.starts_at == dt.timedelta(minutes=30) for s in long_visit.slots)


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (dt.date(2027, 1, 2), "年末年始"),
        (dt.date(2026, 12, 29), "年末年始"),
        (dt.date(2027, 2, 11), "建国記念の日"),
        (dt.date(2027, 1, 16), "土曜日"),
        (dt.date(2027, 1, 17), "日曜日"),
    ],
)
def test_closed_days_have_no_slots(counter, day, reason):
    (found,) = slots.days(counter, day, 1, now=at(dt.date(2026, 12, 1), 9))
    assert not found.open and found.slots == [] and found.closed_reason == reason


def test_an_extra_closure_closes_the_day(counter, staff_user):
    day = open_day()
    Closure.objects.create(counter=counter, day=day, reason="庁舎の電気設備点検")
    (found,) = slots.days(counter, day, 1)
    assert not found.open and found.closed_reason == "庁舎の電気設備点検"


@pytest.fixture
def staff_user(shimin_staff):
    return shimin_staff


def test_blocked_times_are_not_bookable(counter, staff_user):
    day = open_day()
    SlotBlock.objects.create(
        counter=counter,
        starts_at=at(day, 10),
        ends_at=at(day, 11),
        reason="会議",
        created_by=staff_user,
    )
    (found,) = slots.days(counter, day, 1, minutes=30)
    by_start = {timezone.localtime(s.starts_at).strftime("%H:%M"): s for s in found.slots}
    # 9:45–10:15 overlaps the block; 9:30–10:00 and 11:00–11:30 do not.
    assert by_start["09:30"].bookable and by_start["11:00"].bookable
    assert not by_start["09:45"].bookable and not by_start["10:30"].bookable


def test_lead_time_and_horizon(counter):
    day = open_day()
    now = at(day, 10)
    (today,) = slots.days(counter, day, 1, now=now)
    bookable = [
        timezone.localtime(s.starts_at).strftime("%H:%M") for s in today.slots if s.bookable
    ]
    assert bookable[0] == "11:00"  # 60 minutes' notice
    far = day + dt.timedelta(days=counter.horizon_days + 7)
    far = slots.calendar.next_open_day(far)
    (beyond,) = slots.days(counter, far, 1, now=now)
    assert beyond.slots and not any(s.bookable for s in beyond.slots)


def test_a_two_week_list_costs_four_queries(counter, django_assert_num_queries):
    counter = type(counter).objects.get(pk=counter.pk)
    with django_assert_num_queries(4):  # hours, closures, blocks, seats
        days = slots.days(counter, open_day(), 14)
    assert len(days) == 14 and any(d.open for d in days)
