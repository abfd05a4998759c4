"""The staff side of appointments: today's list, check-in by list or QR code, no-shows,
moving bookings (the resident is told), blocking times, closures, unit isolation."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.appointments import services
from madoguchi.appointments.models import Booking, Closure, SlotBlock
from madoguchi.notifications.models import OutboundEmail
from tests.conftest import login

from .conftest import at, open_day

pytestmark = pytest.mark.django_db


def book(counter, user, when, **kwargs):
    return services.book(
        counter=counter, starts_at=when, user=user, idempotency_key=uuid.uuid4(), **kwargs
    )


def test_the_day_list_per_counter(counter, hanako, taro, shimin_staff):
    day = open_day()
    first = book(counter, hanako, at(day, 9))
    book(counter, taro, at(day, 13))
    client = login(shimin_staff)
    home = client.get(reverse("appointments_staff:home"))
    assert home.status_code == 200 and "市民課 窓口" in home.content.decode()
    page = client.get(reverse("appointments_staff:day", args=[counter.pk]) + f"?day={day:%Y-%m-%d}")
    text = page.content.decode()
    assert first.reference in text and "山田 花子" in text
    assert [b.starts_at for b in page.context["bookings"]] == [at(day, 9), at(day, 13)]
    bad = client.get(reverse("appointments_staff:day", args=[counter.pk]) + "?day=あした")
    assert bad.status_code == 200 and "日付は 2026-12-01 の形式で" in bad.content.decode()


def test_staff_see_the_application_before_the_visit_even_a_draft(
    certificate, counter, hanako, hanako_client, shimin_staff
):
    from madoguchi.counter.models import Application
    from tests.payments.helpers import fill_certificate

    application = Application.objects.get(pk=fill_certificate(hanako_client))
    booking = book(counter, hanako, at(open_day(), 9), application=application)
    page = login(shimin_staff).get(reverse("appointments_staff:booking", args=[booking.pk]))
    text = page.content.decode()
    assert "申請の下書き（まだ送信されていません）" in text
    assert "証明書の種類" in text and "所得証明書" in text


def test_check_in_with_the_qr_code(counter, hanako, shimin_staff, kankyo_staff):
    now = timezone.now()
    day = timezone.localdate()
    booking = Booking.objects.create(
        counter=counter,
        body=counter.body,
        starts_at=now + dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(minutes=20),
        reference="TESTQR01",
        user=hanako,
        idempotency_key=uuid.uuid4(),
    )
    url = reverse("appointments_staff:check_in", args=[services.check_in_token(booking)])
    assert login(kankyo_staff).get(url).status_code == 404  # another unit's counter
    client = login(shimin_staff)
    assert client.get(url).status_code == 200
    assert client.get(url[:-3] + "xx/").status_code == 404
    if timezone.localtime(booking.starts_at).date() != day:
        pytest.skip("the booking crosses midnight in this run")
    client.post(url)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CHECKED_IN and booking.checked_in_by == shimin_staff


def test_no_show_and_cancel_from_the_booking_page(counter, hanako, shimin_staff):
    booking = book(counter, hanako, at(open_day(), 9))
    client = login(shimin_staff)
    url = reverse("appointments_staff:act", args=[booking.pk])
    response = client.post(url, {"action": "no_show"}, follow=True)
    assert "予約の時間になる前に" in response.content.decode()
    client.post(url, {"action": "cancel", "reason": "担当者の急病のため"})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    email = OutboundEmail.objects.get(template="appointment_cancelled")
    assert (
        "窓口の都合による取消しです" in email.body_text and "担当者の急病のため" in email.body_text
    )


def test_staff_move_a_booking_and_the_resident_is_told(counter, hanako, shimin_staff):
    day = open_day()
    booking = book(counter, hanako, at(day, 9))
    client = login(shimin_staff)
    url = reverse("appointments_staff:move", args=[booking.pk])
    page = client.get(url + f"?day={day:%Y-%m-%d}")
    assert page.status_code == 200 and "10:00〜10:15" in page.content.decode()
    client.post(url, {"day": f"{day:%Y-%m-%d}", "starts_at": at(day, 10).isoformat()})
    booking.refresh_from_db()
    assert booking.starts_at == at(day, 10)
    email = OutboundEmail.objects.get(template="appointment_changed")
    assert email.to_address == hanako.email and "窓口の都合により" in email.body_text


def test_blocking_times_lists_the_bookings_to_move(counter, hanako, shimin_staff):
    day = open_day()
    inside = book(counter, hanako, at(day, 10))
    client = login(shimin_staff)
    url = reverse("appointments_staff:blocks", args=[counter.pk])
    response = client.post(
        url,
        {
            "action": "block",
            "day": f"{day:%Y-%m-%d}",
            "from": "09:30",
            "to": "11:00",
            "reason": "職員研修",
        },
    )
    text = response.content.decode()
    assert response.status_code == 200 and inside.reference in text and "移動する" in text
    assert SlotBlock.objects.get().reason == "職員研修"
    with pytest.raises(services.SlotUnavailable):
        book(counter, hanako, at(day, 10, 30))
    bad = client.post(
        url,
        {
            "action": "block",
            "day": f"{day:%Y-%m-%d}",
            "from": "11:00",
            "to": "09:00",
            "reason": "x",
        },
    )
    assert bad.status_code == 422 and "終了は開始より後に" in bad.content.decode()
    assert 'value="11:00"' in bad.content.decode()
    closed = client.post(url, {"action": "closure", "day": f"{day:%Y-%m-%d}", "reason": "選挙事務"})
    assert inside.reference in closed.content.decode()
    assert Closure.objects.get().reason == "選挙事務"


def test_staff_of_other_units_see_nothing(counter, hanako, kankyo_staff, hanako_client):
    booking = book(counter, hanako, at(open_day(), 9))
    client = login(kankyo_staff)
    assert counter not in client.get(reverse("appointments_staff:home")).context["rows"]
    for name, args in (
        ("day", [counter.pk]),
        ("blocks", [counter.pk]),
        ("booking", [booking.pk]),
        ("move", [booking.pk]),
    ):
        assert client.get(reverse(f"appointments_staff:{name}", args=args)).status_code == 404
    assert (
        client.post(
            reverse("appointments_staff:act", args=[booking.pk]), {"action": "cancel"}
        ).status_code
        == 404
    )
    assert hanako_client.get(reverse("appointments_staff:home")).status_code == 404


def test_an_approver_sees_the_list_but_cannot_check_in(counter, hanako):
    from madoguchi.identity.models import User

    booking = book(counter, hanako, at(open_day(), 9))
    approver = login(User.objects.get(email="shimin.kacho@aoba.example.jp"))
    assert approver.get(reverse("appointments_staff:booking", args=[booking.pk])).status_code == 200
    response = approver.post(
        reverse("appointments_staff:act", args=[booking.pk]), {"action": "cancel"}, follow=True
    )
    assert "この操作の権限がありません" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


def test_opening_a_booking_with_its_application_is_an_access_the_resident_sees(
    certificate, counter, hanako, hanako_client, shimin_staff, taro
):
    from madoguchi.counter.models import Application
    from madoguchi.ledger.models import AccessLog, Event
    from tests.payments.helpers import fill_certificate

    application = Application.objects.get(pk=fill_certificate(hanako_client))
    booking = book(counter, hanako, at(open_day(), 9), application=application)
    # A booking without an application shows no application: nothing to log.
    plain = book(counter, taro, at(open_day(), 10))
    client = login(shimin_staff)
    assert client.get(reverse("appointments_staff:booking", args=[plain.pk])).status_code == 200
    assert not AccessLog.objects.exists()
    page = client.get(reverse("appointments_staff:booking", args=[booking.pk]))
    assert page.status_code == 200 and "所得証明書" in page.content.decode()
    log = AccessLog.objects.get()
    assert (log.actor, log.subject_user, log.unit, log.what, log.purpose) == (
        shimin_staff,
        hanako,
        counter.unit,
        "application",
        "counter",
    )
    assert (log.object_type, log.object_id) == ("application", str(application.pk))
    event = Event.objects.get(event_type="access.logged")
    assert event == log.event
    assert (event.subject_type, event.subject_id) == ("person", str(hanako.pk))
    mine = hanako_client.get(reverse("access_log:mine")).content.decode()
    assert counter.unit.name in mine and "窓口での手続のため" in mine
    assert reverse("counter:detail", args=[application.pk]) in mine
    assert "窓口での手続のため" not in login(taro).get(reverse("access_log:mine")).content.decode()


def test_a_booking_for_an_application_made_for_someone_else_is_logged_for_both(
    counter, hanako, taro, shimin_staff, kankyo_staff, django_capture_on_commit_callbacks
):
    from tests.backoffice.test_access_log import assert_both_see, submit_for_taro

    application = submit_for_taro(hanako, django_capture_on_commit_callbacks)
    booking = book(counter, hanako, at(open_day(), 9), application=application)
    url = reverse("appointments_staff:booking", args=[booking.pk])
    assert login(kankyo_staff).get(url).status_code == 404
    assert login(shimin_staff).get(url).status_code == 200
    assert_both_see(application, [hanako, taro], ["counter"])
