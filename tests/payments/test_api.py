"""The JSON API of fees: what is owed, and starting a payment with an Idempotency-Key."""

from __future__ import annotations

import uuid

import pytest

from madoguchi.identity.models import ApiToken
from madoguchi.payments.models import Payment

pytestmark = pytest.mark.django_db

ANSWERS = {
    "kind": "income",
    "copies": 2,
    "express": "no",
    "welfare": "no",
    "disability": "no",
    "student": "no",
}


def _submit(client, token):
    response = client.post(
        "/api/applications",
        {"body": "992011", "procedure": "tax-certificate", "answers": ANSWERS},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_fee_and_a_bank_transfer_through_the_api(certificate, no_card, client, hanako, taro):
    token = ApiToken.issue(user=hanako, name="t")[1]
    application_id = _submit(client, token)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    fee = client.get(f"/api/applications/{application_id}/fee", **auth).json()
    assert fee["amount"] == 600 and fee["state"] == "unpaid" and fee["timing"] == "before_review"
    assert fee["methods"] == ["bank_transfer", "counter"]
    assert fee["breakdown"]["lines"][0]["subtotal"] == 600
    key = str(uuid.uuid4())
    first = client.post(
        f"/api/applications/{application_id}/payments",
        {"method": "bank_transfer"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **auth,
    )
    again = client.post(
        f"/api/applications/{application_id}/payments",
        {"method": "bank_transfer"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **auth,
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Payment.objects.count() == 1
    assert len(first.json()["reference_number"]) == 11
    card = client.post(
        f"/api/applications/{application_id}/payments",
        {"method": "card"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        **auth,
    )
    assert card.status_code == 409 and card.json()["code"] == "payment_refused"
    other = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user=taro, name='t')[1]}"}
    assert client.get(f"/api/applications/{application_id}/fee", **other).status_code == 404
    assert client.get(f"/api/applications/{application_id}/fee").status_code == 401


def test_a_card_payment_through_the_api_gives_the_provider_page(
    certificate_before_issuance, stripe, client, hanako
):
    token = ApiToken.issue(user=hanako, name="t")[1]
    application_id = _submit(client, token)
    response = client.post(
        f"/api/applications/{application_id}/payments",
        {"method": "card"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201
    assert response.json()["redirect_url"].startswith(stripe.base_url + "/pay/")
