"""The JSON API of appointments: counters and free times (public), booking (residents)."""

from __future__ import annotations

import uuid

import pytest

from madoguchi.appointments.models import Booking
from madoguchi.identity.models import ApiToken

from .conftest import at, open_day

pytestmark = pytest.mark.django_db


def test_counters_and_days_are_public(counter, client):
    counters = client.get("/api/appointments/counters").json()
    assert any(c["code"] == "shimin-madoguchi" and c["capacity"] == 2 for c in counters)
    day = open_day()
    days = client.get(f"/api/appointments/counters/{counter.pk}/days?start={day}&count=3").json()
    assert days[0]["day"] == day.isoformat() and days[0]["open"]
    assert days[0]["slots"][0]["free"] == 2
    long_visit = client.get(
        f"/api/appointments/counters/{counter.pk}/days?start={day}&count=1"
        "&procedure=992011/tax-certificate"
    )
    assert long_visit.status_code == 200
    bad = client.get(f"/api/appointments/counters/{counter.pk}/days?count=999")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    assert client.get("/api/appointments/counters/999999/days").status_code == 404


def test_booking_through_the_api(counter, client, hanako, taro):
    token = ApiToken.issue(user=hanako, name="t")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = {"counter": counter.pk, "starts_at": at(open_day(), 9).isoformat()}
    key = str(uuid.uuid4())
    first = client.post(
        "/api/appointments/bookings",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **auth,
    )
    again = client.post(
        "/api/appointments/bookings",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **auth,
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user=taro, name='t')[1]}"}
    second = client.post(
        "/api/appointments/bookings",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **other,
    )
    assert second.status_code == 201
    full = client.post(
        "/api/appointments/bookings",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **other,
    )
    assert full.status_code == 409 and full.json()["code"] == "full"
    assert "満員" in full.json()["detail"]
    wrong = client.post(
        "/api/appointments/bookings",
        {**body, "starts_at": at(open_day(), 12, 30).isoformat()},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **auth,
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "unavailable"
    extra = client.post(
        "/api/appointments/bookings",
        {**body, "seat": 3},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **auth,
    )
    assert extra.status_code == 422
    booking_id = first.json()["id"]
    cancel = client.post(f"/api/appointments/bookings/{booking_id}/cancel", **other)
    assert cancel.status_code == 404
    assert (
        client.post(f"/api/appointments/bookings/{booking_id}/cancel", **auth).json()["status"]
        == "cancelled"
    )
    assert Booking.objects.filter(status="booked").count() == 1
