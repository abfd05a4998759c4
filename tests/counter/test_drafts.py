"""Drafts: saved as typed, and every link to a draft leads to where the resident left off."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from madoguchi.counter.models import Application

from .helpers import DOG_PAGES, application_id_from, fill_dog_registration, form_values, start

pytestmark = pytest.mark.django_db


def _draft_links(client, url: str) -> list[str]:
    body = client.get(url).content.decode()
    return sorted(set(re.findall(r'href="(/applications/[0-9a-f-]{36}/[^"#]*)"', body)))


def test_every_link_to_a_draft_opens(hanako_client):
    complete = fill_dog_registration(hanako_client)
    fresh = application_id_from(start(hanako_client, "992011", "dog-registration"))
    halfway = application_id_from(start(hanako_client, "992011", "dog-registration"))
    hanako_client.post(
        reverse("counter:page", args=[halfway, "owner"]),
        {**DOG_PAGES["owner"], "action": "continue"},
    )
    expected = {
        complete: reverse("counter:check", args=[complete]),
        fresh: reverse("counter:page", args=[fresh, "owner"]),
        halfway: reverse("counter:page", args=[halfway, "dog"]),
    }
    for url in (
        reverse("counter:my_applications"),
        reverse("counter:start", args=["992011", "dog-registration"]),
    ):
        links = [link for link in _draft_links(hanako_client, url) if "/discard/" not in link]
        assert sorted(links) == sorted(expected.values()), url
        for link in links:
            assert hanako_client.get(link).status_code == 200, link
    for application_id, target in expected.items():
        response = hanako_client.get(reverse("counter:detail", args=[application_id]))
        assert response.status_code == 302 and response["Location"] == target


def test_save_for_later_keeps_even_what_is_not_valid_yet(hanako_client):
    application_id = application_id_from(start(hanako_client, "992011", "dog-registration"))
    url = reverse("counter:page", args=[application_id, "owner"])
    typed = {**DOG_PAGES["owner"], "f-owner_phone": "12345", "f-owner_address-city": "千代田区"}
    response = hanako_client.post(url, {**typed, "action": "save"})
    assert response["Location"] == reverse("counter:my_applications")
    listing = hanako_client.get(response["Location"]).content.decode()
    assert "下書きを保存しました。" in listing
    values = form_values(hanako_client.get(url))
    for name, value in typed.items():
        assert values[name] == value, name
    answers = Application.objects.get(pk=application_id).answers
    assert answers["owner_name"]["family"] == "山田"  # valid answers are kept as answers
    assert "owner_phone" not in answers or answers["owner_phone"] is None
