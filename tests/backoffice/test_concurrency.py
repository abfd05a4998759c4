"""Two staff acting on the same application at the same moment (PostgreSQL): exactly one
action wins; the other gets a clear message and keeps what was typed."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from madoguchi.counter.models import Application, CorrectionRequest, State

from ..conftest import login
from .conftest import submit_dog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (row locks and concurrent transactions); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]


def _colleague():
    from madoguchi.identity.models import User
    from madoguchi.organisation import services as organisation
    from madoguchi.organisation.models import Unit

    user = User.objects.create_user("kankyo.tanto2@aoba.example.jp", display_name="同僚")
    unit = Unit.objects.get(body__code="992011", code="seikatsu-kankyo")
    organisation.add_membership(actor=None, user=user, unit=unit, position="staff")
    organisation.set_roles(actor=None, user=user, unit=unit, roles=["case_worker"])
    return user


def _race(requests):
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, client, url, data):
        try:
            barrier.wait(timeout=10)
            response = client.post(url, data)
            results[index] = (response.status_code, response.content.decode())
        except Exception as exc:  # reported by the assertions
            results[index] = ("exception", repr(exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, *request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_staff_acting_at_once(sample, hanako, kankyo_staff):
    colleague = _colleague()
    for _round in range(3):
        application = submit_dog(hanako)
        version = str(application.lock_version)
        reply_by = (dt.date.today() + dt.timedelta(days=7)).isoformat()
        results = _race(
            [
                (
                    login(kankyo_staff),
                    reverse("backoffice:assign", args=[application.pk]),
                    {"assignee": "me", "lock_version": version},
                ),
                (
                    login(colleague),
                    reverse("backoffice:request_correction", args=[application.pk]),
                    {
                        "fields": ["dog_name"],
                        "message": "お名前の表記をご確認ください。",
                        "reply_by": reply_by,
                        "lock_version": version,
                    },
                ),
            ]
        )
        statuses = sorted(str(status) for status, _body in results)
        assert statuses == ["302", "409"], results
        loser = next(body for status, body in results if status == 409)
        assert "他の職員が先にこの申請を更新しました" in loser
        after = Application.objects.get(pk=application.pk)
        claimed = after.assignee_id == kankyo_staff.pk
        corrected = CorrectionRequest.objects.filter(application=after).exists()
        assert claimed != corrected  # exactly one of them happened
        if claimed:
            # The 補正 that lost comes back with its text.
            assert "お名前の表記をご確認ください。" in loser
            assert after.state == State.SUBMITTED
