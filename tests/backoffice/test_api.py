"""The staff side of the JSON API: the queue and the actions, with the pages'
permissions and refusals (403, 404, 409, 422), never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from madoguchi.counter.models import Application, State
from madoguchi.identity.models import ApiToken

from .conftest import submit_dog, submit_simple

pytestmark = pytest.mark.django_db


def _client(user) -> tuple[Client, dict]:
    _token, raw = ApiToken.issue(user=user, name="tests")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _act(user, application, **body):
    client, headers = _client(user)
    return client.post(
        f"/api/staff/applications/{application.pk}/actions",
        body,
        content_type="application/json",
        **headers,
    )


def test_the_queue(hanako, kankyo_staff):
    items = [submit_dog(hanako) for _ in range(2)]
    submit_dog(hanako, body="993417")
    client, headers = _client(kankyo_staff)
    response = client.get("/api/staff/queue", **headers)
    assert response.status_code == 200
    data = response.json()
    assert data["unit"] == "生活環境課" and data["has_next"] is False
    assert {item["id"] for item in data["items"]} == {str(i.pk) for i in items}
    assert data["items"][0]["due"]["due_date"] and data["items"][0]["state"] == "submitted"
    response = client.get("/api/staff/queue?overdue=true&sort=-submitted_at", **headers)
    assert response.status_code == 200 and response.json()["items"] == []
    response = client.get("/api/staff/queue?state=nonsense", **headers)
    assert response.status_code == 422 and response.json()["code"] == "invalid_filter"
    assert "state: Unknown state" in response.json()["detail"]
    assert client.get("/api/staff/queue?unit=999999", **headers).status_code == 404


def test_residents_and_strangers_get_no_staff_api(hanako, kankyo_staff, prefecture_staff):
    application = submit_dog(hanako)
    client, headers = _client(hanako)
    assert client.get("/api/staff/queue", **headers).status_code == 403
    assert Client().get("/api/staff/queue").status_code == 401
    # Staff of another body: as if it did not exist.
    client, headers = _client(prefecture_staff)
    assert client.get(f"/api/staff/applications/{application.pk}", **headers).status_code == 404
    assert _act(prefecture_staff, application, action="claim").status_code == 404


def test_acting_on_an_application(hanako, kankyo_staff):
    application = submit_dog(hanako)
    client, headers = _client(kankyo_staff)
    detail = client.get(f"/api/staff/applications/{application.pk}", **headers).json()
    assert detail["allowed_actions"][:4] == ["claim", "assign", "release", "start_review"]
    assert detail["answers"]["dog_name"] == "ポチ"
    version = detail["lock_version"]
    response = _act(kankyo_staff, application, action="start_review", expected_version=version)
    assert response.status_code == 200 and response.json()["state"] == "under_review"
    # The same version again: someone (this caller) acted first.
    response = _act(kankyo_staff, application, action="claim", expected_version=version)
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    # Not allowed in this state, and refused input: 409 and 422 with messages.
    response = _act(kankyo_staff, application, action="start_review")
    assert response.status_code == 409
    assert "This action is not allowed" in response.json()["detail"]
    response = _act(
        kankyo_staff,
        application,
        action="request_correction",
        fields=["dog_name"],
        message="名前",
        reply_by=str(dt.date.today() + dt.timedelta(days=5)),
    )
    assert response.status_code == 200 and response.json()["state"] == "correction_requested"
    response = _act(kankyo_staff, application, action="explode")
    assert response.status_code == 422
    response = _act(kankyo_staff, application, action="note", message="a\x00b")
    assert response.status_code == 409
    response = _act(kankyo_staff, application, action="note", unknown="x")
    assert response.status_code == 422
    assert Application.objects.get(pk=application.pk).state == State.CORRECTION_REQUESTED


def test_a_direct_decision_needs_the_approver_role(
    simple_procedure, hanako, kankyo_staff, kankyo_kacho
):
    application = submit_simple(hanako)
    _act(kankyo_staff, application, action="start_review")
    response = _act(kankyo_staff, application, action="approve")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = _act(kankyo_kacho, application, action="reject")
    assert response.status_code == 409 and "reason" in response.json()["detail"]
    response = _act(kankyo_kacho, application, action="reject", reason="基準外")
    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "rejected" and data["decision"]["instruction"]
    assert data["allowed_actions"] == ["note"]
