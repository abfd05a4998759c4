"""The reminder the day before, once, through the outbox — and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.management import call_command

from madoguchi.appointments import services
from madoguchi.appointments.models import Booking
from madoguchi.notifications.models import OutboundEmail

from .conftest import at, open_day

pytestmark = pytest.mark.django_db


def test_one_reminder_the_day_before(counter, hanako, taro):
    day = open_day(3)
    tomorrow_booking = services.book(
        counter=counter, starts_at=at(day, 9), user=hanako, idempotency_key=uuid.uuid4()
    )
    cancelled = services.book(
        counter=counter, starts_at=at(day, 10), user=taro, idempotency_key=uuid.uuid4()
    )
    services.cancel(booking=cancelled, actor=taro)
    later = services.book(
        counter=counter, starts_at=at(open_day(6), 9), user=taro, idempotency_key=uuid.uuid4()
    )
    eve = day - dt.timedelta(days=1)
    assert services.send_reminders(now=at(eve, 7)) == 0  # before the reminder hour
    assert services.send_reminders(now=at(eve, 9, 5)) == 1
    assert services.send_reminders(now=at(eve, 15)) == 0  # once only
    (email,) = OutboundEmail.objects.filter(template="appointment_reminder")
    assert email.to_address == hanako.email and tomorrow_booking.reference in email.body_text
    assert "あすは来庁のご予約の日です" in email.body_text
    later.refresh_from_db()
    assert later.reminder_sent_at is None


def test_a_moved_booking_is_reminded_again(counter, hanako):
    day = open_day(3)
    booking = services.book(
        counter=counter, starts_at=at(day, 9), user=hanako, idempotency_key=uuid.uuid4()
    )
    services.send_reminders(now=at(day - dt.timedelta(days=1), 10))
    target = services.slots.calendar.next_open_day(day + dt.timedelta(days=1))
    services.reschedule(booking=booking, starts_at=at(target, 9), actor=hanako)
    assert Booking.objects.get(pk=booking.pk).reminder_sent_at is None
    assert services.send_reminders(now=at(target - dt.timedelta(days=1), 10)) == 1


def test_the_command_sends_through_smtp(
    counter,
    hanako,
    smtp_server,
    settings,
    django_capture_on_commit_callbacks,
):
    from django.utils import timezone

    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    # Made directly: the reminder does not care whether tomorrow is a day with slots.
    Booking.objects.create(
        counter=counter,
        body=counter.body,
        starts_at=at(tomorrow, 9),
        ends_at=at(tomorrow, 9, 15),
        reference="REMIND01",
        user=hanako,
        idempotency_key=uuid.uuid4(),
    )
    settings.MADOGUCHI_APPOINTMENT_REMINDER_HOUR = 0
    with django_capture_on_commit_callbacks(execute=True):
        call_command("appointments", "remind")
    reminders = [m for m in smtp_server.messages if "あすの来庁予約" in m.subject]
    assert len(reminders) == 1 and reminders[0].rcpt_tos == [hanako.email]
    assert "REMIND01" in reminders[0].text
    with django_capture_on_commit_callbacks(execute=True):
        call_command("appointments", "remind")
    assert len([m for m in smtp_server.messages if "あすの来庁予約" in m.subject]) == 1
