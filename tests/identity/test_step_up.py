"""The identity level a procedure needs: drafting at any level, submitting only after the
(demo) My Number Card step-up of the session."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from madoguchi.counter.models import Application, State
from madoguchi.identity import levels

from ..conftest import PASSWORD
from ..counter.helpers import fill_juminhyo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_signature_step(sample):
    """住民票 also needs an electronic signature (esign's step, tested there); these tests
    are about the identity level, so the sample's version is taken without it."""
    from madoguchi.catalogue.selectors import procedure_by_identifier

    version = procedure_by_identifier("992011", "juminhyo-copy").current_version
    definition = {**version.definition, "signature_required": False}
    # Versions are immutable on purpose; a test may still shape its own data.
    type(version).objects.filter(pk=version.pk).update(definition=definition)


def test_juminhyo_is_drafted_at_account_level_and_submitted_after_step_up(
    hanako_client, django_capture_on_commit_callbacks
):
    start_page = hanako_client.get(reverse("counter:start", args=["992011", "juminhyo-copy"]))
    assert (
        "この手続の申請にはマイナンバーカードによる本人確認が必要です。"
        in start_page.content.decode()
    )
    application_id = fill_juminhyo(hanako_client)
    check_url = reverse("counter:check", args=[application_id])

    check = hanako_client.get(check_url).content.decode()
    assert (
        "送信するにはマイナンバーカードによる本人確認が必要です。入力した内容は保存されています。"
        in check
    )
    step_up_link = f"{reverse('identity:step_up')}?next={check_url}"
    assert f'href="{step_up_link}"' in check
    assert "この内容で申請する" not in check

    with django_capture_on_commit_callbacks(execute=True):
        refused = hanako_client.post(check_url)
    assert refused.status_code == 422
    assert "この手続にはマイナンバーカードによる本人確認が必要です。" in refused.content.decode()
    application = Application.objects.get(pk=application_id)
    assert application.state == State.DRAFT and application.receipt_number is None
    assert application.answers["copies"] == 1  # the draft and its answers are kept
    assert mail.outbox == []

    page = hanako_client.get(step_up_link)
    assert page.status_code == 200
    assert 'name="next" value="' + check_url + '"' in page.content.decode()
    session_before = hanako_client.session.session_key
    response = hanako_client.post(reverse("identity:step_up"), {"next": check_url})
    assert response.status_code == 302 and response["Location"] == check_url
    assert hanako_client.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD
    assert hanako_client.session.session_key != session_before  # against session fixation

    assert "この内容で申請する" in hanako_client.get(check_url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = hanako_client.post(check_url)
    assert response["Location"] == reverse("counter:done", args=[application_id])
    assert Application.objects.get(pk=application_id).state == State.SUBMITTED
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""]
)
def test_step_up_never_redirects_elsewhere(hanako_client, target):
    response = hanako_client.post(reverse("identity:step_up"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == "/applications/"


def test_step_up_needs_a_login_and_the_demo_setting(hanako_client, settings):
    anonymous = Client().post(reverse("identity:step_up"))
    assert anonymous.status_code == 302 and "/account/login/" in anonymous["Location"]
    settings.MADOGUCHI_DEMO_IDENTITY = False
    assert hanako_client.get(reverse("identity:step_up")).status_code == 404
    assert hanako_client.post(reverse("identity:step_up")).status_code == 404
    assert hanako_client.session.get(levels.SESSION_KEY) == levels.ACCOUNT


def test_a_lower_level_never_replaces_a_higher_one(hanako):
    from ..conftest import login

    client = login(hanako, level=levels.MYNUMBER_CARD)
    client.post(reverse("identity:step_up"))
    assert client.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD


def test_step_up_with_the_card_keeps_the_draft_and_allows_submitting(
    oidc, hanako_client, hanako, django_capture_on_commit_callbacks
):
    from madoguchi.identity.models import IdentityLink

    from .oidc import log_in_at_provider, path_of

    application_id = fill_juminhyo(hanako_client)
    check_url = reverse("counter:check", args=[application_id])
    page = hanako_client.get(f"{reverse('identity:step_up')}?next={check_url}").content.decode()
    assert "マイナンバーカード（デジタル認証アプリ）で本人確認する" in page
    start = hanako_client.post(
        reverse("identity:oidc_start", args=["card"]), {"intent": "step_up", "next": check_url}
    )
    assert start.status_code == 302
    back = log_in_at_provider(start["Location"], "card-hanako")
    response = hanako_client.get(path_of(back))
    # A card not linked yet, in a session logged in some time ago: the password first, so
    # that a card is never linked to an account someone merely left logged in.
    confirm = reverse("identity:oidc_link_confirm")
    assert response["Location"] == reverse("account_reauthenticate") + "?next=" + quote(
        confirm, safe=""
    )
    assert not IdentityLink.objects.exists()
    response = hanako_client.post(response["Location"], {"password": PASSWORD, "next": confirm})
    assert response["Location"] == confirm
    assert "連携しますか" in hanako_client.get(confirm).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = hanako_client.post(confirm)
    assert response.status_code == 302 and response["Location"] == check_url
    assert hanako_client.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD
    assert IdentityLink.objects.get(provider="card").user == hanako
    assert [m.subject for m in mail.outbox] == [
        "[まどぐち] マイナンバーカード（デジタル認証アプリ）でのログインが連携されました"
    ]
    mail.outbox.clear()
    # The draft is where it was.
    application = Application.objects.get(pk=application_id)
    assert application.state == State.DRAFT and application.answers["copies"] == 1
    assert "この内容で申請する" in hanako_client.get(check_url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = hanako_client.post(check_url)
    assert response["Location"] == reverse("counter:done", args=[application_id])
    assert Application.objects.get(pk=application_id).state == State.SUBMITTED


def test_a_card_linked_to_someone_else_does_not_step_up(oidc, hanako_client, taro):
    from madoguchi.identity.models import IdentityLink

    from .oidc import log_in_at_provider, path_of

    IdentityLink.objects.create(user=taro, provider="card", issuer=oidc, subject="card-hanako")
    start = hanako_client.post(reverse("identity:oidc_start", args=["card"]), {"intent": "step_up"})
    back = log_in_at_provider(start["Location"], "card-hanako")
    response = hanako_client.get(path_of(back))
    assert response.status_code == 400
    assert "別のアカウントに連携されています" in response.content.decode()
    assert hanako_client.session[levels.SESSION_KEY] == levels.ACCOUNT


def test_a_generic_provider_is_no_card(oidc, hanako_client):
    """Logging in elsewhere with a password does not reach mynumber_card."""
    from .oidc import log_in_at_provider, path_of

    _recently_authenticated(hanako_client)
    start = hanako_client.post(reverse("identity:oidc_start", args=["generic"]), {"intent": "link"})
    back = log_in_at_provider(start["Location"], "generic-person")
    hanako_client.get(path_of(back))
    assert hanako_client.session[levels.SESSION_KEY] == levels.ACCOUNT


def _recently_authenticated(client) -> None:
    import time

    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": time.time()}]
    session["account_authentication_methods_user"] = session["_auth_user_id"]
    session.save()


def test_a_recent_log_in_links_the_card_at_once(oidc, hanako_client, hanako):
    from madoguchi.identity.models import IdentityLink

    from .oidc import log_in_at_provider, path_of

    _recently_authenticated(hanako_client)
    start = hanako_client.post(reverse("identity:oidc_start", args=["card"]), {"intent": "step_up"})
    response = hanako_client.get(path_of(log_in_at_provider(start["Location"], "card-hanako")))
    assert response.status_code == 302 and response["Location"] == reverse("identity:account")
    assert IdentityLink.objects.get(provider="card").user == hanako
    assert hanako_client.session[levels.SESSION_KEY] == levels.MYNUMBER_CARD
