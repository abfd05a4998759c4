"""Headers on every kind of response, and pages that work under the strict CSP."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from madoguchi.identity.models import ApiToken
from tests.conftest import login

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "/",
    "/procedures/",
    "/procedures/?q=犬",
    "/procedures/992011/dog-registration/",
    "/accessibility/",
    "/account/login/",
    "/account/signup/",
    "/account/password/reset/",
]


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response) -> None:
    directives = csp_directives(response)
    script_sources = directives.get("script-src", directives.get("default-src"))
    assert script_sources == ["'self'"], directives
    for name, sources in directives.items():
        assert "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
        assert "*" not in sources, name
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def assert_no_inline_code(html: str) -> None:
    """What the CSP would block, and so break, must not be in the page."""
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE):
        # A JSON data block (allauth's passkey pages) is never executed: CSP allows it.
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<style\b", html, flags=re.IGNORECASE)
    assert not re.search(r"\sstyle\s*=", html, flags=re.IGNORECASE)
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE)
    assert "javascript:" not in html.lower()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages(client, sample, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_security_headers(response)
    assert_no_inline_code(response.content.decode())


def test_error_pages_and_the_api_carry_the_headers_too(client, sample):
    for path in ("/no-such-page/", "/api/procedures", "/api/applications", "/healthz"):
        response = client.get(path)
        assert_security_headers(response)


def test_pages_for_a_logged_in_resident_are_not_stored(hanako, django_capture_on_commit_callbacks):
    from tests.counter.helpers import fill_dog_registration

    client = login(hanako)
    application_id = fill_dog_registration(client)
    pages = [
        "/",
        "/procedures/",
        "/applications/",
        f"/applications/{application_id}/pages/owner/",
        f"/applications/{application_id}/check/",
        "/account/profile/",
        "/account/email/",
        "/no-such-page/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert "no-store" in response["Cache-Control"], path
        assert_security_headers(response)
        assert_no_inline_code(response.content.decode())
    # A redirect after a POST too.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/applications/{application_id}/check/")
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    for path in (response["Location"], f"/applications/{application_id}/"):
        page = client.get(path)
        assert page.status_code == 200
        assert "no-store" in page["Cache-Control"]
        assert_no_inline_code(page.content.decode())


def test_staff_pages_are_not_stored(shimin_staff):
    response = login(shimin_staff).get("/staff/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert_no_inline_code(response.content.decode())


def test_api_responses_for_a_token_are_not_stored(hanako):
    _token, raw = ApiToken.issue(user=hanako, name="t")
    response = Client().get("/api/applications", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_cookies_set_by_the_site_are_httponly_and_samesite(client, sample):
    response = client.get("/account/login/")
    csrf = response.cookies["madoguchi_csrf"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
