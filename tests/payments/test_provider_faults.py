"""What goes wrong between us and the provider: timeouts, errors, lost redirects, a crash
between payment and submission, forged and replayed notifications. Nothing is charged
twice and nothing paid is lost."""

from __future__ import annotations

import json
import time

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse

from madoguchi.counter.models import Application, State
from madoguchi.ledger.models import Event
from madoguchi.payments import services
from madoguchi.payments.models import Payment, Status, WebhookEvent

from .helpers import deliver_events, fill_certificate, return_path, session_id_of, start_payment
from .stripe_double import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def test_a_timeout_when_starting_creates_no_second_session_on_retry(
    certificate, stripe, hanako_client
):
    application_id = fill_certificate(hanako_client)
    stripe.slow(3.0)  # longer than the client's 2 s timeout; Stripe creates it anyway
    response = start_payment(
        hanako_client, application_id, key="5a2d5f4e-1111-4b8e-9f4e-6a3a34b7a001"
    )
    assert response.status_code == 302
    page = hanako_client.get(response["Location"]).content.decode()
    assert "決済サービスに接続できませんでした" in page and "お支払いはまだ行われていません" in page
    payment = Payment.objects.get()
    assert payment.status == Status.PENDING and payment.provider_reference == ""
    time.sleep(1.2)  # the slow answer has been produced meanwhile
    # The same form sent again: the same idempotency key at the provider.
    retry = start_payment(hanako_client, application_id, key="5a2d5f4e-1111-4b8e-9f4e-6a3a34b7a001")
    session_id = session_id_of(retry)
    assert len(stripe.sessions) == 1 and session_id in stripe.sessions
    assert len(stripe.calls("POST", "/v1/checkout/sessions", replayed=True)) == 1
    assert Payment.objects.count() == 1


def test_a_server_error_of_the_provider_is_a_clear_message(certificate, stripe, hanako_client):
    application_id = fill_certificate(hanako_client)
    stripe.fail_next(503)
    response = start_payment(hanako_client, application_id)
    page = hanako_client.get(response["Location"]).content.decode()
    assert "決済サービスに接続できませんでした" in page
    assert Application.objects.get(pk=application_id).state == State.DRAFT


def test_a_timeout_on_capture_is_retried_by_the_reconciliation(certificate, stripe, hanako_client):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    _status, location = stripe.pay(session_id)
    # The session lookup answers; the capture after it times out (Stripe captures anyway).
    original = stripe._route

    def slow_capture(method, path, params):
        if path.endswith("/capture") and not getattr(slow_capture, "done", False):
            slow_capture.done = True
            time.sleep(3.0)
        return original(method, path, params)

    stripe._route = slow_capture
    hanako_client.get(return_path(location))
    payment = Payment.objects.get()
    application = Application.objects.get(pk=application_id)
    # Submitted (the resident has a 受付番号), money authorised, capture still to do.
    assert application.state == State.SUBMITTED
    assert payment.status == Status.AUTHORISED and payment.attention == "capture_pending"
    time.sleep(1.2)
    call_command("payments", "reconcile")
    payment.refresh_from_db()
    assert payment.status == Status.PAID and payment.attention == ""
    # Stripe had captured: the reconciliation found out by asking, and captured nothing more.
    captures = stripe.calls("POST", f"/v1/payment_intents/{payment.provider_payment_id}/capture")
    assert len(captures) == 1
    assert Event.objects.filter(event_type="payment.pay").count() == 1


def test_capture_and_cancel_calls_are_idempotent_at_the_provider(
    certificate, stripe, hanako_client
):
    from madoguchi.payments import registry

    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    stripe.pay(session_id)
    payment = Payment.objects.get()
    payment.provider_payment_id = stripe.sessions[session_id]["payment_intent"]
    provider = registry.get("stripe")
    first = provider.capture(payment)
    second = provider.capture(payment)  # a webhook and the return page at the same time
    assert first.status == second.status == "paid" and first.amount == 600
    captures = stripe.calls("POST", f"/v1/payment_intents/{payment.provider_payment_id}/capture")
    assert [c.replayed for c in captures] == [False, True]
    assert len({c.idempotency_key for c in captures}) == 1
    assert stripe.intents[payment.provider_payment_id]["amount_received"] == 600


def test_a_crash_between_payment_and_submission_is_reconciled_not_lost(
    certificate, stripe, hanako_client, monkeypatch
):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    _status, location = stripe.pay(session_id)
    from madoguchi.counter import services as counter_services

    real_submit = counter_services.submit_application

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    # Fault injection: the database fails while the draft is being submitted.
    monkeypatch.setattr(counter_services, "submit_application", database_gone)
    response = hanako_client.get(return_path(location), follow=True)
    assert response.status_code == 200
    payment = Payment.objects.get()
    assert payment.status == Status.AUTHORISED and payment.attention == "submission_pending"
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    monkeypatch.setattr(counter_services, "submit_application", real_submit)
    call_command("payments", "reconcile")
    payment.refresh_from_db()
    application = Application.objects.get(pk=application_id)
    assert application.state == State.SUBMITTED and application.receipt_number
    assert payment.status == Status.PAID and payment.attention == ""


def test_a_lost_redirect_and_lost_notifications_are_found_by_polling(
    certificate, stripe, hanako_client, settings
):
    settings.MADOGUCHI_PAYMENT_STALE_MINUTES = 0
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    stripe.pay(session_id)
    stripe.pop_events()  # never delivered
    counts = services.reconcile()
    assert counts == {"paid": 1}
    assert Application.objects.get(pk=application_id).state == State.SUBMITTED
    assert services.reconcile() == {}


def _event_for(stripe, type_: str) -> dict:
    return next(event for event in stripe.pop_events() if event["type"] == type_)


def _post(client, payload: bytes, header: str | None):
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}
    return client.post(
        reverse("payments:webhook", args=["stripe"]),
        payload,
        content_type="application/json",
        **extra,
    )


def test_unsigned_forged_and_stale_notifications_are_refused(
    certificate, stripe, hanako_client, client
):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    stripe.pay(session_id)
    event = _event_for(stripe, "checkout.session.completed")
    payload, header = stripe.signed(event)
    assert _post(client, payload, None).status_code == 400
    assert _post(client, payload, "t=123,v1=deadbeef").status_code == 400
    _forged, forged_header = stripe.signed(event, secret="whsec_someone_else")
    assert _post(client, payload, forged_header).status_code == 400
    # A signature of another body (the amount changed after signing).
    tampered = payload.replace(b'"amount_total": 600', b'"amount_total": 1')
    assert tampered != payload
    assert _post(client, tampered, header).status_code == 400
    # A genuine notification captured and sent again ten minutes later.
    _old, old_header = stripe.signed(event, timestamp=int(time.time()) - 600)
    assert _post(client, payload, old_header).status_code == 400
    assert not WebhookEvent.objects.exists()
    assert Payment.objects.get().status == Status.PENDING
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    assert _post(client, payload, header).status_code == 200
    assert Payment.objects.get().status == Status.PAID


def test_a_replayed_notification_changes_nothing(certificate, stripe, hanako_client, client):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    stripe.pay(session_id)
    event = _event_for(stripe, "checkout.session.completed")
    payload, header = stripe.signed(event)
    first = _post(client, payload, header)
    assert first.content.decode().strip() == "processed:paid"
    events_before = Event.objects.count()
    again = _post(client, payload, header)
    assert again.status_code == 200 and again.content.decode().strip() == "duplicate"
    assert Event.objects.count() == events_before
    assert Application.objects.filter(pk=application_id, state=State.SUBMITTED).count() == 1


def test_a_notification_for_an_unknown_payment_is_acknowledged(stripe, client, db):
    event = {
        "id": "evt_unknown",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"object": "payment_intent", "id": "pi_nobody", "metadata": {}}},
    }
    payload, header = stripe.signed(event)
    response = _post(client, payload, header)
    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == "processed:unknown_payment"


def test_not_json_and_unknown_providers_are_refused(stripe, client, db):
    from madoguchi.payments.contrib.stripe import signature

    payload = b"not json"
    assert _post(client, payload, signature.header_for(payload, WEBHOOK_SECRET)).status_code == 400
    response = client.post(
        reverse("payments:webhook", args=["nobody"]), b"{}", content_type="application/json"
    )
    assert response.status_code == 400
    assert client.get(reverse("payments:webhook", args=["stripe"])).status_code == 405


def test_a_notification_while_the_provider_is_down_asks_to_be_sent_again(
    certificate, stripe, hanako_client, client
):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    stripe.pay(session_id)
    event = _event_for(stripe, "checkout.session.completed")
    payload, header = stripe.signed(event)
    stripe.fail_next(500)
    assert _post(client, payload, header).status_code == 503
    assert Payment.objects.get().status == Status.PENDING
    # Stripe retries the same event: now processed.
    assert _post(client, payload, header).status_code == 200
    assert Payment.objects.get().status == Status.PAID


def test_webhook_bodies_are_not_stored_only_their_hash(certificate, stripe, hanako_client, client):
    application_id = fill_certificate(hanako_client)
    stripe.pay(session_id_of(start_payment(hanako_client, application_id)))
    deliver_events(client, stripe)
    for row in WebhookEvent.objects.all():
        assert len(row.payload_sha256) == 64
    details = json.dumps(list(Event.objects.values_list("details", flat=True)), ensure_ascii=False)
    assert "hanako" not in details and "山田" not in details


def test_a_provider_that_captured_by_itself_still_gets_the_application_submitted(
    certificate, stripe, hanako_client
):
    stripe.auto_capture = True  # e.g. a wallet that cannot hold an authorisation
    application_id = fill_certificate(hanako_client)
    _status, location = stripe.pay(session_id_of(start_payment(hanako_client, application_id)))
    hanako_client.get(return_path(location))
    assert Payment.objects.get().status == Status.PAID
    assert Application.objects.get(pk=application_id).state == State.SUBMITTED


def test_money_taken_for_an_application_that_cannot_be_sent_is_flagged_for_a_refund(
    certificate, stripe, hanako_client, shimin_staff
):
    import datetime as dt

    from django.utils import timezone

    from tests.conftest import login

    stripe.auto_capture = True
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    version = certificate.current_version
    type(version).objects.filter(pk=version.pk).update(
        closes_at=timezone.now() - dt.timedelta(minutes=1)
    )
    _status, location = stripe.pay(session_id)
    hanako_client.get(return_path(location))
    payment = Payment.objects.get()
    assert payment.status == Status.PAID and payment.attention == "paid_not_submitted"
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    page = login(shimin_staff).get(reverse("payments_staff:home"))
    assert any(m.kind == "paid_not_submitted" for m in page.context["mismatches"])
