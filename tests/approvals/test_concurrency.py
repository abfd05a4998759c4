"""Two staff acting on the same item at the same moment, as real concurrent requests on
PostgreSQL: exactly one wins, the other gets a clear 409 and keeps what they typed;
parallel 合議 approvals do not block each other; document numbers never repeat."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from madoguchi.approvals import selectors, services
from madoguchi.approvals.models import ApprovalInstance, ApprovalStep, InternalDocument, StepState
from madoguchi.identity.models import User
from madoguchi.ledger.models import Event

from ..conftest import login
from .conftest import STAFF, only_pending, pending, start, unit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (row locks and concurrent transactions); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]

SINGLE = """
steps:
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
CONSULT = """
steps:
  - id: gogi
    label: 合議
    consult:
      - {position: director, unit: somuka}
      - {position: director, unit: zaisei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""


def race(requests) -> list:
    """Runs each callable in its own thread and connection, released at the same moment."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index: int) -> None:
        try:
            prepared = requests[index]()
            barrier.wait(timeout=10)
            results[index] = prepared()
        except Exception as exc:  # reported by the assertions
            results[index] = ("exception", repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def api_approve(email: str, step_id: int, *, version: int = 1, comment: str = "", behalf=None):
    def prepare():
        client = login(User.objects.get(email=email))
        body = {"version": version, "comment": comment}
        if behalf:
            body["on_behalf_of"] = behalf

        def send():
            response = client.post(
                f"/api/approvals/steps/{step_id}/approve",
                json.dumps(body),
                content_type="application/json",
            )
            return response.status_code, response.json()

        return send

    return prepare


def api_recall(email: str, instance_id, version: int):
    def prepare():
        client = login(User.objects.get(email=email))

        def send():
            response = client.post(
                f"/api/approvals/{instance_id}/recall",
                json.dumps({"version": version}),
                content_type="application/json",
            )
            return response.status_code, response.json()

        return send

    return prepare


@pytest.fixture
def people(sample):
    return {key: User.objects.get(email=email) for key, email in STAFF.items()}


def test_the_approver_and_their_deputy_approving_at_once(people, route, recorder):
    version = route(SINGLE)
    for _round in range(3):
        instance = start(version, people["tanto"])
        step = only_pending(instance)
        results = race(
            [
                api_approve(STAFF["kacho"], step.pk, comment="課長の承認"),
                api_approve(STAFF["hosa"], step.pk, comment="代決", behalf=people["kacho"].pk),
            ]
        )
        statuses = sorted(status for status, _body in results)
        assert statuses == [200, 409], results
        loser = next(body for status, body in results if status == 409)
        assert loser["code"] == "conflict" and "既に" in loser["detail"]
        step.refresh_from_db()
        assert step.state == StepState.APPROVED and step.version == 2
        instance.refresh_from_db()
        assert instance.state == "completed"
        completed = Event.objects.filter(
            event_type="approval.completed", subject_id=str(instance.pk)
        )
        assert completed.count() == 1
        assert (
            Event.objects.filter(
                event_type="approval.step_approved", subject_id=str(instance.pk)
            ).count()
            == 1
        )
    assert recorder.names() == ["completed"] * 3


def test_two_consulted_units_approving_at_once_both_count(people, route, recorder):
    version = route(CONSULT)
    for _round in range(3):
        instance = start(version, people["tanto"])
        steps = {step.unit.code: step for step in pending(instance)}
        results = race(
            [
                api_approve(STAFF["somu"], steps["somuka"].pk),
                api_approve(STAFF["zaisei"], steps["zaisei"].pk),
            ]
        )
        # Different steps of one stage: no conflict, and the stage ends exactly once.
        assert sorted(status for status, _body in results) == [200, 200], results
        instance.refresh_from_db()
        assert instance.current_stage == 1
        assert [step.key for step in pending(instance)] == ["kacho"]
        assert ApprovalStep.objects.filter(instance=instance, key="kacho").count() == 1


def test_a_recall_and_an_approval_at_once(people, route, recorder):
    version = route(SINGLE)
    for _round in range(3):
        instance = start(version, people["tanto"])
        step = only_pending(instance)

        results = race(
            [
                api_recall(STAFF["tanto"], instance.pk, instance.version),
                api_approve(STAFF["kacho"], step.pk),
            ]
        )
        statuses = [status for status, _body in results]
        assert sorted(statuses) == [200, 409], results
        instance.refresh_from_db()
        if statuses[0] == 200:  # the recall won: nothing approved
            assert instance.state == "recalled"
            assert not ApprovalStep.objects.filter(
                instance=instance, state=StepState.APPROVED
            ).exists()
        else:  # the approval won: the recall was refused
            assert instance.state == "completed"


def test_the_loser_of_two_form_submissions_keeps_their_comment(people, route, recorder):
    version = route(SINGLE)
    instance = start(version, people["tanto"])
    step = only_pending(instance)
    typed = {"kacho": "課長のコメント：第2条を確認", "hosa": "補佐のコメント：日付を確認"}

    def form(key: str, behalf=None):
        def prepare():
            client = login(people[key])
            data = {"action": "approve", "version": "1", "comment": typed[key]}
            if behalf:
                data["on_behalf_of"] = str(behalf)

            def send():
                response = client.post(reverse("approvals:act", args=[step.pk]), data)
                return response.status_code, response.content.decode()

            return send

        return prepare

    results = race([form("kacho"), form("hosa", people["kacho"].pk)])
    statuses = sorted(status for status, _html in results)
    assert statuses == [302, 409], [status for status, _ in results]
    loser_index = next(i for i, (status, _html) in enumerate(results) if status == 409)
    html = results[loser_index][1]
    assert typed[("kacho", "hosa")[loser_index]] in html
    assert "他の職員が先に操作しました" in html
    step.refresh_from_db()
    assert step.comment == typed[("kacho", "hosa")[1 - loser_index]]


def test_documents_approved_at_once_get_different_numbers(people, sample):
    from madoguchi.organisation.models import Body

    aoba = Body.objects.get(code="992011")
    general = next(r for r in selectors.routes_of_body(aoba) if r.identifier == "internal-general")
    steps = []
    for index in range(4):
        document = services.create_document(
            actor=people["tanto"], unit=unit("shiminka"), title=f"同時決裁{index}", route=general
        )
        instance = services.submit_document(
            document=document, actor=people["tanto"], expected_version=document.version
        )
        steps.append(only_pending(instance))
    # The 課長 and their deputy decide two each, all at the same moment.
    results = race(
        [
            api_approve(STAFF["kacho"], step.pk)
            if index % 2
            else api_approve(STAFF["hosa"], step.pk, behalf=people["kacho"].pk)
            for index, step in enumerate(steps)
        ]
    )
    assert [status for status, _body in results] == [200] * 4, results
    numbers = sorted(InternalDocument.objects.values_list("serial", flat=True))
    assert numbers == [1, 2, 3, 4]
    assert len(set(InternalDocument.objects.values_list("document_number", flat=True))) == 4
    assert ApprovalInstance.objects.filter(state="completed").count() == 4
