"""Fixtures of the appointment tests: a counter of あおば市 and a procedure that needs a visit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.core import calendar

from tests.payments.conftest import bank_settings, certificate, load_procedure  # noqa: F401


def open_day(after: int = 2) -> dt.date:
    """An open day (開庁日) at least `after` days from today."""
    return calendar.next_open_day(timezone.localdate() + dt.timedelta(days=after))


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def counter(sample):
    """市民課 窓口: 15-minute slots, 2 places each, 8:30–12:00 and 13:00–17:15 on weekdays."""
    from madoguchi.appointments.models import Counter, OpeningHours
    from madoguchi.organisation.models import Body, Unit

    body = Body.objects.get(code="992011")
    counter = Counter.objects.create(
        body=body,
        unit=Unit.objects.get(body=body, code="shiminka"),
        code="shimin-madoguchi",
        name="市民課 窓口",
        location="本庁舎1階 2番窓口",
        note="本人確認書類（マイナンバーカードなど）をお持ちください。",
        slot_minutes=15,
        capacity=2,
        lead_minutes=60,
        horizon_days=60,
    )
    for weekday in range(5):
        OpeningHours.objects.create(counter=counter, weekday=weekday, opens=dt.time(8, 30),
                                    closes=dt.time(12, 0))
        OpeningHours.objects.create(counter=counter, weekday=weekday, opens=dt.time(13, 0),
                                    closes=dt.time(17, 15))
    return counter
