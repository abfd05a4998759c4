"""JSON API of 来庁予約: counters and their free times (public), bookings (the resident's)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpRequest
from django.utils import timezone
from ninja import Header, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict, Field

from madoguchi.catalogue import selectors as catalogue_selectors
from madoguchi.core.api_auth import API_AUTH
from madoguchi.counter import selectors as counter_selectors

from . import selectors, services, slots
from .models import Booking, Counter

router = Router(tags=["appointments"])


class CounterOut(Schema):
    id: int
    body: str
    code: str
    name: str
    location: str
    slot_minutes: int
    capacity: int


class SlotOut(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    free: int
    bookable: bool


class DayOut(Schema):
    day: dt.date
    open: bool
    closed_reason: str
    slots: list[SlotOut]


class BookingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    counter: int
    starts_at: dt.datetime = Field(description="ISO 8601 with offset, one of the free slots")
    application: uuid.UUID | None = Field(default=None, description="the application it is for")


class BookingOut(Schema):
    id: uuid.UUID
    reference: str
    counter: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    application: uuid.UUID | None


def _booking(booking: Booking) -> dict:
    return {
        "id": booking.pk,
        "reference": booking.reference,
        "counter": booking.counter_id,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "status": booking.status,
        "application": booking.application_id,
    }


@router.get(
    "/appointments/counters",
    response=list[CounterOut],
    auth=None,
    summary="Counters (窓口) that take bookings",
)
def counters(request: HttpRequest):
    return [
        {
            "id": c.pk,
            "body": c.body.code,
            "code": c.code,
            "name": c.name,
            "location": c.location,
            "slot_minutes": c.slot_minutes,
            "capacity": c.capacity,
        }
        for c in selectors.public_counters()
    ]


class DaysQuery(Schema):
    start: dt.date | None = None
    count: int = Field(default=14, ge=1, le=62)
    procedure: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}/[a-z][a-z0-9-]{2,79}$",
        description="body/procedure: the visit length it needs",
    )


@router.get(
    "/appointments/counters/{counter_id}/days",
    response=list[DayOut],
    auth=None,
    summary="A counter's days and free times",
)
def days(request: HttpRequest, counter_id: int, query: Query[DaysQuery]):
    counter = selectors.public_counters().filter(pk=counter_id).first()
    if counter is None:
        raise HttpError(404, "No such counter / 窓口が見つかりません")
    procedure = None
    if query.procedure:
        body, identifier = query.procedure.split("/")
        procedure = catalogue_selectors.procedure_by_identifier(body, identifier)
    minutes = services.visit_minutes(counter=counter, procedure=procedure)
    found = slots.days(counter, query.start or timezone.localdate(), query.count, minutes=minutes)
    return [
        {"day": d.day, "open": d.open, "closed_reason": d.closed_reason, "slots": d.slots}
        for d in found
    ]


@router.post(
    "/appointments/bookings",
    response={200: BookingOut, 201: BookingOut},
    auth=API_AUTH,
    summary="Book a time",
    description="409 with code `full` when the last place went to someone else. The same "
    "Idempotency-Key again returns the booking made the first time.",
)
def book(
    request: HttpRequest,
    payload: BookingIn,
    idempotency_key: uuid.UUID = Header(..., alias="Idempotency-Key"),
):
    # One row, no join and no ordering: this is the path many race on.
    counter = next(iter(Counter.objects.filter(pk=payload.counter, is_active=True)[:1]), None)
    if counter is None:
        raise HttpError(404, "No such counter / 窓口が見つかりません")
    application = None
    if payload.application:
        application = counter_selectors.application_for_resident(request.user, payload.application)
        if application is None or application.applicant_id != request.user.pk:
            raise HttpError(404, "No such application / 申請が見つかりません")
    booking, created = services.reserve(
        counter=counter,
        starts_at=payload.starts_at,
        idempotency_key=idempotency_key,
        user=request.user,
        procedure=application.procedure if application else None,
        application=application,
    )
    return Status(201 if created else 200, _booking(booking))


@router.get(
    "/appointments/bookings", response=list[BookingOut], auth=API_AUTH, summary="My bookings"
)
def my_bookings(request: HttpRequest):
    return [_booking(b) for b in selectors.bookings_for_resident(request.user)[:200]]


@router.post(
    "/appointments/bookings/{booking_id}/cancel",
    response=BookingOut,
    auth=API_AUTH,
    summary="Cancel one of my bookings",
)
def cancel(request: HttpRequest, booking_id: uuid.UUID):
    booking = selectors.booking_for_resident(request.user, booking_id)
    if booking is None:
        raise HttpError(404, "No such booking / 予約が見つかりません")
    return _booking(services.cancel(booking=booking, actor=request.user))
