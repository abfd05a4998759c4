"""Steps of the payment tests, as a browser and the provider would take them."""

from __future__ import annotations

import re
import uuid

from django.test import Client
from django.urls import reverse

from tests.counter.helpers import application_id_from, fill_pages, start

from .definitions import PAGES


def fill_certificate(client: Client, pages: dict | None = None) -> str:
    application_id = application_id_from(
        start(client, "992011", "tax-certificate", {"role": "self"})
    )
    fill_pages(client, application_id, pages or PAGES)
    return application_id


def form_key(response) -> str:
    match = re.search(r'name="key" value="([0-9a-f-]{36})"', response.content.decode())
    assert match, "no payment form on the page"
    return match[1]


def start_payment(
    client: Client, application_id: str, method: str = "card", key: str | None = None
):
    return client.post(
        reverse("payments:start", args=[application_id]),
        {"method": method, "key": key or str(uuid.uuid4())},
    )


def provider_url(response) -> str:
    """The link to the provider's page on our page before leaving for it."""
    assert response.status_code == 200, response.content.decode()[:2000]
    match = re.search(r'href="([^"]+)"[^>]*data-testid="provider-link"', response.content.decode())
    assert match, response.content.decode()[:2000]
    return match[1]


def session_id_of(response) -> str:
    return provider_url(response).rstrip("/").split("/")[-1]


def return_path(location: str) -> str:
    """The path of our return URL the provider redirects to (testserver-relative)."""
    return location.replace("http://testserver", "")


def deliver_events(client: Client, double, *, only: str | None = None) -> list:
    """The provider's notifications, signed by it, posted to our webhook endpoint."""
    responses = []
    for event in double.pop_events():
        if only and event["type"] != only:
            continue
        payload, header = double.signed(event)
        responses.append(
            client.post(
                reverse("payments:webhook", args=["stripe"]),
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
        )
    return responses


def pay_by_card(client: Client, double, application_id: str, *, card: str = "success"):
    """Check page → the provider's page → back to us. Returns the return response."""
    response = start_payment(client, application_id)
    session = session_id_of(response)
    status, location = double.pay(session, card=card)
    if status != 303:
        return None
    return client.get(return_path(location))
