"""Read paths of appointments, each scoped to what the requester may see."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from . import permissions, slots
from .models import Booking, Counter


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def public_counters() -> QuerySet[Counter]:
    return Counter.objects.filter(is_active=True).select_related("body")


def counter_by_code(body_code: str, code: str) -> Counter | None:
    return public_counters().filter(body__code=body_code, code=code).first()


def bookings_for_resident(user) -> QuerySet[Booking]:
    if not user.is_authenticated:
        return Booking.objects.none()
    return (
        Booking.objects.filter(user=user)
        .select_related("counter", "procedure__current_version", "application")
        .order_by("-starts_at")
    )


def booking_for_resident(user, booking_id) -> Booking | None:
    key = _uuid(booking_id)
    return bookings_for_resident(user).filter(pk=key).first() if key else None


def active_booking_for_application(application) -> Booking | None:
    return (
        Booking.objects.filter(application=application, status=Booking.Status.BOOKED)
        .select_related("counter")
        .first()
    )


# --- staff ------------------------------------------------------------------------------


def counters_for_staff(user) -> QuerySet[Counter]:
    """The counters run by units where a role of the staff member may view applications
    (and the units below; appointments.permissions)."""
    return Counter.objects.filter(
        unit__in=permissions.units_with(user, permissions.VIEW)
    ).select_related("body", "unit")


def counter_for_staff(user, counter_id) -> Counter | None:
    return counters_for_staff(user).filter(pk=counter_id).first()


def booking_for_staff(user, booking_id) -> Booking | None:
    key = _uuid(booking_id)
    if key is None:
        return None
    return (
        Booking.objects.filter(pk=key, counter__in=counters_for_staff(user))
        .select_related(
            "counter__unit",
            "user",
            "procedure__current_version",
            "application__applicant",
            "application__subject_user",
        )
        .first()
    )


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = slots._aware(day, dt.time.min)
    return start, start + dt.timedelta(days=1)


def bookings_of_day(counter: Counter, day: dt.date) -> QuerySet[Booking]:
    start, end = day_bounds(day)
    return (
        Booking.objects.filter(counter=counter, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=Booking.Status.CANCELLED)
        .select_related("user", "procedure__current_version", "application")
        .order_by("starts_at", "created_at")
    )


def today_counts(counters, day: dt.date | None = None) -> dict[int, dict[str, int]]:
    start, end = day_bounds(day or timezone.localdate())
    rows = (
        Booking.objects.filter(counter__in=counters, starts_at__gte=start, starts_at__lt=end)
        .values("counter_id")
        .annotate(
            booked=Count("id", filter=Q(status=Booking.Status.BOOKED)),
            checked_in=Count("id", filter=Q(status=Booking.Status.CHECKED_IN)),
            no_show=Count("id", filter=Q(status=Booking.Status.NO_SHOW)),
        )
    )
    return {row["counter_id"]: row for row in rows}
