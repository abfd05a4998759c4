"""Answers that fill the sample procedures' pages, as a browser would post them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.test import Client
from django.urls import reverse

DOG_PAGES = {
    "owner": {
        "f-owner_name-family": "山田",
        "f-owner_name-given": "花子",
        "f-owner_name-family_kana": "ヤマダ",
        "f-owner_name-given_kana": "ﾊﾅｺ",
        "f-owner_address-postal_code": "100-0001",
        "f-owner_address-prefecture": "東京都",
        "f-owner_address-city": "千代田区",
        "f-owner_address-street": "千代田1-1",
        "f-owner_address-building": "",
        "f-owner_phone": "090-1234-5678",
        "f-dog_location": "same",
    },
    "dog": {
        "f-dog_name": "ポチ",
        "f-breed": "柴犬",
        "f-coat_colour": "赤",
        "f-dog_sex": "オス",
        "f-dog_birth_date-year": "令和5",
        "f-dog_birth_date-month": "4",
        "f-dog_birth_date-day": "1",
        "f-has_microchip": "yes",
        "f-microchip_number": "392140000123456",
    },
    "rabies": {"f-vaccinated": "no", "f-delivery": "mail"},
}


def start(client: Client, body: str, identifier: str, data: dict | None = None):
    response = client.post(reverse("counter:start", args=[body, identifier]), data or {})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def application_id_from(response) -> str:
    return response["Location"].split("/applications/")[1].split("/")[0]


def fill_dog_registration(client: Client) -> str:
    response = start(client, "992011", "dog-registration")
    application_id = application_id_from(response)
    for page_id, data in DOG_PAGES.items():
        response = client.post(
            reverse("counter:page", args=[application_id, page_id]), {**data, "action": "continue"}
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("counter:check", args=[application_id])
    return application_id


# --- reading pages like a browser ---------------------------------------------------------


class _FormReader(HTMLParser):
    """Collects what a browser would submit from the page's forms: text inputs, checked
    radios and checkboxes, selected options and textareas (file inputs are left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str, value: str) -> None:
        self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("radio", "checkbox"):
                if "checked" in attributes:
                    self._add(name, attributes.get("value") or "on")
                return
            self._add(name, attributes.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self._first_option = None
            self.values.setdefault(name, [])
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = attributes.get("value") or ""
            if "selected" in attributes:
                self._add(self._select, attributes.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            # Without a selected option, a browser sends the first one.
            if not self.values[self._select] and self._first_option is not None:
                self._add(self._select, self._first_option)
            self._select = None
        elif tag == "textarea" and self._textarea:
            self._add(self._textarea, "".join(self._text).lstrip("\n"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def form_values(response) -> dict[str, str | list[str]]:
    """The values the page's form would send, single values as strings."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    return {
        name: (values[0] if len(values) == 1 else values)
        for name, values in reader.values.items()
        if name != "csrfmiddlewaretoken"
    }


def error_summary_links(response) -> list[str]:
    """The targets (#f-...) of the links in the page's error summary."""
    body = response.content.decode()
    start = body.find('class="error-summary"')
    if start < 0:
        return []
    end = body.find("</div>", start)
    return re.findall(r'href="#([^"]+)"', body[start:end])


def post_page(client: Client, application_id: str, page_id: str, data: dict, *, query: str = ""):
    url = reverse("counter:page", args=[application_id, page_id]) + query
    return client.post(url, {"action": "continue", **data})


JUMINHYO_PAGES = {
    "requester": {
        "f-requester_name-family": "山田",
        "f-requester_name-given": "花子",
        "f-requester_name-family_kana": "やまだ",
        "f-requester_name-given_kana": "はなこ",
        "f-requester_birth_date-year": "昭和63",
        "f-requester_birth_date-month": "6",
        "f-requester_birth_date-day": "15",
        "f-requester_address-postal_code": "100-0001",
        "f-requester_address-prefecture": "東京都",
        "f-requester_address-city": "千代田区",
        "f-requester_address-street": "千代田1-1",
        "f-requester_phone": "090-1234-5678",
        "f-relationship": "self",
    },
    "target": {
        "f-target_address-postal_code": "100-0001",
        "f-target_address-prefecture": "東京都",
        "f-target_address-city": "千代田区",
        "f-target_address-street": "千代田1-1",
        "f-scope": "whole",
    },
    "certificate": {"f-certificate_kind": "copy", "f-copies": "1"},
    "purpose": {"f-purpose": "相続"},
    "confirm": {"f-declaration": "yes"},
}


def fill_pages(client: Client, application_id: str, pages: dict[str, dict]) -> None:
    for page_id, data in pages.items():
        response = post_page(client, application_id, page_id, data)
        assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("counter:check", args=[application_id])


def fill_juminhyo(client: Client, start_data: dict | None = None) -> str:
    application_id = application_id_from(
        start(client, "992011", "juminhyo-copy", start_data or {"role": "self"})
    )
    fill_pages(client, application_id, JUMINHYO_PAGES)
    return application_id


def parking_pages(evidence) -> dict[str, dict]:
    return {
        "eligibility": {"f-category": "elderly_care", "f-care_level": "要介護2"},
        "evidence": {"f-evidence_files": evidence},
        "user": {
            "f-user_name-family": "山田",
            "f-user_name-given": "花子",
            "f-user_name-family_kana": "やまだ",
            "f-user_name-given_kana": "はなこ",
            "f-user_birth_date-year": "1950",
            "f-user_birth_date-month": "1",
            "f-user_birth_date-day": "2",
            "f-user_address-postal_code": "100-0001",
            "f-user_address-prefecture": "東京都",
            "f-user_address-city": "千代田区",
            "f-user_address-street": "千代田1-1",
        },
        "contact": {
            "f-contact_phone": "03-1234-5678",
            "f-delivery": "download",
            "f-declaration": "yes",
        },
    }


def fill_parking(client: Client, evidence, start_data: dict | None = None) -> str:
    application_id = application_id_from(
        start(client, "990001", "omoiyari-parking", start_data or {"role": "self"})
    )
    fill_pages(client, application_id, parking_pages(evidence))
    return application_id


def submit(client: Client, application_id: str) -> None:
    from tests.esign.helpers import sign_if_required

    sign_if_required(client, application_id)  # 電子署名, for procedures that require it
    response = client.post(reverse("counter:check", args=[application_id]))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("counter:done", args=[application_id])
