"""Paying by card before review: authorise at the provider, submit, capture — against a
local server that speaks Stripe's API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.counter.models import Application, State
from madoguchi.ledger.models import Event
from madoguchi.payments import services
from madoguchi.payments.models import Fee, Payment, Receipt, Status

from .helpers import (
    deliver_events,
    fill_certificate,
    form_key,
    provider_url,
    return_path,
    session_id_of,
    start_payment,
)

pytestmark = pytest.mark.django_db


def test_check_page_shows_the_fee_table_and_pays_before_submitting(
    certificate, stripe, hanako_client
):
    application_id = fill_certificate(hanako_client)
    page = hanako_client.get(reverse("counter:check", args=[application_id]))
    body = page.content.decode()
    assert "所得証明書" in body and "300円" in body and "600円" in body
    assert "根拠: あおば市手数料条例第2条別表第1" in body
    assert "クレジットカード・QRコード決済で600円を支払って申請する" in body
    # The plain submit button is replaced; paying later by transfer stays possible.
    assert "この内容で申請する" not in body
    assert "申請して、あとで支払う（銀行振込・窓口）" in body

    response = start_payment(hanako_client, application_id, key=form_key(page))
    session_id = session_id_of(response)
    assert provider_url(response).startswith(stripe.base_url + "/pay/")
    (created,) = stripe.calls("POST", "/v1/checkout/sessions")
    assert created.params["payment_intent_data"]["capture_method"] == "manual"
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == "600"
    assert created.idempotency_key.startswith("madoguchi-start-")
    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.provider) == (Status.PENDING, 600, "stripe")
    assert Application.objects.get(pk=application_id).state == State.DRAFT

    status, location = stripe.pay(session_id)
    assert status == 303 and "/payments/" in location and session_id in location
    done = hanako_client.get(return_path(location))
    application = Application.objects.get(pk=application_id)
    assert done.status_code == 302
    assert done["Location"] == reverse("counter:done", args=[application_id])
    assert application.state == State.SUBMITTED and application.receipt_number
    payment.refresh_from_db()
    assert payment.status == Status.PAID and payment.paid_on == timezone.localdate()
    assert len(stripe.calls("POST", "/v1/payment_intents/", replayed=False)) == 1
    assert stripe.intents[payment.provider_payment_id]["status"] == "succeeded"
    assert Fee.objects.get(application=application).state == Fee.State.PAID
    receipt = Receipt.objects.get(payment=payment)
    assert receipt.number.startswith("R") and receipt.number.endswith("-992011-000001")

    events = list(
        Event.objects.filter(subject_type="payment", subject_id=str(payment.pk)).values_list(
            "event_type", flat=True
        )
    )
    assert events == [
        "payment.started",
        "payment.authorise",
        "payment.application_submitted",
        "payment.pay",
    ]
    # The submission came after the authorisation and before the capture.
    submitted = Event.objects.get(event_type="application.submitted", subject_id=application_id)
    authorised = Event.objects.get(event_type="payment.authorise")
    captured = Event.objects.get(event_type="payment.pay")
    assert authorised.pk < submitted.pk < captured.pk

    page = hanako_client.get(reverse("counter:done", args=[application_id])).content.decode()
    assert "納付済み" in page and reverse("payments:receipt", args=[payment.pk]) in page


def test_a_double_click_and_a_second_tab_start_one_payment(certificate, stripe, hanako_client):
    application_id = fill_certificate(hanako_client)
    page = hanako_client.get(reverse("counter:check", args=[application_id]))
    key = form_key(page)
    first = start_payment(hanako_client, application_id, key=key)
    second = start_payment(hanako_client, application_id, key=key)
    other_tab = start_payment(hanako_client, application_id)
    assert provider_url(first) == provider_url(second) == provider_url(other_tab)
    assert Payment.objects.count() == 1
    assert len(stripe.calls("POST", "/v1/checkout/sessions")) == 1
    assert len(stripe.sessions) == 1


def test_a_declined_card_charges_nothing_and_another_try_is_possible(
    certificate, stripe, hanako_client
):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    status, _location = stripe.pay(session_id, card="decline")
    assert status == 402
    payment = Payment.objects.get()
    services.sync_payment(payment=payment, source="test")
    payment.refresh_from_db()
    assert payment.status == Status.PENDING
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    # On the provider's page the resident tries another card.
    status, location = stripe.pay(session_id)
    assert status == 303
    hanako_client.get(return_path(location))
    payment.refresh_from_db()
    assert payment.status == Status.PAID
    assert Application.objects.get(pk=application_id).state == State.SUBMITTED


def test_leaving_the_provider_page_cancels_the_payment(certificate, stripe, hanako_client):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    payment = Payment.objects.get()
    response = hanako_client.get(reverse("payments:abandoned", args=[payment.pk]))
    assert response["Location"] == reverse("counter:check", args=[application_id])
    payment.refresh_from_db()
    assert payment.status == Status.CANCELLED
    assert stripe.sessions[session_id]["status"] == "expired"
    # A new attempt is a new payment with a new page.
    second = start_payment(hanako_client, application_id)
    assert session_id_of(second) != session_id
    assert Payment.objects.filter(status=Status.PENDING).count() == 1


def test_the_webhook_alone_completes_when_the_resident_never_comes_back(
    certificate, stripe, hanako_client, client
):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    stripe.pay(session_id)  # the browser closes before the redirect
    responses = deliver_events(client, stripe)
    assert {r.status_code for r in responses} == {200}
    payment = Payment.objects.get()
    assert payment.status == Status.PAID
    assert Application.objects.get(pk=application_id).state == State.SUBMITTED
    # The events that follow (the capture's own) and the late return change nothing.
    deliver_events(client, stripe)
    hanako_client.get(reverse("payments:returned", args=[payment.pk]))
    assert (
        len(
            stripe.calls(
                "POST", f"/v1/payment_intents/{payment.provider_payment_id}/capture", replayed=False
            )
        )
        == 1
    )
    assert Event.objects.filter(event_type="payment.pay").count() == 1
    assert Application.objects.filter(state=State.SUBMITTED).count() == 1


def test_a_refused_submission_cancels_the_authorisation(certificate, stripe, hanako_client):
    """The procedure closes while the resident is on the payment page: the application is
    not received, so nothing may be charged."""
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    version = certificate.current_version
    type(version).objects.filter(pk=version.pk).update(
        closes_at=timezone.now() - dt.timedelta(minutes=1)
    )
    _status, location = stripe.pay(session_id)
    response = hanako_client.get(return_path(location), follow=True)
    payment = Payment.objects.get()
    assert payment.status == Status.CANCELLED
    assert stripe.intents[payment.provider_payment_id]["status"] == "canceled"
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    text = response.content.decode()
    assert "締め切りました" in text and "料金は請求されていません" in text
    assert not Receipt.objects.exists()


def test_answers_changed_during_the_payment_cancel_it(certificate, stripe, hanako_client):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    # In another tab the resident asks for 3 copies instead of 2.
    response = hanako_client.post(
        reverse("counter:page", args=[application_id, "request"]),
        {"action": "continue", "f-kind": "income", "f-copies": "3", "f-express": "no"},
    )
    assert response.status_code == 302
    _status, location = stripe.pay(session_id)
    hanako_client.get(return_path(location))
    payment = Payment.objects.get()
    assert payment.status == Status.CANCELLED
    assert "入力内容が変わった" in payment.resident_message
    assert stripe.intents[payment.provider_payment_id]["status"] == "canceled"
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    # Paying again charges the new amount.
    page = hanako_client.get(reverse("counter:check", args=[application_id]))
    assert "900円を支払って申請する" in page.content.decode()


def test_identity_level_and_missing_answers_are_checked_before_paying(
    certificate, stripe, hanako_client
):
    from tests.counter.helpers import application_id_from, start

    application_id = application_id_from(
        start(hanako_client, "992011", "tax-certificate", {"role": "self"})
    )
    response = start_payment(hanako_client, application_id)
    assert response.status_code == 302
    assert not Payment.objects.exists() and not stripe.requests
    message = hanako_client.get(response["Location"]).content.decode()
    assert "入力されていない項目があります" in message


def test_a_payment_is_only_for_the_applicants_own_application(
    certificate, stripe, hanako_client, taro_client
):
    application_id = fill_certificate(hanako_client)
    assert start_payment(taro_client, application_id).status_code == 404
    session_id_of(start_payment(hanako_client, application_id))
    payment = Payment.objects.get()
    assert taro_client.get(reverse("payments:detail", args=[payment.pk])).status_code == 404
    assert taro_client.get(reverse("payments:returned", args=[payment.pk])).status_code == 404
    assert taro_client.post(reverse("payments:cancel", args=[payment.pk])).status_code == 404


def test_a_tampered_amount_in_the_form_is_ignored(certificate, stripe, hanako_client):
    application_id = fill_certificate(hanako_client)
    response = hanako_client.post(
        reverse("payments:start", args=[application_id]),
        {"method": "card", "key": "6c0b2f5e-5d55-4b8e-9f4e-6a3a34b7a001", "amount": "1"},
    )
    session_id_of(response)
    assert Payment.objects.get().amount == 600
    (created,) = stripe.calls("POST", "/v1/checkout/sessions")
    assert created.params["line_items"][0]["price_data"]["unit_amount"] == "600"


def test_an_amount_changed_at_the_provider_is_flagged_and_not_charged(
    certificate, stripe, hanako_client
):
    application_id = fill_certificate(hanako_client)
    session_id = session_id_of(start_payment(hanako_client, application_id))
    _status, location = stripe.pay(session_id)
    intent_id = stripe.sessions[session_id]["payment_intent"]
    stripe.tamper_amount(intent_id, 1)
    hanako_client.get(return_path(location))
    payment = Payment.objects.get()
    assert payment.status == Status.CANCELLED
    assert payment.attention == "amount_mismatch"
    assert stripe.intents[intent_id]["status"] == "canceled"
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    assert Event.objects.filter(event_type="payment.flagged").exists()


def test_paying_after_submission_for_a_fee_due_before_issuance(
    certificate_before_issuance, stripe, hanako_client
):
    from tests.counter.helpers import submit

    application_id = fill_certificate(hanako_client)
    page = hanako_client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert "この内容で申請する" in page and "申請を送信した後にお支払いください" in page
    submit(hanako_client, application_id)
    application = Application.objects.get(pk=application_id)
    assert not services.issuance_allowed(application)
    done = hanako_client.get(reverse("counter:done", args=[application_id]))
    assert "クレジットカード・QRコード決済で支払う" in done.content.decode()
    response = start_payment(hanako_client, application_id, key=form_key(done))
    _status, location = stripe.pay(session_id_of(response))
    back = hanako_client.get(return_path(location))
    assert back["Location"] == reverse("counter:detail", args=[application_id])
    payment = Payment.objects.get()
    assert payment.status == Status.PAID and not payment.submit_on_authorise
    assert services.issuance_allowed(application)
