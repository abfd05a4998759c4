"""The same Idempotency-Key sent at the same moment from several connections (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import Client

from madoguchi.counter.models import Application
from madoguchi.identity.models import ApiToken

from .payloads import DOG, post_application

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (row locks and concurrent transactions); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]


def _race(tokens: list[str], key: str) -> list:
    """One request per token, all with the same key, released at the same moment."""
    threads = len(tokens)
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def run(index: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = post_application(client, token=tokens[index], answers=DOG, key=key)
            results[index] = (response.status_code, response.json())
        except Exception as exc:  # reported by the assertions below
            results[index] = ("exception", repr(exc))
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results


def test_concurrent_requests_with_one_key_create_one_application(sample):
    from madoguchi.identity.models import User

    hanako = User.objects.get(email="hanako@example.jp")
    _token, raw = ApiToken.issue(user=hanako, name="race")
    for _round in range(3):
        key = str(uuid.uuid4())
        results = _race([raw] * 4, key)
        statuses = sorted(status for status, _body in results)
        assert statuses == [200, 200, 200, 201], results
        ids = {body["id"] for _status, body in results}
        assert len(ids) == 1
        receipts = {body["receipt_number"] for _status, body in results}
        assert len(receipts) == 1 and None not in receipts
        assert Application.objects.filter(idempotency_key=key).count() == 1
    assert Application.objects.count() == 3


def test_two_users_racing_with_one_key_get_one_application_and_a_refusal(sample):
    from madoguchi.identity.models import User

    tokens = [
        ApiToken.issue(user=User.objects.get(email=email), name="race")[1]
        for email in ("hanako@example.jp", "taro@example.jp")
    ]
    for _round in range(3):
        key = str(uuid.uuid4())
        results = _race(tokens, key)
        # Never a 500: the loser is told the key is taken.
        assert sorted(status for status, _body in results) == [201, 409], results
        assert Application.objects.filter(idempotency_key=key).count() == 1
