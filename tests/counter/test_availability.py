"""Procedures outside their acceptance window: no new application and no submission,
with a clear message in Japanese; a draft stays a draft."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from madoguchi.catalogue.selectors import procedure_by_identifier
from madoguchi.catalogue.services import load_catalogue
from madoguchi.counter import services
from madoguchi.counter.models import Application, State

from .definitions import CLOSED, write
from .helpers import application_id_from, form_values, start

pytestmark = pytest.mark.django_db

JST = dt.timezone(dt.timedelta(hours=9))


def _load(tmp_path, opens: dt.datetime, closes: dt.datetime):
    write(
        tmp_path,
        "992011",
        "closed-procedure",
        CLOSED.format(opens=opens.isoformat(), closes=closes.isoformat()),
    )
    load_catalogue(tmp_path)
    return procedure_by_identifier("992011", "closed-procedure")


def test_start_page_of_a_closed_procedure(sample, hanako_client, tmp_path):
    _load(
        tmp_path, dt.datetime(2020, 4, 1, 9, tzinfo=JST), dt.datetime(2020, 4, 30, 17, tzinfo=JST)
    )
    url = reverse("counter:start", args=["992011", "closed-procedure"])
    message = "受付は2020年4月30日 17:00で締め切りました。次回の受付をお待ちください。"
    page = hanako_client.get(url).content.decode()
    assert message in page
    assert "入力をはじめる" not in page  # no form to start
    response = hanako_client.post(url, {"role": "self"})
    assert message in response.content.decode()
    assert not Application.objects.exists()


def test_start_page_before_opening(sample, hanako_client, tmp_path):
    opens = timezone.now().astimezone(JST).replace(microsecond=0) + dt.timedelta(days=3)
    _load(tmp_path, opens, opens + dt.timedelta(days=10))
    response = hanako_client.post(reverse("counter:start", args=["992011", "closed-procedure"]))
    assert f"受付は{opens:%Y年%-m月%-d日 %H:%M}からです。" in response.content.decode()
    assert not Application.objects.exists()


def _close_now(procedure):
    """Time passes: the window of the version the draft was started under ends."""
    version = procedure.current_version
    type(version).objects.filter(pk=version.pk).update(
        closes_at=timezone.now() - dt.timedelta(minutes=1)
    )


def test_a_draft_cannot_be_sent_or_changed_after_closing_and_stays_a_draft(
    sample, hanako_client, tmp_path, django_capture_on_commit_callbacks
):
    now = timezone.now().astimezone(JST).replace(microsecond=0)
    procedure = _load(tmp_path, now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    application_id = application_id_from(start(hanako_client, "992011", "closed-procedure"))
    page_url = reverse("counter:page", args=[application_id, "only"])
    response = hanako_client.post(page_url, {"f-nickname": "たろう", "action": "continue"})
    assert response["Location"] == reverse("counter:check", args=[application_id])
    _close_now(procedure)

    check_url = reverse("counter:check", args=[application_id])
    check = hanako_client.get(check_url).content.decode()
    assert "で締め切りました。次回の受付をお待ちください。" in check
    assert "この内容で申請する" not in check
    with django_capture_on_commit_callbacks(execute=True):
        refused = hanako_client.post(check_url)
    assert refused.status_code == 422
    assert "で締め切りました。" in refused.content.decode()
    application = Application.objects.get(pk=application_id)
    assert application.state == State.DRAFT and application.receipt_number is None
    assert mail.outbox == []

    # Changing an answer is refused too, and what was typed comes back on the page.
    changed = hanako_client.post(page_url, {"f-nickname": "じろう", "action": "continue"})
    assert changed.status_code == 409
    assert "で締め切りました。" in changed.content.decode()
    assert form_values(changed)["f-nickname"] == "じろう"
    assert Application.objects.get(pk=application_id).answers["nickname"] == "たろう"
    # The draft is still listed and can be deleted.
    assert application_id in hanako_client.get(reverse("counter:my_applications")).content.decode()


def test_highschool_window_by_the_services_clock(hanako):
    procedure = procedure_by_identifier("990001", "highschool-web-application")
    before = dt.datetime(2026, 10, 31, 12, tzinfo=JST)
    with pytest.raises(services.ProcedureClosed) as refused:
        services.start_application(procedure=procedure, applicant=hanako, now=before)
    assert refused.value.ja == "受付は2026年11月1日 09:00からです。"

    draft = services.start_application(
        procedure=procedure, applicant=hanako, now=dt.datetime(2026, 11, 2, 9, tzinfo=JST)
    )
    after = dt.datetime(2027, 2, 10, 17, tzinfo=JST)  # the closing minute itself is closed
    with pytest.raises(services.ProcedureClosed) as refused:
        services.submit_application(
            application=draft, actor=hanako, identity_level="account", now=after
        )
    assert refused.value.ja == (
        "受付は2027年2月10日 17:00で締め切りました。"
        "出願期間外の出願はできません。在籍（出身）中学校にご相談ください。"
    )
    assert refused.value.en == (
        "Applications closed at 2027-02-10 17:00. Applications cannot be made outside the "
        "application period. Please ask your junior high school."
    )
    draft.refresh_from_db()
    assert draft.state == State.DRAFT and draft.receipt_number is None
