"""The bookable times of a counter, computed from its opening hours, the business-day
calendar (weekends, national holidays, 年末年始, the counter's closures), staff blocks and
the seats already taken. Nothing here is stored: a slot is a time, its places are
seats (models.BookingSeat)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter as Tally
from dataclasses import dataclass

from django.utils import timezone

from madoguchi.core import calendar

from .models import BookingSeat, Closure, Counter, OpeningHours, SlotBlock


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    free: int
    bookable: bool
    blocked: bool = False

    @property
    def full(self) -> bool:
        return self.free <= 0


@dataclass(frozen=True)
class Day:
    day: dt.date
    open: bool
    slots: list[Slot]
    closed_reason: str = ""

    @property
    def free_slots(self) -> int:
        return sum(1 for slot in self.slots if slot.bookable)


def units_for(counter: Counter, minutes: int | None) -> int:
    """How many of the counter's slots a visit of `minutes` takes (at least one)."""
    return max(1, math.ceil((minutes or counter.slot_minutes) / counter.slot_minutes))


def _aware(day: dt.date, time: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time), timezone.get_current_timezone())


def unit_starts(
    counter: Counter, day: dt.date, hours: list[OpeningHours]
) -> list[list[dt.datetime]]:
    """The slot starts of a day, per opening range (a booking never spans a break)."""
    step = dt.timedelta(minutes=counter.slot_minutes)
    ranges = []
    for row in hours:
        if row.weekday != day.weekday():
            continue
        start, end = _aware(day, row.opens), _aware(day, row.closes)
        starts = []
        moment = start
        while moment + step <= end:
            starts.append(moment)
            moment += step
        ranges.append(starts)
    return ranges


def closed_reason(counter: Counter, day: dt.date, closures: dict[dt.date, str]) -> str:
    if day in closures:
        return closures[day]
    if calendar.is_year_end_closure(day):
        return "年末年始"
    holiday = calendar.national_holiday_name(day)
    if holiday:
        return holiday
    if day.weekday() >= 5:
        return "土曜日" if day.weekday() == 5 else "日曜日"
    return ""


def days(
    counter: Counter,
    start: dt.date,
    count: int,
    *,
    minutes: int | None = None,
    now: dt.datetime | None = None,
) -> list[Day]:
    """`count` days from `start`, each with its slots for a visit of `minutes`. Three
    queries for the whole range (hours, closures and blocks, taken seats)."""
    now = now or timezone.now()
    end = start + dt.timedelta(days=count)
    hours = list(counter.hours.all())
    closures = dict(
        Closure.objects.filter(counter=counter, day__gte=start, day__lt=end).values_list(
            "day", "reason"
        )
    )
    range_start, range_end = _aware(start, dt.time.min), _aware(end, dt.time.min)
    blocks = list(
        SlotBlock.objects.filter(
            counter=counter, starts_at__lt=range_end, ends_at__gt=range_start
        ).values_list("starts_at", "ends_at")
    )
    taken = Tally(
        BookingSeat.objects.filter(
            counter=counter, starts_at__gte=range_start, starts_at__lt=range_end
        ).values_list("starts_at", flat=True)
    )
    units = units_for(counter, minutes)
    step = dt.timedelta(minutes=counter.slot_minutes)
    earliest = now + dt.timedelta(minutes=counter.lead_minutes)
    latest_day = timezone.localdate(now) + dt.timedelta(days=counter.horizon_days)
    result = []
    for offset in range(count):
        day = start + dt.timedelta(days=offset)
        reason = closed_reason(counter, day, closures)
        if reason or not calendar.is_open_day(day, extra_closed=closures.keys()):
            result.append(Day(day, False, [], reason))
            continue
        slots = []
        for starts in unit_starts(counter, day, hours):
            for index in range(len(starts) - units + 1):
                covered = starts[index : index + units]
                begin, finish = covered[0], covered[-1] + step
                blocked = any(b_start < finish and b_end > begin for b_start, b_end in blocks)
                free = 0 if blocked else min(counter.capacity - taken[u] for u in covered)
                bookable = (
                    counter.is_active and free > 0 and begin >= earliest and day <= latest_day
                )
                slots.append(Slot(begin, finish, max(free, 0), bookable, blocked))
        result.append(Day(day, bool(slots), slots, "" if slots else "受付時間外"))
    return result


def slot_at(
    counter: Counter, starts_at: dt.datetime, *, minutes: int | None = None, now=None
) -> Slot | None:
    """The slot that starts at exactly this moment, or None when no slot does."""
    local = timezone.localtime(starts_at)
    (day,) = days(counter, local.date(), 1, minutes=minutes, now=now)
    return next((slot for slot in day.slots if slot.starts_at == starts_at), None)


def seat_starts(counter: Counter, slot: Slot) -> list[dt.datetime]:
    step = dt.timedelta(minutes=counter.slot_minutes)
    moments, moment = [], slot.starts_at
    while moment < slot.ends_at:
        moments.append(moment)
        moment += step
    return moments
