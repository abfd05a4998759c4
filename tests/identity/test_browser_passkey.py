"""A passkey in a real browser: chromium's virtual authenticator (DevTools protocol) with
allauth's script under our Content Security Policy, registered and then used to log in
without a password; the pages on the way checked with axe-core."""

from __future__ import annotations

import re

import pytest

from madoguchi.sample.data import DEMO_PASSWORD
from tests.browser_fixtures import AxeChecker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_a_passkey_and_log_in_with_it(sample, taro, live_server, page, settings):
    # The live server is plain HTTP on localhost (a secure context for the browser).
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
    axe = AxeChecker()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    authenticator = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]

    page.goto(live_server.url + "/account/login/")
    axe.check(page)
    page.get_by_label("メールアドレス").fill(taro.email)
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/applications/")

    page.goto(live_server.url + "/account/2fa/webauthn/add/")
    axe.check(page)
    page.get_by_label("名前（どの端末のパスキーか分かるように）").fill("テスト用のパスキー")
    page.get_by_label("パスワードの代わりにこのパスキーでログインする").check()
    page.locator("#mfa_webauthn_add").click()
    page.wait_for_url(re.compile(r".*/account/2fa/(recovery-codes/)?$"))
    stored = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]

    page.goto(live_server.url + "/account/")
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_load_state()

    page.goto(live_server.url + "/account/login/")
    page.get_by_role("button", name="パスキーを使う").click()
    page.wait_for_url("**/applications/")
    page.goto(live_server.url + "/account/")
    assert "現在の本人確認の方法: 2段階認証" in page.locator("main").inner_text()
    axe.check(page)
    assert errors == [], errors
    assert axe.violations == [], "\n".join(axe.violations)


def test_the_identity_pages_are_accessible(sample, kankyo_staff, live_server, page):
    """The pages of this capability, checked with axe-core (WCAG 2.1 A/AA), as a staff
    member at the password stage and then with the demo code."""
    from madoguchi.identity.services import totp_code
    from madoguchi.sample.data import DEMO_TOTP_SECRET

    axe = AxeChecker()
    page.goto(live_server.url + "/account/login/")
    page.get_by_label("メールアドレス").fill(kankyo_staff.email)
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン", exact=True).click()
    page.wait_for_url("**/account/2fa/authenticate/")
    axe.check(page)
    page.get_by_label(re.compile("コード")).fill(totp_code(DEMO_TOTP_SECRET))
    page.get_by_role("button", name=re.compile("ログイン|サインイン")).first.click()
    page.wait_for_url(re.compile(r".*/(applications|staff)/.*"))
    for path in (
        "/account/",
        "/account/profile/",
        "/account/step-up/?next=/applications/",
        "/account/data/",
        "/account/delete/",
        "/account/confirm-again/?next=/account/",
        "/account/second-factor/?next=/staff/",
        "/account/sessions/",
        "/account/2fa/",
        "/account/access-log/",
    ):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        axe.check(page)
    assert len(axe.checked) == 11
    assert axe.violations == [], "\n".join(axe.violations)
