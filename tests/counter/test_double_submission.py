"""Submitting twice — double click, back button, two tabs, two requests at once — makes
one submitted application, one 受付番号 and one e-mail."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from madoguchi.counter import services
from madoguchi.counter.models import Application, State
from madoguchi.ledger.models import Event
from madoguchi.notifications.models import OutboundEmail

from ..conftest import login
from .helpers import DOG_PAGES, fill_dog_registration, post_page


@pytest.mark.django_db
def test_two_posts_to_the_check_page(hanako_client, django_capture_on_commit_callbacks):
    application_id = fill_dog_registration(hanako_client)
    url = reverse("counter:check", args=[application_id])
    with django_capture_on_commit_callbacks(execute=True):
        first = hanako_client.post(url)
    receipt = Application.objects.get(pk=application_id).receipt_number
    with django_capture_on_commit_callbacks(execute=True):
        second = hanako_client.post(url)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("counter:done", args=[application_id])
    application = Application.objects.get(pk=application_id)
    assert application.receipt_number == receipt
    assert Application.objects.filter(state=State.SUBMITTED).count() == 1
    assert Application.objects.exclude(receipt_number=None).count() == 1
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.filter(template="application_submitted").count() == 1
    assert Event.objects.filter(event_type="application.submitted").count() == 1


@pytest.mark.django_db
def test_the_service_submits_a_draft_once(hanako, django_capture_on_commit_callbacks):
    # Two requests that both found a draft (the view's own check passed in each).
    application_id = fill_dog_registration(login(hanako))
    stale = Application.objects.get(pk=application_id)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.submit_application(
            application=stale, actor=hanako, identity_level="account"
        )
        second = services.submit_application(
            application=stale, actor=hanako, identity_level="account"
        )
    assert first.pk == second.pk and first.receipt_number == second.receipt_number
    assert Event.objects.filter(event_type="application.submitted").count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_resending_a_page_after_submission_changes_nothing(
    hanako_client, django_capture_on_commit_callbacks
):
    application_id = fill_dog_registration(hanako_client)
    with django_capture_on_commit_callbacks(execute=True):
        hanako_client.post(reverse("counter:check", args=[application_id]))
    before = Application.objects.get(pk=application_id)
    response = post_page(
        hanako_client, application_id, "dog", {**DOG_PAGES["dog"], "f-dog_name": "タロ"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("counter:detail", args=[application_id])
    after = Application.objects.get(pk=application_id)
    assert after.answers == before.answers and after.answers_sha256 == before.answers_sha256
    assert after.answers["dog_name"] == "ポチ"


@pytest.mark.postgres
def test_two_requests_submitting_the_same_draft_at_once(transactional_db, hanako):
    application_id = fill_dog_registration(login(hanako))
    clients = [login(hanako), login(hanako)]
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)
    errors: list[BaseException] = []

    def submit(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            responses[index] = clients[index].post(reverse("counter:check", args=[application_id]))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert [r.status_code for r in responses] == [302, 302]
    assert {r["Location"] for r in responses} == {reverse("counter:done", args=[application_id])}
    assert Application.objects.filter(state=State.SUBMITTED).count() == 1
    assert Application.objects.exclude(receipt_number=None).count() == 1
    assert Event.objects.filter(event_type="application.submitted").count() == 1
    assert OutboundEmail.objects.filter(template="application_submitted").count() == 1
    assert len([m for m in mail.outbox if "【受付】" in m.subject]) == 1
