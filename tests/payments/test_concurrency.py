"""Requests at the same moment on PostgreSQL: two clicks on "pay" in two tabs, and the
provider's webhook arriving together with the resident's return — one payment, one
submission, one capture."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from madoguchi.counter.models import Application, State
from madoguchi.ledger.models import Event
from madoguchi.payments.models import Payment, Status
from tests.conftest import login

from .helpers import fill_certificate, return_path, session_id_of, start_payment

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (row locks and concurrent transactions); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]


def _together(*calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=20)
            results[index] = calls[index]()
        except Exception as exc:  # reported by the assertions
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_tabs_clicking_pay_at_once_start_one_payment(certificate, stripe, hanako):
    client = login(hanako)
    application_id = fill_certificate(client)
    tabs = [login(hanako), login(hanako), login(hanako)]
    results = _together(*(lambda tab=tab: start_payment(tab, application_id) for tab in tabs))
    assert all(not isinstance(r, Exception) for r in results), results
    assert {session_id_of(r) for r in results} and len({session_id_of(r) for r in results}) == 1
    assert Payment.objects.count() == 1
    assert len(stripe.calls("POST", "/v1/checkout/sessions", replayed=False)) == 1


def test_the_webhook_and_the_return_page_at_once(certificate, stripe, hanako):
    from django.test import Client

    client = login(hanako)
    application_id = fill_certificate(client)
    session_id = session_id_of(start_payment(client, application_id))
    _status, location = stripe.pay(session_id)
    event = next(e for e in stripe.pop_events() if e["type"] == "checkout.session.completed")
    payload, header = stripe.signed(event)

    def webhook():
        return Client().post(
            reverse("payments:webhook", args=["stripe"]),
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )

    def returning():
        return login(hanako).get(return_path(location))

    results = _together(webhook, returning, webhook)
    assert all(not isinstance(r, Exception) for r in results), results
    application = Application.objects.get(pk=application_id)
    assert application.state == State.SUBMITTED
    payment = Payment.objects.get()
    assert payment.status == Status.PAID
    assert Event.objects.filter(event_type="application.submitted").count() == 1
    assert Event.objects.filter(event_type="payment.application_submitted").count() == 1
    assert Event.objects.filter(event_type="payment.pay").count() == 1
    captured = stripe.calls(
        "POST", f"/v1/payment_intents/{payment.provider_payment_id}/capture", replayed=False
    )
    assert len(captured) == 1
