"""Many residents booking the last places at the same moment, over HTTP, on PostgreSQL:
capacity is never exceeded, every other request gets a clear "full"."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import Client

from madoguchi.appointments.models import Booking, BookingSeat
from madoguchi.identity.models import ApiToken

from .conftest import at, open_day

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (concurrent transactions); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]


def _tokens(count: int) -> list[str]:
    from madoguchi.identity.models import User

    tokens = []
    for number in range(count):
        user = User.objects.create_user(email=f"racer{number}@example.jp", password=None)
        tokens.append(ApiToken.issue(user=user, name="race")[1])
    return tokens


def _race(tokens: list[str], bodies: list[dict]) -> list[tuple]:
    barrier = threading.Barrier(len(tokens))
    results: list = [None] * len(tokens)

    def run(index: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=20)
            response = client.post(
                "/api/appointments/bookings",
                bodies[index],
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {tokens[index]}",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )
            results[index] = (response.status_code, response.json())
        except Exception as exc:  # reported by the assertions
            results[index] = ("exception", repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_the_last_places_of_a_slot_go_to_exactly_as_many_as_there_are(counter):
    when = at(open_day(), 9)
    tokens = _tokens(24)
    body = {"counter": counter.pk, "starts_at": when.isoformat()}
    results = _race(tokens, [body] * len(tokens))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == counter.capacity == 2, results
    assert statuses.count(409) == len(tokens) - 2, results
    assert all(payload["code"] == "full" for status, payload in results if status == 409)
    assert BookingSeat.objects.filter(starts_at=when).count() == 2
    assert Booking.objects.count() == 2


def test_the_last_ten_slots_of_a_day(counter):
    """The benchmark's scenario in small: ten places left, many more attempts."""
    counter.capacity = 1
    counter.save()
    day = open_day()
    times = [at(day, 16, 0), at(day, 16, 15), at(day, 16, 30), at(day, 16, 45), at(day, 17, 0)]
    times += [at(day, 11, 0), at(day, 11, 15), at(day, 11, 30), at(day, 11, 45), at(day, 10, 45)]
    tokens = _tokens(30)
    bodies = [{"counter": counter.pk, "starts_at": times[i % 10].isoformat()} for i in range(30)]
    results = _race(tokens, bodies)
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 20, results
    booked = sorted(Booking.objects.values_list("starts_at", flat=True))
    assert booked == sorted(times)
