"""The approval actions in the JSON API: my actionable items, acting on one, and the
refusals (401, 403, 404, 409, 422) as JSON with both languages."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from madoguchi.approvals.models import ApprovalStep, InstanceState, StepState
from madoguchi.identity.models import ApiToken

from ..conftest import login
from .conftest import only_pending, start

pytestmark = pytest.mark.django_db

SEQUENTIAL = """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief, unit: shomei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""


def post(client: Client, url: str, body: dict, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def instance(people, route, recorder):
    return start(route(SEQUENTIAL), people.tanto)


def test_my_tasks_list_what_i_can_act_on(people, instance):
    response = login(people.kakaricho).get("/api/approvals/tasks")
    assert response.status_code == 200
    [task] = response.json()
    step = only_pending(instance)
    assert task["step_id"] == step.pk and task["version"] == 1
    assert task["instance_id"] == str(instance.pk)
    assert (task["title"], task["step_label"], task["stage"], task["stages"]) == (
        "テストの起案",
        "係長審査",
        1,
        2,
    )
    assert task["on_behalf_of"] is None and task["kind_label"] == "テスト案件"
    assert login(people.kacho).get("/api/approvals/tasks").json() == []


def test_approving_through_the_api_with_a_token(people, instance):
    _token, raw = ApiToken.issue(user=people.kakaricho, name="rpa")
    step = only_pending(instance)
    response = post(
        Client(),
        f"/api/approvals/steps/{step.pk}/approve",
        {"version": 1, "comment": "確認済み"},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["current_stage"] == 2 and body["state"] == "in_progress"
    assert body["steps"][0]["acted_by"]["id"] == people.kakaricho.pk
    assert body["steps"][0]["comment"] == "確認済み"


def test_the_second_click_gets_409_and_nothing_changes(people, instance):
    step = only_pending(instance)
    client = login(people.kakaricho)
    assert (
        post(client, f"/api/approvals/steps/{step.pk}/approve", {"version": 1}).status_code == 200
    )
    again = post(client, f"/api/approvals/steps/{step.pk}/approve", {"version": 1})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert "Someone acted first" in again.json()["detail"] and "既に" in again.json()["detail"]
    assert ApprovalStep.objects.filter(instance=instance, state=StepState.APPROVED).count() == 1


def test_someone_without_the_position_gets_403(people, instance):
    step = only_pending(instance)
    # The 市民課長 sees the item (it is their unit's) but the step is the 係長's.
    response = post(login(people.kacho), f"/api/approvals/steps/{step.pk}/approve", {"version": 1})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert only_pending(instance) == step


def test_the_drafter_gets_403_on_their_own_draft(people, instance):
    step = only_pending(instance)
    response = post(login(people.tanto), f"/api/approvals/steps/{step.pk}/approve", {"version": 1})
    assert response.status_code == 403


def test_staff_of_another_unit_or_body_do_not_see_the_item(people, instance):
    step = only_pending(instance)
    for user in (people.kankyo, people.minato):
        client = login(user)
        assert (
            post(client, f"/api/approvals/steps/{step.pk}/approve", {"version": 1}).status_code
            == 404
        )
        assert client.get(f"/api/approvals/{instance.pk}").status_code == 404
    assert login(people.kacho).get(f"/api/approvals/{instance.pk}").status_code == 200


def test_residents_and_anonymous_callers_are_refused(hanako, instance):
    step = only_pending(instance)
    assert Client().get("/api/approvals/tasks").status_code == 401
    assert login(hanako).get("/api/approvals/tasks").status_code == 403
    assert (
        post(login(hanako), f"/api/approvals/steps/{step.pk}/approve", {"version": 1}).status_code
        == 403
    )


def test_a_return_needs_a_comment_and_a_known_target(people, instance):
    step = only_pending(instance)
    client = login(people.kakaricho)
    url = f"/api/approvals/steps/{step.pk}/return"
    missing = post(client, url, {"version": 1, "comment": " "})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["path"] == "comment"
    assert post(client, url, {"version": 1, "comment": "x", "to": "nowhere"}).status_code == 422
    assert post(client, url, {"version": 1, "comment": "x", "submit": True}).status_code == 422
    returned = post(client, url, {"version": 1, "comment": "差し戻します", "to": "drafter"})
    assert returned.status_code == 200 and returned.json()["state"] == InstanceState.RETURNED


def test_a_deputy_acts_on_behalf_of_the_approver(people, instance):
    step = only_pending(instance)
    post(login(people.kakaricho), f"/api/approvals/steps/{step.pk}/approve", {"version": 1})
    [task] = login(people.hosa).get("/api/approvals/tasks").json()
    assert task["on_behalf_of"] == {"id": people.kacho.pk, "name": "田中 健"}
    response = post(
        login(people.hosa),
        f"/api/approvals/steps/{task['step_id']}/approve",
        {"version": task["version"], "on_behalf_of": people.kacho.pk},
    )
    assert response.status_code == 200 and response.json()["state"] == "completed"
    final = response.json()["steps"][-1]
    assert final["acted_by"]["id"] == people.hosa.pk and final["acted_for"]["id"] == people.kacho.pk
    # Asking to act for someone who has not delegated is refused.
    other = start(instance.route_version, people.tanto)
    step = only_pending(other)
    refused = post(
        login(people.hosa),
        f"/api/approvals/steps/{step.pk}/approve",
        {"version": 1, "on_behalf_of": people.kakaricho.pk},
    )
    assert refused.status_code == 403


def test_the_drafter_recalls_through_the_api(people, instance):
    client = login(people.tanto)
    response = post(client, f"/api/approvals/{instance.pk}/recall", {"version": instance.version})
    assert response.status_code == 200 and response.json()["state"] == "recalled"
    stale = post(client, f"/api/approvals/{instance.pk}/recall", {"version": instance.version})
    assert stale.status_code == 409


def test_the_openapi_document_describes_the_actions():
    paths = Client().get("/api/openapi.json").json()["paths"]
    assert "/api/approvals/tasks" in paths
    assert "/api/approvals/steps/{step_id}/approve" in paths
    assert "/api/approvals/steps/{step_id}/return" in paths
