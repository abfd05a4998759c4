"""Bulk approval: each application passes its own checks in its own transaction; the
report says which were approved and why the others were not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from madoguchi.backoffice import services
from madoguchi.counter.models import Application, State

from ..conftest import login
from .conftest import submit_dog, submit_simple, user

pytestmark = pytest.mark.django_db


def test_bulk_approval_reports_each_item(simple_procedure, hanako, kankyo_staff, kankyo_kacho):
    simple = [submit_simple(hanako) for _ in range(3)]
    services.request_correction(
        application=simple[2],
        staff=kankyo_staff,
        field_ids=["site"],
        message="番地まで",
        reply_by=__import__("datetime").date.today(),
    )
    routed = services.start_review(application=submit_dog(hanako), staff=kankyo_staff)
    minato = submit_dog(hanako, body="993417")
    report = services.bulk_approve(
        staff=kankyo_kacho,
        application_ids=[str(a.pk) for a in (*simple, routed, minato)] + ["not-an-id"],
    )
    by_id = {item.application_id: item for item in report.items}
    assert [by_id[str(a.pk)].ok for a in simple] == [True, True, False]
    assert by_id[str(simple[2].pk)].message == "この状態の申請にはこの操作はできません。"
    assert not by_id[str(routed.pk)].ok and "決裁ルート" in by_id[str(routed.pk)].message
    assert by_id[str(minato.pk)].message == "申請が見つかりません。"  # another body's
    assert not by_id["not-an-id"].ok
    states = {a.pk: Application.objects.get(pk=a.pk).state for a in (*simple, routed, minato)}
    assert states == {
        simple[0].pk: State.APPROVED,
        simple[1].pk: State.APPROVED,
        simple[2].pk: State.CORRECTION_REQUESTED,
        routed.pk: State.UNDER_REVIEW,
        minato.pk: State.SUBMITTED,
    }
    assert (len(report.succeeded), len(report.failed)) == (2, 4)


def test_bulk_approval_of_route_steps_where_the_route_allows(hanako, kankyo_staff, kankyo_kacho):
    """registration-standard allows bulk approval: the 課長 approves many drafts at once."""
    drafts = []
    for _ in range(2):
        application = services.start_review(application=submit_dog(hanako), staff=kankyo_staff)
        services.decide(application=application, staff=kankyo_staff, outcome="approve")
        drafts.append(application)
    rejected = services.start_review(application=submit_dog(hanako), staff=kankyo_staff)
    services.decide(application=rejected, staff=kankyo_staff, outcome="reject", reason="不備")
    report = services.bulk_approve(
        staff=kankyo_kacho, application_ids=[str(a.pk) for a in (*drafts, rejected)]
    )
    assert [item.ok for item in report.items] == [True, True, False]
    assert report.items[2].message == "承認以外の決定案は一括では決裁できません。"
    assert [Application.objects.get(pk=a.pk).state for a in drafts] == [State.APPROVED] * 2
    # The drafter cannot approve their own drafts in bulk either (four-eyes).
    again = services.start_review(application=submit_dog(hanako), staff=kankyo_staff)
    services.decide(application=again, staff=kankyo_staff, outcome="approve")
    report = services.bulk_approve(staff=kankyo_staff, application_ids=[str(again.pk)])
    assert not report.items[0].ok


def test_bulk_approval_page(simple_procedure, hanako, kankyo_kacho):
    items = [submit_simple(hanako) for _ in range(2)]
    client = login(kankyo_kacho)
    queue = client.get(reverse("backoffice:queue")).content.decode()
    assert 'name="applications"' in queue and "一括承認する" in queue
    response = client.post(
        reverse("backoffice:bulk_approve"),
        {"applications": [str(i.pk) for i in items], "back": "?state=all"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "承認 2件、承認できなかったもの 0件" in body
    assert 'href="/staff/queue/?state=all"' in body
    # Nothing chosen: back to the queue with a message.
    response = client.post(reverse("backoffice:bulk_approve"), {})
    assert response.status_code == 302
    # A case worker without the approver role sees no bulk form.
    worker = login(user("kankyo.tanto@aoba.example.jp"))
    assert 'name="applications"' not in worker.get(reverse("backoffice:queue")).content.decode()
