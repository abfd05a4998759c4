"""Booking without an account: the e-mail address is confirmed before anything is booked."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.appointments import services
from madoguchi.appointments.models import Booking, GuestRequest
from madoguchi.notifications.models import OutboundEmail

from .conftest import at, open_day

pytestmark = pytest.mark.django_db


def guest_url(counter) -> str:
    return reverse("appointments:guest", args=[counter.body.code, counter.code])


def ask(client: Client, counter, when, email="guest@example.jp", name="鈴木 次郎"):
    return client.post(
        guest_url(counter),
        {
            "day": f"{when:%Y-%m-%d}",
            "key": str(uuid.uuid4()),
            "starts_at": when.isoformat(),
            "email": email,
            "name": name,
        },
    )


def link_in(email: OutboundEmail) -> str:
    return re.search(r"(/appointments/verify/[^/\s]+/)", email.body_text)[1]


def test_a_guest_confirms_the_address_and_then_the_time_is_booked(counter, client):
    day = open_day()
    page = client.get(guest_url(counter) + f"?day={day:%Y-%m-%d}")
    assert page.status_code == 200 and "確認メールを送る" in page.content.decode()
    response = ask(client, counter, at(day, 9))
    assert response.status_code == 200 and "まだ予約は確定していません" in response.content.decode()
    assert not Booking.objects.exists()  # no place is held by an unconfirmed address
    email = OutboundEmail.objects.get(template="appointment_verify")
    assert email.to_address == "guest@example.jp"
    link = link_in(email)
    confirm = client.get(link)  # what a mail scanner would fetch: books nothing
    assert confirm.status_code == 200 and "予約を確定する" in confirm.content.decode()
    assert not Booking.objects.exists()
    done = client.post(link)
    booking = Booking.objects.get()
    assert done["Location"] == reverse("appointments:manage", args=[services.manage_token(booking)])
    assert booking.guest_email == "guest@example.jp" and booking.guest_name == "鈴木 次郎"
    assert booking.user is None
    # Following the link again gives the same booking.
    client.post(link)
    assert Booking.objects.count() == 1
    manage = client.get(done["Location"])
    text = manage.content.decode()
    assert booking.reference in text and "受付用QRコード" in text
    assert (
        OutboundEmail.objects.filter(
            template="appointment_booked", to_address="guest@example.jp"
        ).count()
        == 1
    )


def test_the_guest_manages_the_booking_with_the_link_only(counter, client):
    booking = services.book(
        counter=counter,
        starts_at=at(open_day(), 9),
        idempotency_key=uuid.uuid4(),
        guest_email="guest@example.jp",
    )
    token = services.manage_token(booking)
    assert client.get(reverse("appointments:manage", args=[token + "x"])).status_code == 404
    assert client.get(reverse("appointments:manage", args=[str(booking.pk)])).status_code == 404
    ics = client.get(reverse("appointments:manage_ics", args=[token]))
    assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.content
    # Change the time with the link (no new verification needed).
    new_time = at(open_day(), 11)
    client.post(
        guest_url(counter) + f"?manage={token}",
        {
            "manage": token,
            "day": f"{new_time:%Y-%m-%d}",
            "key": str(uuid.uuid4()),
            "starts_at": new_time.isoformat(),
        },
    )
    booking.refresh_from_db()
    assert booking.starts_at == new_time
    client.post(reverse("appointments:manage", args=[token]))
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED


def test_a_time_taken_before_confirmation_lets_the_guest_choose_again_without_a_new_mail(
    counter, client, hanako, taro
):
    day = open_day()
    ask(client, counter, at(day, 9))
    link = link_in(OutboundEmail.objects.get(template="appointment_verify"))
    for user in (hanako, taro):
        services.book(
            counter=counter, starts_at=at(day, 9), user=user, idempotency_key=uuid.uuid4()
        )
    response = client.post(link, follow=True)
    text = response.content.decode()
    assert "この時間は満員になりました" in text
    assert 'value="guest@example.jp"' in text  # the proven address is kept
    ask(client, counter, at(day, 10))
    assert Booking.objects.filter(guest_email="guest@example.jp").count() == 1
    assert OutboundEmail.objects.filter(template="appointment_verify").count() == 1


def test_expired_and_unknown_links(counter, client):
    ask(client, counter, at(open_day(), 9))
    request = GuestRequest.objects.get()
    link = link_in(OutboundEmail.objects.get(template="appointment_verify"))
    GuestRequest.objects.filter(pk=request.pk).update(
        expires_at=request.created_at - dt.timedelta(minutes=1)
    )
    assert client.get(link).status_code == 410
    assert client.post(link).status_code == 410
    assert client.get("/appointments/verify/not-a-token/").status_code == 410
    assert not Booking.objects.exists()


def test_bad_input_from_guests(counter, client):
    day = open_day()
    response = ask(client, counter, at(day, 9), email="not-an-address")
    assert response.status_code == 422
    text = response.content.decode()
    assert "メールアドレスの形式で入力してください" in text and 'href="#f-email"' in text
    assert 'value="not-an-address"' in text and "鈴木 次郎" in text  # nothing typed is lost
    response = ask(client, counter, at(day, 12, 15))
    assert response.status_code == 422 and "予約を受け付けていません" in response.content.decode()
    for _ in range(services.GUEST_REQUESTS_PER_HOUR):
        ask(client, counter, at(day, 9))
    too_many = ask(client, counter, at(day, 9))
    assert "確認メールの送信が多すぎます" in too_many.content.decode()
    assert GuestRequest.objects.count() == services.GUEST_REQUESTS_PER_HOUR


def test_logged_in_residents_book_from_their_account(counter, hanako_client):
    response = hanako_client.get(guest_url(counter))
    assert response["Location"] == reverse("appointments:new") + f"?counter={counter.pk}"


def test_a_guest_who_books_in_english_gets_english_e_mails(counter, client):
    client.cookies["madoguchi_language"] = "en"
    day = open_day()
    assert ask(client, counter, at(day, 9)).status_code == 200
    verify = OutboundEmail.objects.get(template="appointment_verify")
    assert GuestRequest.objects.get().language == "en"
    from django.utils import translation
    from django.utils.formats import date_format

    with translation.override("en"):
        english_day = date_format(day, "DATE_FORMAT")  # Dec. 18, 2026 (AP style)
    assert f"{english_day} 09:00" in verify.body_text
    assert not re.search(r"[\u3040-\u30ff]", verify.subject)
    client.post(link_in(verify))
    booking = Booking.objects.get()
    assert booking.language == "en"
    booked = OutboundEmail.objects.get(template="appointment_booked")
    assert "年" not in booked.body_text.split(counter.name)[0]
    assert not re.search(r"[\u3040-\u30ff]", booked.subject)


def test_a_guest_in_japanese_or_an_unknown_language_gets_japanese(counter, client):
    client.cookies["madoguchi_language"] = "fr"
    day = open_day()
    ask(client, counter, at(day, 9))
    verify = OutboundEmail.objects.get(template="appointment_verify")
    assert GuestRequest.objects.get().language == "ja"
    assert f"{day.year}年{day.month}月{day.day}日 09:00" in verify.body_text
