"""Every staff view that opens a person's application, attachment or profile writes the
access log the resident reads; My Number is shown only with a purpose."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.counter.models import Application
from madoguchi.identity.models import ApiToken, User
from madoguchi.ledger.models import AccessLog

from ..api.payloads import MY_NUMBER
from ..conftest import login
from ..counter.helpers import fill_parking, submit
from ..counter.uploads import pdf, upload
from .conftest import submit_dog, submit_simple

pytestmark = pytest.mark.django_db


def test_opening_an_application_and_its_file_is_logged(hanako, kankyo_staff):
    application = submit_dog(hanako)
    client = login(kankyo_staff)
    client.get(reverse("backoffice:detail", args=[application.pk]))
    log = AccessLog.objects.get(subject_user=hanako, what="application")
    assert (log.actor, log.unit, log.object_id) == (
        kankyo_staff,
        application.unit,
        str(application.pk),
    )
    assert log.purpose == "review"
    # An attachment (the parking permit's, opened by its unit's staff) and its pages. The
    # permit's evidence is special personal data: opened with a purpose, which is logged.
    resident = login(hanako)
    parking = fill_parking(resident, [upload("手帳.pdf", pdf())])
    submit(resident, parking)
    staff = login(User.objects.get(email="fukushi.tanto@sakura.example.jp"))
    file_id = Application.objects.get(pk=parking).answers["evidence_files"][0]["id"]
    url = reverse("backoffice:file", args=[parking, file_id])
    assert staff.get(url).status_code == 422
    # Like a My Number: the second factor again when it was used long ago.
    assert staff.get(url, {"purpose": "review"})["Location"].startswith(
        reverse("identity:reauthenticate")
    )
    page_url = reverse("backoffice:file_preview", args=[parking, file_id, 1])
    assert staff.get(page_url, {"purpose": "review"}).status_code == 403
    assert not AccessLog.objects.filter(what="attachment", object_id=file_id).exists()
    staff = _recently_authenticated(staff)
    response = staff.get(url, {"purpose": "review"})
    assert response.status_code == 200
    log = AccessLog.objects.get(what="attachment", object_id=file_id)
    assert (log.purpose, log.actor.email) == ("review", "fukushi.tanto@sakura.example.jp")
    assert staff.get(page_url).status_code == 422
    preview = staff.get(page_url, {"purpose": "review"})
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")
    assert AccessLog.objects.filter(what="attachment", object_id=file_id).count() == 2
    assert (
        staff.get(
            reverse("backoffice:file_preview", args=[parking, file_id, 9]), {"purpose": "review"}
        ).status_code
        == 404
    )


def test_the_api_logs_its_reads_too(hanako, kankyo_staff):
    application = submit_dog(hanako)
    _token, raw = ApiToken.issue(user=kankyo_staff, name="t")
    response = Client().get(
        f"/api/staff/applications/{application.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200
    assert AccessLog.objects.filter(subject_user=hanako, what="application").count() == 1


def _recently_authenticated(client: Client) -> Client:
    """As just after a log-in with the second factor (what allauth records)."""
    session = client.session
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time()}]
    session["account_authentication_methods_user"] = session["_auth_user_id"]
    session.save()
    return client


def _handler(staff, application):
    """The role that may see My Numbers and special personal data, in the unit."""
    from madoguchi.organisation import services as organisation

    organisation.grant_role(
        actor=None, user=staff, unit=application.unit, role="personal_data_handler"
    )
    return staff


def test_my_number_needs_a_purpose(simple_procedure, hanako, kankyo_staff, shimin_staff):
    application = submit_simple(hanako, owner_number=MY_NUMBER)
    client = _recently_authenticated(login(_handler(kankyo_staff, application)))
    page = client.get(reverse("backoffice:detail", args=[application.pk])).content.decode()
    assert MY_NUMBER not in page and "********" + MY_NUMBER[-4:] in page
    url = reverse("backoffice:my_number", args=[application.pk])
    response = client.post(url, {"field": "owner_number", "purpose": ""})
    assert response.status_code == 422
    assert "マイナンバーを表示するには利用目的を選んでください。" in response.content.decode()
    assert MY_NUMBER not in response.content.decode()
    assert not AccessLog.objects.filter(what="my_number").exists()
    response = client.post(url, {"field": "owner_number", "purpose": "review"})
    assert response.status_code == 200 and MY_NUMBER in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    log = AccessLog.objects.get(what="my_number")
    assert (log.subject_user, log.purpose) == (hanako, "review")
    # Another unit: as if it did not exist.
    assert (
        _recently_authenticated(login(shimin_staff))
        .post(url, {"field": "owner_number", "purpose": "review"})
        .status_code
        == 404
    )
    # Not a My Number field: refused, nothing shown.
    response = client.post(url, {"field": "site", "purpose": "review"})
    assert response.status_code == 409


def test_my_number_needs_the_second_factor_again_after_a_while(
    simple_procedure, hanako, kankyo_staff
):
    from madoguchi.identity.services import totp_code
    from madoguchi.sample.data import DEMO_TOTP_SECRET

    application = submit_simple(hanako, owner_number=MY_NUMBER)
    # Logged in long ago, as far as the session knows.
    client = login(_handler(kankyo_staff, application))
    url = reverse("backoffice:my_number", args=[application.pk])
    response = client.post(url, {"field": "owner_number", "purpose": "review"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:reauthenticate"))
    assert not AccessLog.objects.filter(what="my_number").exists()
    # A password alone is not offered to staff, who have a second factor.
    page = client.get(response["Location"]).content.decode()
    assert "認証アプリのコード" in page and "パスワードで確認する" not in page
    # With the code, the suspended request (the purpose chosen) is carried out.
    response = client.post(
        reverse("mfa_reauthenticate") + "?next=" + url,
        {"code": totp_code(DEMO_TOTP_SECRET)},
        follow=True,
    )
    assert MY_NUMBER in response.content.decode()
    log = AccessLog.objects.get(what="my_number")
    assert (log.actor, log.purpose) == (kankyo_staff, "review")


def submit_for_taro(hanako, capture_on_commit):
    """A 住民票の写し that Hanako (法定代理人) applies for on behalf of Taro, who has an
    account and may see it."""
    from ..counter.helpers import JUMINHYO_PAGES, application_id_from, fill_pages, start

    client = login(hanako, level="mynumber_card")
    subject = {
        "role": "legal_representative",
        "subject_family": "佐藤",
        "subject_given": "太郎",
        "subject_birth_year": "平成2",
        "subject_birth_month": "1",
        "subject_birth_day": "15",
        "subject_email": "taro@example.jp",
    }
    application_id = application_id_from(start(client, "992011", "juminhyo-copy", subject))
    fill_pages(client, application_id, JUMINHYO_PAGES)
    with capture_on_commit(execute=True):
        submit(client, application_id)
    return Application.objects.get(pk=application_id)


def assert_both_see(application, people, purposes: list[str]) -> None:
    """Each person has an access log row (and its ledger event) per purpose, and sees
    them on their account's access history page."""
    from madoguchi.ledger.models import AccessPurpose, Event

    for person in people:
        logs = AccessLog.objects.filter(subject_user=person).order_by("at", "id")
        assert [(log.what, log.purpose) for log in logs] == [
            ("application", purpose) for purpose in purposes
        ]
        assert {log.object_id for log in logs} == {str(application.pk)}
        events = Event.objects.filter(
            event_type="access.logged", subject_type="person", subject_id=str(person.pk)
        )
        assert events.count() == len(purposes)
        page = login(person).get(reverse("access_log:mine")).content.decode()
        for purpose in purposes:
            assert str(AccessPurpose(purpose).label) in page
        assert reverse("counter:detail", args=[application.pk]) in page


def test_an_application_made_for_someone_else_is_their_data_too(
    hanako, taro, taro_client, shimin_staff, kankyo_staff, django_capture_on_commit_callbacks
):
    """法定代理人: the applicant and the person the application is about both see staff
    opening it."""
    application = submit_for_taro(hanako, django_capture_on_commit_callbacks)
    assert application.subject_user_id == taro.pk
    url = reverse("backoffice:detail", args=[application.pk])
    # Another department's staff are refused, and nothing is logged.
    assert login(kankyo_staff).get(url).status_code == 404
    assert not AccessLog.objects.exists()
    assert login(shimin_staff).get(url).status_code == 200
    assert_both_see(application, [hanako, taro], ["review"])
    # The person it is about opens the application from there (read only).
    assert taro_client.get(reverse("counter:detail", args=[application.pk])).status_code == 200
