"""Second factors: TOTP (RFC 6238) and passkeys (WebAuthn, with a software authenticator),
the levels they give a session, and the throttling of wrong codes."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from madoguchi.identity import levels
from madoguchi.identity.services import totp_code
from madoguchi.ledger.models import Event

from ..conftest import PASSWORD
from .webauthn import SoftwareAuthenticator, js_data

# allauth announces a new factor after its transaction commits, as in production: the
# tests run with real commits.
pytestmark = pytest.mark.django_db(transaction=True)


def password_login(email: str, client: Client | None = None):
    client = client or Client()
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    return client, response


def activate_totp(client: Client) -> str:
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200, page.status_code
    secret = re.search(
        r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page.content.decode()
    ).group(1)
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return secret


def test_totp_is_set_up_and_then_asked_at_every_log_in(taro):
    client, response = password_login(taro.email)
    assert response.status_code == 302
    assert client.session[levels.SESSION_KEY] == levels.ACCOUNT
    secret = activate_totp(client)
    totp = Authenticator.objects.get(user=taro, type=Authenticator.Type.TOTP)
    # The secret is encrypted at rest with the field keys.
    assert secret not in str(totp.data) and totp.data["secret"].startswith("gAAAAA")
    assert Authenticator.objects.filter(user=taro, type="recovery_codes").exists()
    # Setting it up proved the factor: this session is now at `mfa`.
    assert client.session[levels.SESSION_KEY] == levels.MFA
    assert Event.objects.filter(event_type="identity.second_factor_added").exists()
    client.post(reverse("account_logout"))

    client, response = password_login(taro.email)
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session  # the password alone is not a log-in
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    # The next period's code (the current one was used up by the activation).
    response = client.post(
        reverse("mfa_authenticate"), {"code": totp_code(secret, time.time() + 30)}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(taro.pk)
    assert client.session[levels.SESSION_KEY] == levels.MFA


def test_wrong_codes_are_throttled_for_a_while_only(taro, monkeypatch):
    from allauth.core.internal import ratelimit

    from ..core.test_login_rate_limit import Clock

    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", clock)
    client, _response = password_login(taro.email)
    secret = activate_totp(client)
    client.post(reverse("account_logout"))
    client, _response = password_login(taro.email)
    for _attempt in range(5):
        client.post(reverse("mfa_authenticate"), {"code": "000000"})
    page = client.post(reverse("mfa_authenticate"), {"code": "000000"}).content.decode()
    assert "ログイン失敗が連続しています" in page
    assert "_auth_user_id" not in client.session
    # Five minutes later the real person, with the right code, gets in.
    clock.offset = 5 * 60 + 1
    code = totp_code(secret, time.time() + 30)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert client.session["_auth_user_id"] == str(taro.pk)


def add_passkey(client: Client, authenticator: SoftwareAuthenticator) -> None:
    page = client.get(reverse("mfa_add_webauthn"))
    assert page.status_code == 200, page.status_code
    credential = authenticator.register(js_data(page.content.decode())["creation_options"])
    response = client.post(
        reverse("mfa_add_webauthn"),
        {"name": "わたしのスマートフォン", "credential": credential, "passwordless": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_passkey_is_registered_and_logs_in_without_a_password(taro):
    client, _response = password_login(taro.email)
    phone = SoftwareAuthenticator()
    add_passkey(client, phone)
    passkey = Authenticator.objects.get(user=taro, type=Authenticator.Type.WEBAUTHN)
    assert passkey.data["name"] == "わたしのスマートフォン"
    assert client.session[levels.SESSION_KEY] == levels.MFA
    client.post(reverse("account_logout"))

    fresh = Client()
    options = fresh.get(
        reverse("mfa_login_webauthn"), HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    ).json()["request_options"]
    response = fresh.post(
        reverse("mfa_login_webauthn"), {"credential": phone.authenticate(options)}
    )
    assert response.status_code == 302
    assert fresh.session["_auth_user_id"] == str(taro.pk)
    # A passkey checks the device and the person (user verification): `mfa`.
    assert fresh.session[levels.SESSION_KEY] == levels.MFA
    assert fresh.session.get(levels.PASSKEY_KEY)


def test_a_passkey_from_another_device_is_refused(taro):
    client, _response = password_login(taro.email)
    add_passkey(client, SoftwareAuthenticator())
    client.post(reverse("account_logout"))
    # Claims to be taro (his user handle) but signs with a key taro never registered.
    stranger = SoftwareAuthenticator(user_handle=str(taro.pk).encode())
    fresh = Client()
    options = fresh.get(
        reverse("mfa_login_webauthn"), HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    ).json()["request_options"]
    response = fresh.post(
        reverse("mfa_login_webauthn"), {"credential": stranger.authenticate(options)}
    )
    assert "_auth_user_id" not in fresh.session
    assert response.status_code == 302 and response["Location"] == reverse("account_login")


def test_a_passkey_as_the_second_factor_after_the_password(taro):
    client, _response = password_login(taro.email)
    phone = SoftwareAuthenticator()
    add_passkey(client, phone)
    client.post(reverse("account_logout"))
    client, response = password_login(taro.email)
    assert response["Location"] == reverse("mfa_authenticate")
    page = client.get(reverse("mfa_authenticate")).content.decode()
    options = js_data(page)["request_options"]
    response = client.post(reverse("mfa_authenticate"), {"credential": phone.authenticate(options)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(taro.pk)
    assert client.session.get(levels.PASSKEY_KEY)
