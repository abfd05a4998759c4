"""The minimal staff view: only the applications of the staff member's units, and state
transitions that are refused with a message when they do not apply."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from madoguchi.counter.models import Application, State
from madoguchi.identity.models import User
from madoguchi.ledger.models import Event

from ..conftest import login
from .helpers import (
    DOG_PAGES,
    application_id_from,
    fill_dog_registration,
    fill_juminhyo,
    fill_pages,
    fill_parking,
    start,
    submit,
)
from .uploads import png, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def applications(hanako, django_capture_on_commit_callbacks):
    client = login(hanako, level="mynumber_card")
    ids = {
        "dog": fill_dog_registration(client),
        "juminhyo": fill_juminhyo(client),
        "parking": fill_parking(client, [upload("a.png", png(100, 100))]),
    }
    ids["minato_dog"] = application_id_from(start(client, "993417", "dog-registration"))
    fill_pages(client, ids["minato_dog"], DOG_PAGES)
    with django_capture_on_commit_callbacks(execute=True):
        for application_id in ids.values():
            submit(client, application_id)
    ids["draft"] = application_id_from(start(client, "992011", "dog-registration"))
    mail.outbox.clear()
    return {key: Application.objects.get(pk=value) for key, value in ids.items()}


def _listed(response) -> set[str]:
    return set(re.findall(r"/staff/applications/([0-9a-f-]{36})/", response.content.decode()))


@pytest.mark.parametrize(
    ("email", "visible"),
    [
        ("kankyo.tanto@aoba.example.jp", {"dog"}),
        ("shimin.tanto@aoba.example.jp", {"juminhyo"}),
        ("shimin.kakaricho@aoba.example.jp", set()),  # 証明係: below 市民課, not above it
        ("fukushi.tanto@sakura.example.jp", {"parking"}),
        ("koko.tanto@sakura.example.jp", set()),
        ("chomin.tanto@minato.example.jp", {"minato_dog"}),
    ],
)
def test_staff_see_only_their_units(applications, email, visible):
    staff = login(User.objects.get(email=email))
    response = staff.get(reverse("backoffice:home"))
    assert response.status_code == 200
    expected = {str(applications[key].pk) for key in visible}
    assert _listed(response) == expected
    for key, application in applications.items():
        status = staff.get(reverse("backoffice:detail", args=[application.pk])).status_code
        assert status == (200 if key in visible else 404), key


def test_residents_have_no_staff_view(hanako_client):
    assert hanako_client.get(reverse("backoffice:home")).status_code == 404


def test_state_filter_and_counts(applications, kankyo_staff):
    staff = login(kankyo_staff)
    response = staff.get(reverse("backoffice:home") + "?state=submitted")
    assert _listed(response) == {str(applications["dog"].pk)}
    assert "受付済み（1）" in response.content.decode()
    assert _listed(staff.get(reverse("backoffice:home") + "?state=approved")) == set()
    # An unknown state is ignored rather than failing.
    assert _listed(staff.get(reverse("backoffice:home") + "?state=<x>&page=abc")) == {
        str(applications["dog"].pk)
    }


def test_detail_shows_the_answers_in_wareki_and_the_fee(applications, kankyo_staff):
    body = login(kankyo_staff).get(reverse("backoffice:detail", args=[applications["dog"].pk]))
    text = body.content.decode()
    assert "令和5年4月1日" in text and "手数料 3000円" in text
    assert applications["dog"].receipt_number in text
    assert "審査を始める" in text and "承認する" not in text


def _act(client, application, action, **extra):
    response = client.post(
        reverse("backoffice:act", args=[application.pk]), {"action": action, **extra}
    )
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("approve", "この状態の申請にはこの操作はできません。"),
        ("reject", "この状態の申請にはこの操作はできません。"),
        ("submit", "この操作はできません。"),
        ("withdraw", "この操作はできません。"),
        ("resubmit", "この操作はできません。"),
        ("request_correction", "この操作はできません。"),
        ("explode", "この操作はできません。"),
        ("", "この操作はできません。"),
    ],
)
def test_transitions_that_do_not_apply_are_refused(applications, kankyo_staff, action, message):
    application = applications["dog"]
    page = _act(login(kankyo_staff), application, action, comment="理由")
    assert message in page
    after = Application.objects.get(pk=application.pk)
    assert after.state == State.SUBMITTED and after.lock_version == application.lock_version
    assert not Event.objects.filter(event_type=f"application.{action}").exists()


def test_review_and_decision(applications, kankyo_staff, django_capture_on_commit_callbacks):
    application = applications["dog"]
    staff = login(kankyo_staff)
    with django_capture_on_commit_callbacks(execute=True):
        page = _act(staff, application, "start_review")
    assert "操作を記録しました。" in page and "承認する" in page and "不承認にする" in page
    assert Application.objects.get(pk=application.pk).state == State.UNDER_REVIEW
    assert _act(staff, application, "start_review").count(
        "この状態の申請にはこの操作はできません。"
    )
    assert "不承認の理由を入力してください。" in _act(staff, application, "reject", comment=" ")
    with django_capture_on_commit_callbacks(execute=True):
        _act(staff, application, "approve", comment="鑑札を郵送します。")
    application.refresh_from_db()
    assert application.state == State.APPROVED and application.decided_at is not None
    assert [m.template for m in _outbox()] == ["status_changed", "decision_made"]
    assert "この状態の申請にはこの操作はできません。" in _act(
        staff, application, "reject", comment="x"
    )
    assert Application.objects.get(pk=application.pk).state == State.APPROVED
    resident = login(application.applicant).get(reverse("counter:detail", args=[application.pk]))
    assert "鑑札を郵送します。" in resident.content.decode()


def _outbox():
    from madoguchi.notifications.models import OutboundEmail

    return OutboundEmail.objects.exclude(template="application_submitted").order_by("pk")


def test_a_stale_page_is_refused(applications, kankyo_staff):
    application = applications["dog"]
    first_tab, second_tab = login(kankyo_staff), login(kankyo_staff)
    url = reverse("backoffice:detail", args=[application.pk])
    version = re.search(r'name="lock_version" value="(\d+)"', first_tab.get(url).content.decode())[
        1
    ]
    assert version == str(application.lock_version)
    second_tab.get(url)
    assert "操作を記録しました。" in _act(
        first_tab, application, "start_review", lock_version=version
    )
    # The second tab still shows the page from before: its action is refused.
    page = _act(second_tab, application, "approve", lock_version=version)
    assert "他の職員が先にこの申請を更新しました。画面を開き直してから操作してください。" in page
    assert Application.objects.get(pk=application.pk).state == State.UNDER_REVIEW
    # With the current version it goes through; a version that is not a number is ignored.
    current = re.search(r'name="lock_version" value="(\d+)"', second_tab.get(url).content.decode())[
        1
    ]
    assert current != version
    _act(second_tab, application, "approve", lock_version=current)
    assert Application.objects.get(pk=application.pk).state == State.APPROVED
    assert "この状態の申請にはこの操作はできません。" in _act(
        second_tab, application, "reject", lock_version="not-a-number", comment="x"
    )


def test_staff_messages_need_text(applications, kankyo_staff):
    staff = login(kankyo_staff)
    response = staff.post(
        reverse("backoffice:post_message", args=[applications["dog"].pk]), {"body": ""}
    )
    assert "メッセージを入力してください。" in staff.get(response["Location"]).content.decode()
    assert not applications["dog"].messages.exists()


def test_control_characters_are_refused_never_a_500(applications, kankyo_staff, hanako):
    """PostgreSQL cannot store a NUL: refused with a message wherever text is written."""
    application = applications["dog"]
    staff = login(kankyo_staff)
    message = "使用できない制御文字が含まれています。"
    for url, data in (
        (reverse("backoffice:post_message", args=[application.pk]), {"body": "a\x00b"}),
        (
            reverse("backoffice:act", args=[application.pk]),
            {"action": "start_review", "comment": "a\x00"},
        ),
        (
            reverse("backoffice:request_correction", args=[application.pk]),
            {"fields": ["dog_name"], "message": "a\x00b"},
        ),
    ):
        response = staff.post(url, data)
        assert response.status_code == 302
        assert message in staff.get(response["Location"]).content.decode(), url
    resident = login(hanako)
    response = resident.post(reverse("counter:withdraw", args=[application.pk]), {"reason": "\x00"})
    assert message in resident.get(response["Location"]).content.decode()
    application.refresh_from_db()
    assert application.state == State.SUBMITTED and not application.messages.exists()
