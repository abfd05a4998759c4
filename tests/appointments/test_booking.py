"""Booking from the account: linked to the application, capacity, changes, cancellation,
check-in and no-shows, the .ics file and the QR code."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.appointments import services
from madoguchi.appointments.models import Booking, BookingSeat
from madoguchi.ledger.models import Event
from madoguchi.notifications.models import OutboundEmail

from .conftest import at, open_day

pytestmark = pytest.mark.django_db


def book(counter, user, when, **kwargs):
    return services.book(
        counter=counter, starts_at=when, user=user, idempotency_key=uuid.uuid4(), **kwargs
    )


def test_capacity_per_slot_is_never_exceeded(counter, hanako, taro, shimin_staff):
    when = at(open_day(), 9)
    book(counter, hanako, when)
    book(counter, taro, when)
    with pytest.raises(services.SlotFull) as full:
        book(counter, shimin_staff, when)
    assert full.value.code == "full" and "満員" in full.value.ja
    assert BookingSeat.objects.filter(starts_at=when).count() == 2
    assert Booking.objects.count() == 2


def test_a_longer_visit_takes_every_slot_it_covers(counter, certificate, hanako, taro):
    """The procedure names the counter and a 30-minute visit: two 15-minute slots."""
    when = at(open_day(), 9)
    first = book(counter, hanako, when, procedure=certificate)
    assert first.ends_at - first.starts_at == dt.timedelta(minutes=30)
    assert sorted(timezone.localtime(s.starts_at).strftime("%H:%M") for s in first.seats.all()) == [
        "09:00",
        "09:15",
    ]
    book(counter, taro, when + dt.timedelta(minutes=15))  # 9:15 has one place left
    with pytest.raises(services.SlotFull):
        book(counter, taro, when, procedure=certificate)  # 9:15 is now full


def test_the_same_key_books_once(counter, hanako):
    key = uuid.uuid4()
    when = at(open_day(), 9)
    first = services.book(counter=counter, starts_at=when, user=hanako, idempotency_key=key)
    again = services.book(counter=counter, starts_at=when, user=hanako, idempotency_key=key)
    assert first.pk == again.pk and Booking.objects.count() == 1
    assert Event.objects.filter(event_type="appointment.booked").count() == 1


def test_times_that_are_not_slots_are_refused(counter, hanako):
    day = open_day()
    for when in (at(day, 9, 7), at(day, 12, 15), at(day, 18), at(dt.date(2027, 1, 2), 9)):
        with pytest.raises(services.SlotUnavailable):
            book(counter, hanako, when)
    with pytest.raises(services.SlotUnavailable):
        book(counter, hanako, timezone.now().replace(second=0, microsecond=0))
    assert not Booking.objects.exists()


def test_book_from_the_application_page(certificate, counter, hanako_client, hanako):
    from tests.payments.helpers import fill_certificate

    application_id = fill_certificate(hanako_client)
    check = hanako_client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert "来庁の予約" in check and "来庁の日時を予約する" in check
    url = reverse("appointments:new") + f"?application={application_id}"
    days = hanako_client.get(url)
    assert days.status_code == 200
    day = open_day()
    assert f"day={day:%Y-%m-%d}" in days.content.decode()
    times = hanako_client.get(url + f"&day={day:%Y-%m-%d}")
    text = times.content.decode()
    assert "9:00〜9:30（残り2）" in text and "所要時間 30分" in text
    key = re.search(r'name="key" value="([^"]+)"', text)[1]
    response = hanako_client.post(
        reverse("appointments:new"),
        {
            "application": application_id,
            "day": f"{day:%Y-%m-%d}",
            "key": key,
            "starts_at": at(day, 9).isoformat(),
        },
    )
    booking = Booking.objects.get()
    assert response["Location"] == reverse("appointments:detail", args=[booking.pk])
    assert str(booking.application_id) == application_id and booking.procedure == certificate
    page = hanako_client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert booking.reference in page and "予約を見る・変更する" in page
    email = OutboundEmail.objects.get(template="appointment_booked")
    assert email.to_address == hanako.email and booking.reference in email.body_text
    assert f"/account/appointments/{booking.pk}/booking.ics" in email.body_text
    # A second booking for the same application is refused; changing it is the way.
    with pytest.raises(services.AppointmentError):
        book(counter, hanako, at(day, 10), application=booking.application)


def test_a_full_slot_keeps_the_choice_and_says_so(counter, hanako_client, taro, shimin_staff):
    day = open_day()
    book(counter, taro, at(day, 9))
    book(counter, shimin_staff, at(day, 9))
    response = hanako_client.post(
        reverse("appointments:new"),
        {
            "counter": counter.pk,
            "day": f"{day:%Y-%m-%d}",
            "key": str(uuid.uuid4()),
            "starts_at": at(day, 9).isoformat(),
        },
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "この時間は満員になりました" in text and 'href="#f-starts_at"' in text
    assert "9:15〜9:30（残り2）" in text  # the day's other times are offered at once


def test_change_and_cancel(counter, hanako, hanako_client, taro, shimin_staff):
    day = open_day()
    booking = book(counter, hanako, at(day, 9))
    book(counter, taro, at(day, 10))
    book(counter, shimin_staff, at(day, 10))
    # Moving to a full time leaves the booking as it was.
    with pytest.raises(services.SlotFull):
        services.reschedule(booking=booking, starts_at=at(day, 10), actor=hanako)
    booking.refresh_from_db()
    assert booking.starts_at == at(day, 9) and booking.seats.count() == 1
    response = hanako_client.post(
        reverse("appointments:new"),
        {
            "change": booking.pk,
            "day": f"{day:%Y-%m-%d}",
            "key": str(uuid.uuid4()),
            "starts_at": at(day, 11).isoformat(),
        },
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.starts_at == at(day, 11)
    assert set(BookingSeat.objects.filter(booking=booking).values_list("starts_at", flat=True)) == {
        at(day, 11)
    }
    assert OutboundEmail.objects.filter(template="appointment_changed").count() == 1
    hanako_client.post(reverse("appointments:cancel", args=[booking.pk]))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED and not booking.seats.exists()
    assert OutboundEmail.objects.filter(template="appointment_cancelled").count() == 1
    types = list(
        Event.objects.filter(subject_type="booking", subject_id=str(booking.pk)).values_list(
            "event_type", flat=True
        )
    )
    assert types == ["appointment.booked", "appointment.rescheduled", "appointment.cancel"]


def test_the_booking_page_has_a_qr_code_and_an_ics_file(counter, hanako, hanako_client):
    booking = book(counter, hanako, at(open_day(), 9))
    page = hanako_client.get(reverse("appointments:detail", args=[booking.pk]))
    text = page.content.decode()
    assert booking.reference in text and 'src="data:image/svg+xml' in text
    assert f"受付用QRコード（予約番号 {booking.reference}）" in text
    response = hanako_client.get(reverse("appointments:ics", args=[booking.pk]))
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert event["uid"] == f"{booking.pk}@testserver" or str(event["uid"]).startswith(
        str(booking.pk)
    )
    assert event.decoded("dtstart") == at(open_day(), 9)
    assert event.decoded("dtend") == at(open_day(), 9, 15)
    assert booking.reference in str(event["summary"]) and "本庁舎1階" in str(event["location"])


def test_the_qr_code_carries_a_signed_check_in_address(counter, hanako):
    booking = book(counter, hanako, at(open_day(), 9))
    token = services.check_in_token(booking)
    assert services.booking_from_check_in_token(token) == booking
    assert services.booking_from_check_in_token(token[:-2] + "xx") is None
    assert services.booking_from_check_in_token(services.manage_token(booking)) is None


def test_check_in_on_the_day_and_no_show_after_the_time(counter, hanako, shimin_staff):
    day = open_day()
    booking = book(counter, hanako, at(day, 9))
    with pytest.raises(services.AppointmentError):
        services.check_in(
            booking=booking, staff=shimin_staff, now=at(day - dt.timedelta(days=1), 9)
        )
    with pytest.raises(services.AppointmentError):
        services.mark_no_show(booking=booking, staff=shimin_staff, now=at(day, 8, 50))
    services.check_in(booking=booking, staff=shimin_staff, now=at(day, 8, 55))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CHECKED_IN and booking.checked_in_by == shimin_staff
    with pytest.raises(services.AppointmentError):
        services.mark_no_show(booking=booking, staff=shimin_staff, now=at(day, 10))
    other = book(counter, hanako, at(day, 10))
    services.mark_no_show(booking=other, staff=shimin_staff, now=at(day, 10, 30))
    other.refresh_from_db()
    assert other.status == Booking.Status.NO_SHOW
    with pytest.raises(services.AppointmentError):
        services.cancel(booking=other, actor=hanako)


def test_residents_see_only_their_own_bookings(counter, hanako, taro_client):
    booking = book(counter, hanako, at(open_day(), 9))
    for name in ("detail", "ics"):
        assert (
            taro_client.get(reverse(f"appointments:{name}", args=[booking.pk])).status_code == 404
        )
    assert taro_client.post(reverse("appointments:cancel", args=[booking.pk])).status_code == 404
    assert taro_client.get(reverse("appointments:new") + f"?change={booking.pk}").status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_a_stale_or_empty_form_gets_a_message(counter, hanako_client):
    response = hanako_client.post(
        reverse("appointments:new"), {"counter": counter.pk, "day": "x", "key": "nope"}
    )
    assert response.status_code == 200 and "時間を選んでください" in response.content.decode()
    response = hanako_client.post(
        reverse("appointments:new"),
        {"counter": counter.pk, "starts_at": "2026-12-03T09:00", "key": str(uuid.uuid4())},
    )
    assert "時間を選んでください" in response.content.decode()  # no offset: not a moment
    assert hanako_client.get(reverse("appointments:new") + "?counter=abc").status_code == 404


def test_the_ics_file_is_in_the_language_of_the_page(counter, hanako, hanako_client):
    booking = book(counter, hanako, at(open_day(), 9))
    url = reverse("appointments:ics", args=[booking.pk])
    japanese = icalendar.Calendar.from_ical(hanako_client.get(url).content)
    (event,) = japanese.walk("VEVENT")
    assert str(event["summary"]) == f"来庁予約 {counter.name}（予約番号 {booking.reference}）"
    hanako_client.cookies["madoguchi_language"] = "en"
    english = icalendar.Calendar.from_ical(hanako_client.get(url).content)
    (event,) = english.walk("VEVENT")
    name = counter.name_en or counter.name
    assert str(event["summary"]) == (
        f"Counter appointment: {name} (booking number {booking.reference})"
    )
    assert str(event["description"]).startswith(f"Booking number: {booking.reference}")
