"""The unit's queue: filters, sorting, pages, counts per status; a page costs the same
number of queries whatever it shows; only the unit's own work is listed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.backoffice import selectors, services
from madoguchi.counter.models import Application, State

from ..conftest import login
from .conftest import submit_dog, submit_simple

pytestmark = pytest.mark.django_db


def _ids(page) -> list:
    return [row.application.pk for row in page.rows]


@pytest.fixture
def work(simple_procedure, hanako, taro, kankyo_staff):
    """Six applications of 生活環境課 with known dates, and one of みなと町."""
    items = [submit_dog(hanako) for _ in range(3)] + [submit_simple(taro) for _ in range(3)]
    today = timezone.localdate()
    for index, item in enumerate(items):
        # Received on successive days, due on successive days (the oldest is late).
        Application.objects.filter(pk=item.pk).update(
            submitted_at=timezone.now() - dt.timedelta(days=10 - index),
            due_date=today + dt.timedelta(days=index - 2),
        )
    services.claim(application=items[1], staff=kankyo_staff)
    services.start_review(application=items[2], staff=kankyo_staff)
    other = submit_dog(hanako, body="993417")
    return {"items": [Application.objects.get(pk=i.pk) for i in items], "other": other}


def test_filters_and_sorting(work, kankyo_staff):
    items = work["items"]
    unit = items[0].unit
    page = lambda **kw: selectors.queue_page(  # noqa: E731
        unit, selectors.QueueFilter(unit_id=unit.pk, **kw), user=kankyo_staff
    )
    everything = [item.pk for item in items]
    assert _ids(page()) == everything  # by due date: the late one first
    assert _ids(page(sort="-due_date")) == everything[::-1]
    assert _ids(page(sort="-submitted_at")) == everything[::-1]
    assert _ids(page(overdue=True)) == everything[:2]
    assert _ids(page(assignee="me")) == [items[1].pk, items[2].pk]
    assert _ids(page(assignee="none")) == [
        i.pk for i in items if i.pk not in (items[1].pk, items[2].pk)
    ]
    assert _ids(page(state=State.UNDER_REVIEW)) == [items[2].pk]
    dog = items[0].procedure_id
    assert _ids(page(procedure_id=dog)) == everything[:3]
    today = timezone.localdate()
    assert _ids(page(due_from=today, due_to=today + dt.timedelta(days=1))) == [
        items[2].pk,
        items[3].pk,
    ]
    received = timezone.localtime(items[4].submitted_at).date()
    assert _ids(page(received_from=received)) == [items[4].pk, items[5].pk]
    assert _ids(page(received_to=received)) == everything[:5]
    # みなと町's application is in none of them.
    assert work["other"].pk not in _ids(page(state="all"))


def test_pages_of_the_queue(work, kankyo_staff):
    unit = work["items"][0].unit
    flt = selectors.QueueFilter(unit_id=unit.pk)
    first = selectors.queue_page(unit, flt, user=kankyo_staff, size=4)
    second = selectors.queue_page(unit, flt.with_page(2), user=kankyo_staff, size=4)
    assert (len(first.rows), first.has_next, first.has_previous) == (4, True, False)
    assert (len(second.rows), second.has_next, second.has_previous) == (2, False, True)
    assert not set(_ids(first)) & set(_ids(second))


def test_a_page_costs_one_query_whatever_it_shows(work, kankyo_staff, django_assert_num_queries):
    unit = work["items"][0].unit
    with django_assert_num_queries(1):
        few = selectors.queue_page(
            unit, selectors.QueueFilter(unit_id=unit.pk, overdue=True), user=kankyo_staff
        )
    for _ in range(10):
        submit_dog(work["items"][0].applicant)
    with django_assert_num_queries(1):
        many = selectors.queue_page(unit, selectors.QueueFilter(unit_id=unit.pk), user=kankyo_staff)
        # Reading what the rows show needs no further query (no N+1).
        [(row.application.procedure_version.name, row.application.assignee) for row in many.rows]
    assert len(many.rows) > len(few.rows)


def test_counts_per_status_on_the_home_page(work, kankyo_staff):
    counts = selectors.unit_counts(work["items"][0].unit)
    assert counts.by_state == {State.SUBMITTED: 5, State.UNDER_REVIEW: 1}
    assert (counts.overdue, counts.unassigned, counts.open) == (2, 4, 6)
    home = login(kankyo_staff).get(reverse("backoffice:home")).content.decode()
    assert re.search(r"受付済み</a><strong>5</strong>", home)
    assert re.search(r"審査中</a><strong>1</strong>", home)
    assert re.search(r"期限切れ</a><strong>2</strong>", home)


def test_the_queue_page(work, kankyo_staff):
    client = login(kankyo_staff)
    items = work["items"]
    response = client.get(reverse("backoffice:queue") + "?overdue=1")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="due due--overdue"') == 2
    for item in items[:2]:
        assert item.receipt_number in body
    assert items[3].receipt_number not in body
    # The dashboard: late and soon-due work, by procedure and by assignee.
    dashboard = client.get(
        reverse("backoffice:dashboard", args=[items[0].unit_id])
    ).content.decode()
    assert "期限切れ（期限の古い順）" in dashboard and items[0].receipt_number in dashboard
    assert "犬の登録申請" in dashboard and "特定建設作業の届出（見本）" in dashboard


def test_claim_assign_and_release(work, kankyo_staff, kankyo_kacho):
    item = work["items"][0]
    client = login(kankyo_staff)
    url = reverse("backoffice:assign", args=[item.pk])
    assert (
        client.post(url, {"assignee": "me", "lock_version": item.lock_version}).status_code == 302
    )
    assert Application.objects.get(pk=item.pk).assignee == kankyo_staff
    # Someone who may not process this unit's work cannot be given it.
    response = client.post(url, {"assignee": str(kankyo_kacho.pk)})
    assert response.status_code == 409
    assert "この職員にはこの課の申請を割り当てられません。" in response.content.decode()
    # A stale page (before the claim) is refused.
    response = client.post(url, {"assignee": "none", "lock_version": item.lock_version})
    assert response.status_code == 409
    assert client.post(url, {"assignee": "none"}).status_code == 302
    assert Application.objects.get(pk=item.pk).assignee is None
    # The approver of the unit, not a case worker, may not take work.
    response = login(kankyo_kacho).post(url, {"assignee": "me"})
    assert response.status_code == 403
