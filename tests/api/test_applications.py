"""POST /api/applications and friends: idempotency, validation errors, auth, identity level."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from madoguchi.counter.models import Application, State
from madoguchi.counter.receipts import is_valid_receipt_number
from madoguchi.ledger.models import Event
from tests.conftest import login

from . import payloads
from .conftest import set_window
from .payloads import DOG, bearer, error_paths, post_application

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content.decode()[:2000]
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert set(data) == {"detail", "code", "errors"}
    assert isinstance(data["detail"], str) and data["detail"]
    for error in data["errors"]:
        assert set(error) == {"path", "message", "message_en", "code"}
    if code is not None:
        assert data["code"] == code
    return data


# --- create and submit, idempotency ---------------------------------------------------


def test_create_and_submit_with_token_then_same_key_returns_same_application(
    client, hanako, hanako_token, django_capture_on_commit_callbacks
):
    key = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        first = post_application(client, token=hanako_token, answers=DOG, key=key)
    assert first.status_code == 201, first.content.decode()
    created = first.json()
    assert created["state"] == "submitted"
    assert is_valid_receipt_number(created["receipt_number"])
    assert created["fee_amount"] == 3000
    assert [item["event"] for item in created["history"]] == ["application.submitted"]
    application = Application.objects.get(pk=created["id"])
    assert application.applicant == hanako
    assert application.idempotency_key == uuid.UUID(key)
    assert application.answers["owner_phone"] == "+819012345678"
    assert len(mail.outbox) == 1

    with django_capture_on_commit_callbacks(execute=True):
        again = post_application(client, token=hanako_token, answers=DOG, key=key)
    assert again.status_code == 200
    assert again.json()["id"] == created["id"]
    assert again.json()["receipt_number"] == created["receipt_number"]
    assert Application.objects.count() == 1
    assert Event.objects.filter(event_type="application.submitted").count() == 1
    assert len(mail.outbox) == 1


def test_a_key_sent_again_after_the_deadline_gets_its_application(client, hanako_token):
    """The key is looked up only when the INSERT meets it or the request is refused: a
    client retrying after the procedure closed still gets the application it created."""
    key = str(uuid.uuid4())
    first = post_application(client, token=hanako_token, answers=DOG, key=key)
    assert first.status_code == 201, first.content.decode()
    now = timezone.now()
    set_window(
        "992011",
        "dog-registration",
        opens_at=now - dt.timedelta(days=30),
        closes_at=now - dt.timedelta(minutes=1),
    )
    again = post_application(client, token=hanako_token, answers=DOG, key=key)
    assert again.status_code == 200, again.content.decode()
    assert again.json() == first.json()
    assert_json_error(post_application(client, token=hanako_token, answers=DOG), 409, "closed")
    assert Application.objects.count() == 1


def test_another_user_reusing_a_key_is_refused(client, hanako_token, taro_token):
    key = str(uuid.uuid4())
    assert post_application(client, token=hanako_token, answers=DOG, key=key).status_code == 201
    response = post_application(client, token=taro_token, answers=DOG, key=key)
    assert_json_error(response, 409, "refused")
    assert Application.objects.count() == 1
    assert Application.objects.get().applicant.email == "hanako@example.jp"


@pytest.mark.parametrize("key", [None, "", "not-a-uuid", "12345"])
def test_missing_or_invalid_idempotency_key_is_422(client, hanako_token, key):
    headers = {"Content-Type": "application/json", **bearer(hanako_token)}
    if key is not None:
        headers["Idempotency-Key"] = key
    response = client.post(
        "/api/applications",
        data=json.dumps({"body": "992011", "procedure": "dog-registration", "answers": DOG}),
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
    )
    data = assert_json_error(response, 422, "invalid_request")
    assert error_paths(response) == {"header.Idempotency-Key"}
    assert data["errors"][0]["message"]
    assert Application.objects.count() == 0


def test_unknown_procedure_is_404(client, hanako_token):
    response = post_application(client, token=hanako_token, procedure="no-such", answers=DOG)
    assert_json_error(response, 404)


# --- validation errors: JSON, 422, paths into the answers -----------------------------


@pytest.mark.parametrize(
    ("answers", "path", "code"),
    [
        ({**DOG, "owner_phone": "12345"}, "answers.owner_phone", None),
        ({**DOG, "owner_phone": ["090-1234-5678"]}, "answers.owner_phone", "type"),
        ({**DOG, "owner_phone": True}, "answers.owner_phone", "type"),
        (
            {**DOG, "owner_name": {**payloads.NAME, "family_kana": "yamada"}},
            "answers.owner_name.family_kana",
            None,
        ),
        ({**DOG, "owner_name": "山田花子"}, "answers.owner_name", "type"),
        ({**DOG, "owner_name": {**payloads.NAME, "middle": "x"}}, "answers.owner_name", None),
        (
            {**DOG, "owner_address": {**payloads.ADDRESS, "postal_code": "12-34"}},
            "answers.owner_address.postal_code",
            None,
        ),
        ({**DOG, "dog_birth_date": "2199-01-01"}, "answers.dog_birth_date", "not_future"),
        ({**DOG, "dog_birth_date": "0001-01-01"}, "answers.dog_birth_date", "year_range"),
        ({**DOG, "dog_sex": "ネコ"}, "answers.dog_sex", None),
        ({**DOG, "microchip_number": "123"}, "answers.microchip_number", None),
        ({**DOG, "dog_name": "x" * 31}, "answers.dog_name", None),
        ({**DOG, "dog_name": {"a": 1}}, "answers.dog_name", "type"),
        ({**DOG, "no_such_field": "x"}, "answers.no_such_field", "unknown_field"),
        ({**DOG, "dog_name": "ポ\x00チ"}, "answers.dog_name", None),
        (
            {**DOG, "owner_address": {**payloads.ADDRESS, "street": "千代田1-1\x00"}},
            "answers.owner_address.street",
            None,
        ),
    ],
)
def test_invalid_answers_are_422_with_paths(client, hanako_token, answers, path, code):
    response = post_application(client, token=hanako_token, answers=answers)
    data = assert_json_error(response, 422)
    assert path in error_paths(response), data
    error = next(e for e in data["errors"] if e["path"] == path)
    assert error["message"] and error["message_en"]
    if code:
        assert error["code"] == code
    assert Application.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"body": "992011", "procedure": "dog-registration", "answers": []}, "answers"),
        ({"body": "992011", "procedure": "dog-registration", "answers": "x"}, "answers"),
        ({"body": 992011, "procedure": "dog-registration", "answers": {}}, "body"),
        ({"body": "992011", "answers": {}}, "procedure"),
        # NUL cannot be compared in PostgreSQL: refused before any lookup, not a 500.
        ({"body": "99\x002011", "procedure": "dog-registration", "answers": DOG}, "body"),
        ({"body": "992011", "procedure": "dog\x00", "answers": DOG}, "procedure"),
        (
            {"body": "992011", "procedure": "dog-registration", "answers": {}, "submit": "x"},
            "submit",
        ),
        # A misspelt "submit" must not be ignored (the application would be submitted).
        (
            {"body": "992011", "procedure": "dog-registration", "answers": DOG, "sumbit": False},
            "sumbit",
        ),
    ],
)
def test_malformed_request_bodies_are_422_with_paths(client, hanako_token, payload, path):
    response = client.post(
        "/api/applications",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Idempotency-Key": str(uuid.uuid4()), **bearer(hanako_token)},
    )
    assert_json_error(response, 422, "invalid_request")
    assert path in error_paths(response)
    assert Application.objects.count() == 0


@pytest.mark.parametrize("raw", ["not json", "[1, 2", "[]", "null", '"text"'])
def test_unparseable_bodies_are_json_errors_not_500(client, hanako_token, raw):
    response = client.post(
        "/api/applications",
        data=raw,
        content_type="application/json",
        headers={"Idempotency-Key": str(uuid.uuid4()), **bearer(hanako_token)},
    )
    assert response.status_code in (400, 422)
    assert_json_error(response, response.status_code)
    assert Application.objects.count() == 0


def test_incomplete_answers_with_submit_are_422_with_paths(client, hanako_token):
    answers = {
        key: value
        for key, value in DOG.items()
        if key not in ("owner_phone", "dog_name", "owner_name")
    }
    response = post_application(client, token=hanako_token, answers=answers)
    data = assert_json_error(response, 422)
    paths = error_paths(response)
    assert "answers.owner_phone" in paths
    assert "answers.dog_name" in paths
    assert any(path.startswith("answers.owner_name.") for path in paths), paths
    assert all(path.startswith("answers.") for path in paths)
    assert data["errors"][0]["message"]
    assert Application.objects.count() == 0


def test_draft_then_submit(client, hanako_token, django_capture_on_commit_callbacks):
    incomplete = {k: v for k, v in DOG.items() if k != "delivery"}
    response = post_application(client, token=hanako_token, answers=incomplete, submit=False)
    assert response.status_code == 201, response.content.decode()
    draft = response.json()
    assert draft["state"] == "draft" and draft["receipt_number"] is None
    submit_url = f"/api/applications/{draft['id']}/submit"

    refused = client.post(submit_url, headers=bearer(hanako_token))
    assert_json_error(refused, 422, "incomplete")
    assert error_paths(refused) == {"answers.delivery"}
    assert Application.objects.get(pk=draft["id"]).state == State.DRAFT

    # The complete draft submits; submitting again changes nothing.
    Application.objects.filter(pk=draft["id"]).update(answers={**DOG})
    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(submit_url, headers=bearer(hanako_token))
        again = client.post(submit_url, headers=bearer(hanako_token))
    assert submitted.status_code == 200, submitted.content.decode()
    assert submitted.json()["state"] == "submitted"
    assert is_valid_receipt_number(submitted.json()["receipt_number"])
    assert again.json()["receipt_number"] == submitted.json()["receipt_number"]
    assert len(mail.outbox) == 1

    status = client.get(f"/api/applications/{draft['id']}", headers=bearer(hanako_token))
    assert status.status_code == 200
    assert status.json()["receipt_number"] == submitted.json()["receipt_number"]
    listing = client.get("/api/applications", headers=bearer(hanako_token))
    assert [item["id"] for item in listing.json()] == [draft["id"]]


# --- access: other users, no auth, session and CSRF -----------------------------------


def test_applications_of_another_user_are_404(client, hanako_token, taro_token):
    mine = post_application(client, token=hanako_token, answers=DOG).json()
    draft = post_application(client, token=hanako_token, answers=DOG, submit=False).json()

    assert_json_error(
        client.get(f"/api/applications/{mine['id']}", headers=bearer(taro_token)), 404
    )
    refused = client.post(f"/api/applications/{draft['id']}/submit", headers=bearer(taro_token))
    assert_json_error(refused, 404)
    assert Application.objects.get(pk=draft["id"]).state == State.DRAFT
    assert client.get("/api/applications", headers=bearer(taro_token)).json() == []
    assert_json_error(client.get("/api/applications/not-a-uuid", headers=bearer(taro_token)), 422)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/applications"),
        ("get", f"/api/applications/{uuid.uuid4()}"),
        ("post", "/api/applications"),
        ("post", f"/api/applications/{uuid.uuid4()}/submit"),
        ("post", "/api/files"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer mdg_wrong", "Bearer ", "Basic eDp5"])
def test_no_or_bad_credentials_are_401_json(sample, method, path, authorization):
    # A real client: CSRF is enforced as in production (the test client skips it otherwise).
    client = Client(enforce_csrf_checks=True)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if authorization:
        headers["Authorization"] = authorization
    response = getattr(client, method)(path, headers=headers)
    assert_json_error(response, 401, "unauthenticated")


def test_revoked_and_expired_tokens_are_401(client, hanako):
    from madoguchi.identity.models import ApiToken

    revoked, revoked_raw = ApiToken.issue(user=hanako, name="revoked")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    _expired, expired_raw = ApiToken.issue(
        user=hanako, name="expired", expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    for raw in (revoked_raw, expired_raw):
        assert_json_error(client.get("/api/applications", headers=bearer(raw)), 401)


def test_session_auth_needs_the_csrf_token(hanako):
    client = Client(enforce_csrf_checks=True)
    client.force_login(hanako)
    refused = post_application(client, answers=DOG)
    assert_json_error(refused, 403)
    assert Application.objects.count() == 0
    # Reading with the session needs no token.
    assert client.get("/api/applications").status_code == 200

    client.get("/procedures/")  # sets the CSRF cookie, as a page of the site would
    token = client.cookies["madoguchi_csrf"].value
    accepted = post_application(client, answers=DOG, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.content.decode()
    assert Application.objects.get().applicant == hanako


# --- identity level and deadlines -----------------------------------------------------


def test_a_token_cannot_submit_a_procedure_needing_the_mynumber_card(client, hanako_token):
    response = post_application(
        client, token=hanako_token, procedure="juminhyo-copy", answers=payloads.JUMINHYO
    )
    data = assert_json_error(response, 403, "identity_level")
    assert "mynumber_card" in data["detail"]
    assert Application.objects.count() == 0

    # A draft is allowed, its submission is not.
    draft = post_application(
        client,
        token=hanako_token,
        procedure="juminhyo-copy",
        answers=payloads.JUMINHYO,
        submit=False,
    )
    assert draft.status_code == 201, draft.content.decode()
    refused = client.post(
        f"/api/applications/{draft.json()['id']}/submit", headers=bearer(hanako_token)
    )
    assert_json_error(refused, 403, "identity_level")
    assert Application.objects.get().state == State.DRAFT


def test_a_session_at_mynumber_card_level_can_submit_it(hanako):
    from tests.esign.helpers import post_signed_application

    client = login(hanako, level="mynumber_card")
    # The procedure requires the applicant's signature: draft, sign, submit.
    response = post_signed_application(client, procedure="juminhyo-copy", answers=payloads.JUMINHYO)
    assert response.status_code == 200, response.content.decode()
    assert response.json()["state"] == "submitted"
    assert response.json()["fee_amount"] == 600  # 2 copies at 300 yen

    account_level = login(hanako)
    refused = post_application(account_level, procedure="juminhyo-copy", answers=payloads.JUMINHYO)
    assert_json_error(refused, 403, "identity_level")


def test_closed_deadline_is_409(client, hanako_token):
    now = timezone.now()
    set_window(
        "992011",
        "dog-registration",
        opens_at=now - dt.timedelta(days=30),
        closes_at=now - dt.timedelta(hours=1),
    )
    response = post_application(client, token=hanako_token, answers=DOG)
    assert_json_error(response, 409, "closed")
    assert Application.objects.count() == 0

    set_window(
        "992011",
        "dog-registration",
        opens_at=now + dt.timedelta(days=1),
        closes_at=None,
    )
    assert_json_error(post_application(client, token=hanako_token, answers=DOG), 409, "closed")


def test_a_draft_cannot_be_submitted_after_the_deadline(client, hanako_token):
    draft = post_application(client, token=hanako_token, answers=DOG, submit=False).json()
    now = timezone.now()
    set_window(
        "992011",
        "dog-registration",
        opens_at=now - dt.timedelta(days=30),
        closes_at=now - dt.timedelta(minutes=1),
    )
    response = client.post(f"/api/applications/{draft['id']}/submit", headers=bearer(hanako_token))
    assert_json_error(response, 409, "closed")
    assert Application.objects.get().state == State.DRAFT


def test_token_requests_are_not_cached(client, hanako_token):
    response = client.get("/api/applications", headers=bearer(hanako_token))
    assert "no-store" in response["Cache-Control"]
