"""The outbox against a real SMTP server: delivery, retries with backoff, giving up."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from madoguchi.counter.models import Application
from madoguchi.notifications.models import OutboundEmail
from madoguchi.notifications.services import (
    MAX_ATTEMPTS,
    backoff,
    deliver,
    deliver_due,
    queue_email,
)
from tests.api.payloads import CHILD_ALLOWANCE, DOG, MY_NUMBER, post_application
from tests.conftest import login

pytestmark = pytest.mark.django_db

# What the e-mail must never carry: the answers of the child-allowance claim.
PERSONAL = [
    MY_NUMBER,
    "1987-07-07",
    "1987年",
    "昭和62",
    "2020-02-02",
    "一二三",
    "ひふみ",
    "葵",
    "080-2468-1357",
    "8024681357",
    "7654321",
    "スズキ",
]


def _submit_child_allowance(hanako, capture) -> Application:
    client = login(hanako, level="mynumber_card")
    from tests.esign.helpers import post_signed_application

    with capture(execute=True):
        # The procedure requires the applicant's signature: draft, sign, submit.
        response = post_signed_application(
            client, procedure="child-allowance", answers=CHILD_ALLOWANCE
        )
    assert response.status_code == 200, response.content.decode()
    return Application.objects.get(pk=response.json()["id"])


def _make_due(email: OutboundEmail) -> None:
    """Time passes: the next attempt of the row is due."""
    OutboundEmail.objects.filter(pk=email.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_submission_mail_arrives_without_personal_data(
    smtp_server, hanako, django_capture_on_commit_callbacks
):
    application = _submit_child_allowance(hanako, django_capture_on_commit_callbacks)
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.rcpt_tos == ["hanako@example.jp"]
    assert application.receipt_number in received.subject
    assert "児童手当" in received.subject
    text = received.text
    assert application.receipt_number in text
    assert f"/applications/{application.pk}/" in text
    for value in PERSONAL:
        assert value not in received.subject
        assert value not in text, value
        assert value not in received.message.as_string()

    row = OutboundEmail.objects.get()
    assert (row.status, row.attempts, row.last_error) == (OutboundEmail.Status.SENT, 1, "")
    assert row.sent_at is not None


def test_server_away_then_back(smtp_server, hanako, django_capture_on_commit_callbacks):
    smtp_server.stop()
    before = timezone.now()
    client = login(hanako)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_application(client, answers=DOG)
    # The resident's submission does not depend on the mail server.
    assert response.status_code == 201
    receipt = response.json()["receipt_number"]

    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.PENDING
    assert row.attempts == 1
    assert row.last_error.startswith("ConnectionRefusedError")
    assert 0 < len(row.last_error) <= 210
    assert "hanako@example.jp" not in row.last_error
    assert before + dt.timedelta(seconds=29) <= row.next_attempt_at
    assert row.next_attempt_at <= timezone.now() + dt.timedelta(seconds=31)

    # Not yet due: the worker leaves it alone.
    assert deliver_due() == {}
    row.refresh_from_db()
    assert row.attempts == 1

    smtp_server.start()
    _make_due(row)
    out = io.StringIO()
    call_command("deliver_email", stdout=out)
    assert out.getvalue().strip() == "sent: 1"
    assert len(smtp_server.messages) == 1
    assert receipt in smtp_server.messages[0].subject
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutboundEmail.Status.SENT, 2, "")

    # Later runs of the worker send nothing again.
    _make_due(row)
    assert deliver_due() == {}
    call_command("deliver_email", stdout=io.StringIO())
    assert len(smtp_server.messages) == 1


def test_backoff_grows_and_the_row_fails_after_max_attempts(smtp_server, db):
    smtp_server.stop()
    with transaction.atomic():
        row = queue_email(
            to="someone@example.jp",
            template="status_changed",
            context={
                "procedure_name": "犬の登録申請",
                "receipt_number": "X",
                "state_label": "審査中",
            },
        )
    delays = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        _make_due(row)
        started = timezone.now()
        results = deliver_due()
        row.refresh_from_db()
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert results == {"retry": 1}
            assert row.status == OutboundEmail.Status.PENDING
            delays.append(row.next_attempt_at - started)
        else:
            assert results == {"failed": 1}
            assert row.status == OutboundEmail.Status.FAILED
    # 30 s, doubling, at most an hour.
    for attempt, delay in enumerate(delays, start=1):
        assert backoff(attempt) <= delay <= backoff(attempt) + dt.timedelta(seconds=5)
    assert [int(delay.total_seconds()) for delay in delays] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]

    # A failed row is not tried again, even with the server back.
    smtp_server.start()
    _make_due(row)
    assert deliver_due() == {}
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.FAILED, MAX_ATTEMPTS)
    assert smtp_server.messages == []


def test_delivering_the_same_row_twice_sends_once(smtp_server, db):
    with transaction.atomic():
        row = queue_email(
            to="someone@example.jp",
            template="status_changed",
            context={
                "procedure_name": "犬の登録申請",
                "receipt_number": "R-1",
                "state_label": "審査中",
            },
        )
    # (the on-commit delivery did not run: the test's transaction never commits)
    assert smtp_server.messages == []
    assert deliver(row.pk) == "sent"
    assert deliver(row.pk) == "skipped"
    assert deliver_due() == {}
    assert len(smtp_server.messages) == 1
    assert "R-1" in smtp_server.messages[0].text


def test_a_refused_recipient_is_retried_and_the_error_names_no_address(smtp_server, db):
    smtp_server.handler.refuse_recipients_with = "550 5.1.1 mailbox unavailable"
    with transaction.atomic():
        row = queue_email(
            to="Resident.Person@Example.JP",
            template="status_changed",
            context={
                "procedure_name": "犬の登録申請",
                "receipt_number": "R-2",
                "state_label": "審査中",
            },
        )
    assert deliver(row.pk) == "retry"
    row.refresh_from_db()
    assert row.last_error.startswith("SMTPRecipientsRefused")
    # The error is shown to staff and kept: it must not carry the address.
    assert "resident.person" not in row.last_error.lower()
    assert "example.jp" not in row.last_error.lower()
    assert smtp_server.messages == []


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_one_row_at_once_send_it_once(smtp_server):
    row = OutboundEmail.objects.create(
        to_address="someone@example.jp",
        subject="【受付】テスト",
        body_text="本文",
        template="application_submitted",
    )
    barrier = threading.Barrier(3)
    results: list[str] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(deliver(row.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["sent", "skipped", "skipped"]
    assert len(smtp_server.messages) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.SENT, 1)
