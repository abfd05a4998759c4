"""Log-in with My Number Card (the Digital Agency's profile) and a generic IdP, end to end
against a real OpenID Connect provider on loopback."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.identity import levels
from madoguchi.identity.models import IdentityLink, ResidentProfile, User
from madoguchi.ledger.models import Event

from ..conftest import PASSWORD, login
from .oidc import log_in_at_provider, path_of

pytestmark = pytest.mark.django_db


def start(client: Client, name: str, *, intent: str = "login", next_url: str = "") -> str:
    """Starts a flow as the log-in page's button does; returns the authorization URL."""
    data = {"intent": intent}
    if next_url:
        data["next"] = next_url
    response = client.post(reverse("identity:oidc_start", args=[name]), data)
    assert response.status_code == 302, response.content.decode()[:1000]
    return response["Location"]


def card_log_in(client: Client, account: str, *, name: str = "card", **kwargs):
    authorization = start(client, name, **kwargs)
    back = log_in_at_provider(authorization, account)
    return client.get(path_of(back))


def test_the_authorization_request_has_pkce_state_nonce_and_the_card_profile(oidc):
    client = Client()
    query = parse_qs(urlsplit(start(client, "card")).query)
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["openid name address birthdate gender"]
    assert query["acr_values"] == ["aal3"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == ["http://testserver/account/oidc/card/callback/"]
    # The verifier stays in the session; only its hash went to the provider.
    flow = client.session["madoguchi_oidc_flows"][query["state"][0]]
    assert flow["verifier"] not in query["code_challenge"][0]


def test_first_card_log_in_creates_an_account_with_verified_values(oidc, sample):
    client = Client()
    response = card_log_in(client, "card-ichiro")
    assert response.status_code == 302 and response["Location"] == reverse("identity:oidc_link")
    page = client.get(response["Location"]).content.decode()
    assert "まだどのアカウントとも連携していません" in page
    assert "_auth_user_id" not in client.session  # not logged in before choosing

    response = client.post(reverse("identity:oidc_signup"), {"email": "ichiro@example.jp"})
    assert response.status_code == 302
    user = User.objects.get(email="ichiro@example.jp")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD
    link = IdentityLink.objects.get(user=user)
    assert (link.provider, link.issuer) == ("card", oidc)
    profile = ResidentProfile.objects.get(user=user)
    assert (profile.family_name, profile.given_name) == ("鈴木", "一郎")
    assert profile.birth_date == dt.date(1990, 1, 15) and profile.sex == "male"
    assert (profile.prefecture, profile.city, profile.street) == ("東京都", "千代田区", "千代田1-1")
    assert profile.sources["birth_date"]["verified"] is True
    assert profile.sources["birth_date"]["provider"] == "card"
    assert not user.has_usable_password()
    assert {"account.created", "identity.linked"} <= set(
        Event.objects.filter(subject_id=str(user.pk)).values_list("event_type", flat=True)
    )
    # The resident sees where each value came from.
    shown = client.get(reverse("identity:profile")).content.decode()
    assert "マイナンバーカード（デジタル認証アプリ）で確認済み" in shown


def test_first_card_log_in_links_an_existing_account_only_after_its_password(
    oidc, hanako, settings
):
    client = Client()
    response = card_log_in(client, "card-hanako")
    assert response["Location"] == reverse("identity:oidc_link")
    # Going straight to the confirmation without logging in to the account does nothing.
    confirm = reverse("identity:oidc_link_confirm")
    assert client.post(confirm)["Location"].startswith(reverse("account_login"))
    assert not IdentityLink.objects.exists()

    response = client.post(
        reverse("account_login") + "?next=" + confirm,
        {"login": hanako.email, "password": PASSWORD, "next": confirm},
    )
    assert response.status_code == 302 and response["Location"] == confirm
    assert "連携しますか" in client.get(confirm).content.decode()
    response = client.post(confirm)
    assert response.status_code == 302
    assert IdentityLink.objects.get().user == hanako
    assert client.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD

    # From now on the card alone logs in to that account.
    other = Client()
    response = card_log_in(other, "card-hanako")
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(hanako.pk)
    assert other.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD


def test_a_session_logged_in_before_the_card_cannot_link_it(oidc, hanako, taro):
    """Someone logged in as taro on a shared computer: a card log-in that follows is not
    linked to taro's account without taro's password being entered after it."""
    client = login(taro)
    # intent=login while logged in is a step-up for the current account: linked to taro
    # is what taro asked for. The pending path is the one of an anonymous log-in:
    anonymous = Client()
    card_log_in(anonymous, "card-hanako")
    session = anonymous.session
    pending = session["madoguchi_oidc_pending"]
    # Copy the pending log-in into taro's older session, as if it had been made there.
    taro_session = client.session
    taro_session["madoguchi_oidc_pending"] = pending
    taro_session.save()
    response = client.post(reverse("identity:oidc_link_confirm"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not IdentityLink.objects.exists()


def test_a_generic_provider_logs_in_a_linked_account(oidc, taro):
    IdentityLink.objects.create(
        user=taro, provider="generic", issuer=oidc, subject="generic-person"
    )
    client = Client()
    response = card_log_in(client, "generic-person", name="generic")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(taro.pk)
    # A password at the IdP proves no more than an account here.
    assert client.session[levels.SESSION_KEY] == levels.ACCOUNT
    profile = ResidentProfile.objects.get(user=taro)
    assert (profile.family_name, profile.given_name) == ("佐藤", "太郎")
    assert profile.sources["family_name"]["provider"] == "generic"


def test_values_from_the_card_are_marked_as_verified_in_the_application(oidc, hanako):
    """Prefilled from a profile the card verified, and still unchanged: marked on the
    check-answers page; a value the resident changes is no longer marked."""
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.identity.services import verified_answers

    IdentityLink.objects.create(user=hanako, provider="card", issuer=oidc, subject="card-hanako")
    client = Client()
    card_log_in(client, "card-hanako")
    application = counter.start_application(
        procedure=procedure_by_identifier("992011", "dog-registration"),
        applicant=hanako,
        use_profile=True,
    )
    marked = verified_answers(application)
    assert set(marked) == {"owner_name", "owner_address"}
    page = client.get(reverse("counter:check", args=[application.pk])).content.decode()
    assert page.count("マイナンバーカード（デジタル認証アプリ）で確認済み") == 2

    application.answers["owner_address"] = {
        **application.answers["owner_address"],
        "street": "中央二丁目1番1号",
    }
    application.save()
    assert set(verified_answers(application)) == {"owner_name"}
    # Applying for someone else, or without consent to the profile: nothing is marked.
    application.use_profile = False
    assert verified_answers(application) == {}
