"""Fixtures of the appointment tests: a counter of あおば市 and a procedure that needs a visit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.core import calendar
from tests.notifications.conftest import smtp_server  # noqa: F401 - shared fixtures
from tests.payments.conftest import bank_settings, certificate, load_procedure  # noqa: F401


def open_day(after: int = 2) -> dt.date:
    """An open day (開庁日) at least `after` days from today."""
    return calendar.next_open_day(timezone.localdate() + dt.timedelta(days=after))


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def counter(sample):
    """市民課 窓口 of the sample, set as these tests expect: 15-minute slots, 2 places each,
    8:30–12:00 and 13:00–17:15 on weekdays, an hour's notice, 60 days ahead."""
    from madoguchi.appointments.models import Counter, OpeningHours

    counter = Counter.objects.get(body__code="992011", code="shimin-madoguchi")
    Counter.objects.filter(pk=counter.pk).update(
        location="本庁舎1階 2番窓口",
        note="本人確認書類（マイナンバーカードなど）をお持ちください。",
        slot_minutes=15,
        capacity=2,
        lead_minutes=60,
        horizon_days=60,
        is_active=True,
    )
    counter.refresh_from_db()
    counter.hours.all().delete()
    for weekday in range(5):
        OpeningHours.objects.create(
            counter=counter, weekday=weekday, opens=dt.time(8, 30), closes=dt.time(12, 0)
        )
        OpeningHours.objects.create(
            counter=counter, weekday=weekday, opens=dt.time(13, 0), closes=dt.time(17, 15)
        )
    return counter
