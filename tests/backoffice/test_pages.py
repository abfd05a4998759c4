"""The staff pages: each unit sees its own applications, the page of one application
shows what was submitted and what can be done now, and a refused action says why where
it was typed (never a 500, nothing lost)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from madoguchi.counter.models import Application, State
from madoguchi.identity.models import User
from madoguchi.ledger.models import Event

from ..conftest import login
from ..counter.helpers import (
    DOG_PAGES,
    application_id_from,
    fill_dog_registration,
    fill_juminhyo,
    fill_pages,
    fill_parking,
    start,
    submit,
)
from ..counter.uploads import png, upload

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
    response = staff.get(reverse("backoffice:queue") + "?state=all")
    assert response.status_code == 200
    expected = {str(applications[key].pk) for key in visible}
    assert _listed(response) == expected
    for key, application in applications.items():
        status = staff.get(reverse("backoffice:detail", args=[application.pk])).status_code
        assert status == (200 if key in visible else 404), key


def test_residents_have_no_staff_view(hanako_client):
    assert hanako_client.get(reverse("backoffice:home")).status_code == 404
    assert hanako_client.get(reverse("backoffice:queue")).status_code == 404


def test_state_filter_and_counts(applications, kankyo_staff):
    staff = login(kankyo_staff)
    response = staff.get(reverse("backoffice:queue") + "?state=submitted")
    assert _listed(response) == {str(applications["dog"].pk)}
    home = staff.get(reverse("backoffice:home")).content.decode()
    assert re.search(r"受付済み</a><strong>1</strong>", home)
    assert _listed(staff.get(reverse("backoffice:queue") + "?state=approved")) == set()
    # A bad filter is explained (422) with the first page of the unit, never a 500.
    response = staff.get(reverse("backoffice:queue") + "?state=<x>&page=abc&due_to=明日")
    assert response.status_code == 422
    body = response.content.decode()
    assert "状態の指定が正しくありません。" in body and "日付は 2026-12-01 の形式" in body
    assert 'href="#q-state"' in body  # the error summary links to the input
    assert _listed(response) == {str(applications["dog"].pk)}


def test_detail_shows_the_answers_in_wareki_and_the_fee(applications, kankyo_staff):
    body = login(kankyo_staff).get(reverse("backoffice:detail", args=[applications["dog"].pk]))
    text = body.content.decode()
    assert "令和5年4月1日" in text and "手数料 3,000円" in text
    assert applications["dog"].receipt_number in text
    assert "審査を始める" in text and "決裁に回す" not in text
    assert "標準処理期間 7日（開庁日）" in text


def _act(client, application, action, **extra):
    return client.post(
        reverse("backoffice:act", args=[application.pk]), {"action": action, **extra}
    )


@pytest.mark.parametrize(
    "action", ["approve", "reject", "submit", "withdraw", "resubmit", "request_correction", "x", ""]
)
def test_actions_that_do_not_apply_are_refused(applications, kankyo_staff, action):
    application = applications["dog"]
    response = _act(login(kankyo_staff), application, action, comment="理由")
    assert response.status_code == 409
    assert "この操作はできません。" in response.content.decode()
    after = Application.objects.get(pk=application.pk)
    assert after.state == State.SUBMITTED and after.lock_version == application.lock_version
    assert not Event.objects.filter(event_type=f"application.{action}").exists()


def test_a_stale_page_is_refused(applications, kankyo_staff):
    application = applications["dog"]
    first_tab, second_tab = login(kankyo_staff), login(kankyo_staff)
    url = reverse("backoffice:detail", args=[application.pk])
    version = re.search(r'name="lock_version" value="(\d+)"', first_tab.get(url).content.decode())[
        1
    ]
    assert version == str(application.lock_version)
    second_tab.get(url)
    response = _act(first_tab, application, "start_review", lock_version=version)
    assert response.status_code == 302
    # The second tab still shows the page from before: its action is refused, and what
    # was typed there comes back.
    response = second_tab.post(
        reverse("backoffice:request_correction", args=[application.pk]),
        {
            "fields": ["dog_name"],
            "message": "名前の字をご確認ください。",
            "reply_by": "2099-01-01",
            "lock_version": version,
        },
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "他の職員が先にこの申請を更新しました。画面を開き直してから操作してください。" in body
    assert ">名前の字をご確認ください。</textarea>" in body
    assert Application.objects.get(pk=application.pk).state == State.UNDER_REVIEW


def test_staff_messages_need_text(applications, kankyo_staff):
    staff = login(kankyo_staff)
    response = staff.post(
        reverse("backoffice:post_message", args=[applications["dog"].pk]), {"body": ""}
    )
    assert response.status_code == 409
    assert "メッセージを入力してください。" in response.content.decode()
    assert not applications["dog"].messages.exists()


def test_control_characters_are_refused_never_a_500(applications, kankyo_staff, hanako):
    """PostgreSQL cannot store a NUL: refused with a message wherever text is written."""
    application = applications["dog"]
    staff = login(kankyo_staff)
    message = "使用できない制御文字が含まれています。"
    for url, data in (
        (reverse("backoffice:post_message", args=[application.pk]), {"body": "a\x00b"}),
        (reverse("backoffice:add_note", args=[application.pk]), {"body": "a\x00b"}),
        (
            reverse("backoffice:request_correction", args=[application.pk]),
            {"fields": ["dog_name"], "message": "a\x00b", "reply_by": "2099-01-01"},
        ),
    ):
        response = staff.post(url, data)
        assert response.status_code == 409, url
        assert message in response.content.decode(), url
    resident = login(hanako)
    response = resident.post(reverse("counter:withdraw", args=[application.pk]), {"reason": "\x00"})
    assert message in resident.get(response["Location"]).content.decode()
    application.refresh_from_db()
    assert application.state == State.SUBMITTED and not application.messages.exists()
    assert not application.internal_notes.exists()


def test_staff_notes_are_never_shown_to_the_resident(hanako, kankyo_staff):
    from madoguchi.backoffice import services
    from madoguchi.identity.models import ApiToken

    from .conftest import submit_dog

    application = submit_dog(hanako)
    services.add_note(
        application=application, staff=kankyo_staff, body="電話で本人確認済み（内部）"
    )
    staff_page = login(kankyo_staff).get(reverse("backoffice:detail", args=[application.pk]))
    assert "電話で本人確認済み（内部）" in staff_page.content.decode()
    resident = login(hanako)
    for url in (
        reverse("counter:detail", args=[application.pk]),
        reverse("counter:my_applications"),
    ):
        assert "電話で本人確認済み" not in resident.get(url).content.decode()
    _token, raw = ApiToken.issue(user=hanako, name="t")
    body = resident.get(
        f"/api/applications/{application.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}"
    ).content.decode()
    assert "電話で本人確認済み" not in body and "note_added" not in body
    assert not [m for m in mail.outbox if "電話で本人確認済み" in m.body]
