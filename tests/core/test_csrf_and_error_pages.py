"""CSRF refusals and the error pages: Japanese, without details, never a 500 for bad URLs."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from madoguchi.counter.models import Application
from tests.conftest import login
from tests.counter.helpers import DOG_PAGES, fill_dog_registration

pytestmark = pytest.mark.django_db


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def form_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]


def assert_japanese_error_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<html lang="ja">' in html
    assert f"<h1>{title}</h1>" in html
    assert "Traceback" not in html and "Exception" not in html
    return html


def test_a_resident_form_without_the_csrf_token_is_refused(hanako):
    client = csrf_client(hanako)
    url = "/procedures/992011/dog-registration/start/"
    refused = client.post(url, {"role": "self", "use_profile": "yes"})
    html = assert_japanese_error_page(refused, 403, "ページの有効期限が切れました")
    assert "再読み込み" in html
    assert not Application.objects.exists()

    # With the token from the page the same post goes through.
    token = form_token(client.get(url).content.decode())
    accepted = client.post(
        url, {"role": "self", "use_profile": "yes", "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302
    assert Application.objects.count() == 1


def test_answers_without_the_csrf_token_are_not_saved(hanako):
    application_id = fill_dog_registration(login(hanako))
    before = Application.objects.get(pk=application_id).answers
    client = csrf_client(hanako)
    response = client.post(
        f"/applications/{application_id}/pages/dog/",
        {**DOG_PAGES["dog"], "f-dog_name": "ハチ", "action": "continue"},
    )
    assert_japanese_error_page(response, 403, "ページの有効期限が切れました")
    assert Application.objects.get(pk=application_id).answers == before
    # Nor is the application submitted.
    response = client.post(f"/applications/{application_id}/check/")
    assert response.status_code == 403
    assert Application.objects.get(pk=application_id).receipt_number is None


def test_login_without_the_csrf_token_is_refused(hanako):
    from tests.conftest import PASSWORD

    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/login/", {"login": "hanako@example.jp", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_unknown_urls_get_the_japanese_404_page(client, sample):
    for path in ("/no-such-page/", "/procedures/992011/no-such-procedure/", "/staff/nothing/"):
        html = assert_japanese_error_page(client.get(path), 404, "ページが見つかりません")
        assert "わたしの申請" in html


@pytest.mark.parametrize(
    "path",
    [
        "/applications/not-a-uuid/",
        "/applications/12345/check/",
        "/applications/00000000-0000-0000-0000-00000000000g/",
        f"/applications/{uuid.uuid4()}/",
        f"/applications/{uuid.uuid4()}/pages/owner/",
        f"/applications/{uuid.uuid4()}/files/not-a-uuid/",
        f"/applications/{uuid.uuid4()}/files/{uuid.uuid4()}/",
        "/staff/applications/not-a-uuid/",
        f"/staff/applications/{uuid.uuid4()}/",
    ],
)
def test_malformed_or_unknown_ids_are_404_not_500(hanako, path):
    client = login(hanako)
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 404, path


def test_another_residents_application_is_404(hanako, taro):
    application_id = fill_dog_registration(login(hanako))
    client = login(taro)
    for path in (
        f"/applications/{application_id}/",
        f"/applications/{application_id}/pages/owner/",
        f"/applications/{application_id}/check/",
    ):
        assert client.get(path).status_code == 404, path


@pytest.mark.urls("tests.core.boom_urls")
def test_server_errors_get_the_japanese_500_page_without_details(client, db):
    client.raise_request_exception = False
    response = client.get("/boom/")
    html = assert_japanese_error_page(response, 500, "ただいま処理できません")
    assert "123456789012" not in html and "山田" not in html and "RuntimeError" not in html


def test_a_foreign_host_gets_the_400_page(sample):
    response = Client(HTTP_HOST="evil.example").get("/")
    assert_japanese_error_page(response, 400, "リクエストを処理できません")


@pytest.mark.parametrize(
    "path",
    [
        "/procedures/99%002011/dog-registration/",
        "/procedures/?q=%00",
        "/procedures/?body=99%002011",
        "/procedures/992011/dog-registration/start/?x=%00",
        "/applications/?%00=1",
    ],
)
def test_a_nul_character_in_the_url_is_a_400_not_a_500(hanako, path):
    """PostgreSQL cannot compare text containing NUL: any lookup with one would fail."""
    client = login(hanako)
    client.raise_request_exception = False
    response = client.get(path)
    assert_japanese_error_page(response, 400, "リクエストを処理できません")


@pytest.mark.parametrize(
    "path",
    [
        "/api/procedures?body=%00",
        "/api/procedures/99%002011/dog-registration",
        "/api/procedures/992011/dog%00",
        "/api/postal-codes/%00",
    ],
)
def test_a_nul_character_in_an_api_url_is_a_json_400(client, sample, path):
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "bad_request" and data["detail"] and data["errors"] == []


def _assert_unavailable_page(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert '<html lang="ja">' in html
    assert "<h1>ただいま一時的にご利用いただけません</h1>" in html
    assert "Traceback" not in html and "OperationalError" not in html


def _failing_database(execute, sql, params, many, context):
    from django.db import OperationalError

    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.urls("tests.core.boom_urls")
def test_a_database_that_is_away_gets_503_with_retry_after_not_500(client, sample):
    """PostgreSQL restarting, a fail-over, SQLite locked: the page and the API say to try
    again shortly (503, Retry-After); neither is a 500."""
    from django.db import connection

    client.raise_request_exception = False
    with connection.execute_wrapper(_failing_database):
        page = client.get("/")
        api = client.get("/api/procedures")
    _assert_unavailable_page(page)
    assert api.status_code == 503 and api["Retry-After"] == "30"
    assert api.json()["code"] == "unavailable" and "一時的に利用できません" in api.json()["detail"]
    # Other server errors are still the 500 page.
    assert client.get("/boom/").status_code == 500


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_server_that_refuses_connections_gets_503(client):
    """The real thing: the database's port closed, as while PostgreSQL restarts."""
    import socket

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: an SQLite database has no server to be away")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client.raise_request_exception = False
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port)
    try:
        page = client.get("/")
        api = client.get("/api/procedures")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original
    _assert_unavailable_page(page)
    assert api.status_code == 503 and api.json()["code"] == "unavailable"
