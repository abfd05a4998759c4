"""The account page: linked log-ins, sessions (and signing out the others), the download
of the person's data, and account deletion that keeps what the law requires."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.counter.models import Application, Message, State
from madoguchi.identity import levels
from madoguchi.identity.models import IdentityLink, ResidentProfile, User
from madoguchi.ledger.models import Event

from ..conftest import PASSWORD, login
from ..counter.helpers import fill_dog_registration, submit

pytestmark = pytest.mark.django_db


def password_login(email: str) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def recently_authenticated(client: Client) -> None:
    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": time.time()}]
    session["account_authentication_methods_user"] = session["_auth_user_id"]
    session.save()


def test_the_account_page_shows_how_the_person_logs_in(oidc, hanako):
    IdentityLink.objects.create(user=hanako, provider="card", issuer=oidc, subject="card-hanako")
    body = login(hanako).get(reverse("identity:account")).content.decode()
    assert "hanako@example.jp" in body
    assert "マイナンバーカード（デジタル認証アプリ）" in body and "連携を解除する" in body
    assert "テストのIdPを連携する" in body  # a provider not linked yet
    assert reverse("usersessions_list") in body
    assert reverse("identity:my_data") in body and reverse("identity:delete_account") in body
    assert reverse("access_log:mine") in body


def test_unlinking_needs_a_recent_authentication_and_continues_after_it(oidc, hanako):
    link = IdentityLink.objects.create(
        user=hanako, provider="card", issuer=oidc, subject="card-hanako"
    )
    client = login(hanako)  # a session from long ago
    response = client.post(reverse("identity:unlink", args=[link.pk]))
    assert response["Location"].startswith(reverse("identity:reauthenticate"))
    assert IdentityLink.objects.filter(pk=link.pk).exists()
    page = client.get(response["Location"]).content.decode()
    assert "パスワードで確認する" in page
    # The password, then the suspended request is carried out.
    next_url = reverse("identity:unlink", args=[link.pk])
    response = client.post(
        reverse("account_reauthenticate") + "?next=" + next_url,
        {"password": PASSWORD, "next": next_url},
    )
    assert not IdentityLink.objects.filter(pk=link.pk).exists()
    assert Event.objects.filter(event_type="identity.unlinked").exists()


def test_the_only_way_to_log_in_cannot_be_unlinked(oidc, sample):
    user = User.objects.create_user(email="card-only@example.jp", password=None)
    link = IdentityLink.objects.create(user=user, provider="card", issuer=oidc, subject="x")
    client = login(user)
    recently_authenticated(client)
    client.post(reverse("identity:unlink", args=[link.pk]))
    assert IdentityLink.objects.filter(pk=link.pk).exists()
    page = client.get(reverse("identity:account")).content.decode()
    assert "ログインする方法がなくなります" in page


def test_someone_elses_link_cannot_be_removed(oidc, hanako, taro):
    link = IdentityLink.objects.create(user=taro, provider="card", issuer=oidc, subject="t")
    client = login(hanako)
    recently_authenticated(client)
    client.post(reverse("identity:unlink", args=[link.pk]))
    assert IdentityLink.objects.filter(pk=link.pk).exists()


def test_sessions_are_listed_and_the_others_can_be_signed_out(hanako):
    phone = password_login(hanako.email)
    laptop = password_login(hanako.email)
    page = laptop.get(reverse("usersessions_list"))
    assert page.status_code == 200
    assert page.context["session_count"] == 2
    # A step-up changes the session key; the list follows it.
    laptop.post(reverse("identity:step_up"), {"next": "/applications/"})
    assert laptop.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD
    assert laptop.get(reverse("usersessions_list")).context["session_count"] == 2

    response = laptop.post(reverse("usersessions_list"), {"action": "logout"})
    assert response.status_code == 302
    assert "_auth_user_id" in laptop.session
    assert phone.get(reverse("counter:my_applications")).status_code == 302  # to the log-in
    assert laptop.get(reverse("counter:my_applications")).status_code == 200


@pytest.fixture
def hanako_with_history(hanako, hanako_client, kankyo_staff, django_capture_on_commit_callbacks):
    submitted = fill_dog_registration(hanako_client)
    with django_capture_on_commit_callbacks(execute=True):
        submit(hanako_client, submitted)
    draft = fill_dog_registration(hanako_client)
    application = Application.objects.get(pk=submitted)
    Message.objects.create(
        application=application, author=kankyo_staff, from_staff=True, body="=HYPERLINK(1)"
    )
    from madoguchi.ledger.services import log_access

    log_access(
        actor=kankyo_staff,
        unit=application.unit,
        subject_user=hanako,
        what="application",
        object_type="application",
        object_id=application.pk,
    )
    return {"submitted": application, "draft": Application.objects.get(pk=draft)}


def test_my_data_as_json(hanako_with_history, hanako_client, taro_client):
    response = hanako_client.get(reverse("identity:my_data_json"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="my-data.json"'
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["account"]["email"] == "hanako@example.jp"
    assert {row["item"] for row in data["profile"]} >= {"family_name", "birth_date"}
    receipts = [row["receipt_number"] for row in data["applications"]]
    assert hanako_with_history["submitted"].receipt_number in receipts
    assert len(data["applications"]) == 2  # the draft too
    assert data["messages"][0]["from"] == "staff"
    assert data["access_log"][0]["unit"] == hanako_with_history["submitted"].unit.name
    # Someone else downloads only their own.
    other = json.loads(taro_client.get(reverse("identity:my_data_json")).content)
    assert other["applications"] == [] and other["account"]["email"] == "taro@example.jp"


def test_my_data_as_csv(hanako_with_history, hanako_client):
    for name in ("applications", "messages", "access_log", "profile", "logins"):
        response = hanako_client.get(reverse("identity:my_data_csv", args=[name]))
        assert response.status_code == 200, name
        text = response.content.decode("utf-8")
        assert text.startswith("\ufeff"), name  # spreadsheet software reads UTF-8
        rows = list(csv.reader(io.StringIO(text[1:])))
        assert len(rows) >= 2, name
    messages = list(
        csv.DictReader(
            io.StringIO(
                hanako_client.get(reverse("identity:my_data_csv", args=["messages"]))
                .content.decode()
                .lstrip("\ufeff")
            )
        )
    )
    # A value a spreadsheet would run as a formula is written as text.
    assert messages[0]["body"] == "'=HYPERLINK(1)"
    assert hanako_client.get("/account/data/unknown.csv").status_code == 404


def test_my_number_is_masked_in_the_download(hanako, hanako_client):
    from madoguchi.core.crypto import encrypt_text

    application_id = fill_dog_registration(hanako_client)
    Application.objects.filter(pk=application_id).update(
        answers={"my_number": {"ciphertext": encrypt_text("123456789018"), "last4": "9018"}}
    )
    text = hanako_client.get(reverse("identity:my_data_json")).content.decode()
    assert "********9018" in text and "gAAAAA" not in text and "123456789018" not in text


def test_account_deletion_keeps_what_the_law_requires_and_says_so(
    hanako_with_history, hanako, hanako_client
):
    other_session = password_login(hanako.email)
    page = hanako_client.get(reverse("identity:delete_account")).content.decode()
    submitted = hanako_with_history["submitted"]
    assert f"受付番号 {submitted.receipt_number}" in page
    assert "保存期間（" in page and "が終わるまで保存され" in page

    recently_authenticated(hanako_client)
    refused = hanako_client.post(reverse("identity:delete_account"), {})
    assert refused.status_code == 422
    assert "チェックを入れてください" in refused.content.decode()
    assert User.objects.get(pk=hanako.pk).is_active

    response = hanako_client.post(reverse("identity:delete_account"), {"confirm": "yes"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "アカウントを削除しました" in body and submitted.receipt_number in body
    user = User.objects.get(pk=hanako.pk)
    assert not user.is_active and user.deleted_at is not None
    assert user.email == f"deleted-{user.pk}@deleted.invalid" and user.display_name == ""
    assert not user.has_usable_password()
    assert not ResidentProfile.objects.filter(user=user).exists()
    # The submitted application stays (retention); the draft is gone.
    assert Application.objects.filter(pk=submitted.pk).exists()
    assert not Application.objects.filter(pk=hanako_with_history["draft"].pk).exists()
    assert Application.objects.get(pk=submitted.pk).state != State.DRAFT
    event = Event.objects.get(event_type="account.deleted")
    assert event.details["kept"] == 1
    assert "hanako" not in json.dumps(event.details)
    # Logged out here and everywhere; the old password no longer works.
    assert "_auth_user_id" not in hanako_client.session
    assert other_session.get(reverse("counter:my_applications")).status_code == 302
    again = Client().post(
        reverse("account_login"), {"login": "hanako@example.jp", "password": PASSWORD}
    )
    assert "_auth_user_id" not in again.wsgi_request.session


def test_deleting_an_account_needs_a_recent_authentication(hanako, hanako_client):
    response = hanako_client.post(reverse("identity:delete_account"), {"confirm": "yes"})
    assert response["Location"].startswith(reverse("identity:reauthenticate"))
    assert User.objects.get(pk=hanako.pk).is_active


def test_staff_accounts_are_not_deleted_by_their_holder(kankyo_staff):
    client = login(kankyo_staff)
    recently_authenticated(client)
    assert "所属の管理者が" in client.get(reverse("identity:delete_account")).content.decode()
    client.post(reverse("identity:delete_account"), {"confirm": "yes"})
    assert User.objects.get(pk=kankyo_staff.pk).is_active


def test_log_out_is_a_post_only(hanako):
    """A link or an image on another site cannot log a person out (GET shows a form)."""
    client = login(hanako, level=levels.ACCOUNT)
    page = client.get(reverse("account_logout"))
    assert page.status_code == 200 and "_auth_user_id" in client.session
    assert client.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in client.session
