"""Staff: a second factor is mandatory for the staff side, a body can require passkeys,
sessions end after inactivity, single sign-on from the municipality's directory."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from madoguchi.identity import levels, services
from madoguchi.identity.models import StaffSecurityPolicy, User
from madoguchi.identity.services import totp_code
from madoguchi.ledger.models import Event
from madoguchi.sample.data import DEMO_TOTP_SECRET

from ..conftest import PASSWORD, login
from .oidc import log_in_at_provider, path_of
from .test_oidc_login import start
from .webauthn import SoftwareAuthenticator, js_data

pytestmark = pytest.mark.django_db


def test_sample_staff_log_in_with_password_and_the_demo_code(kankyo_staff, capsys):
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": kankyo_staff.email, "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    # What `make run` prints for newcomers gives the code.
    call_command("identity", "demo-totp", kankyo_staff.email)
    code = capsys.readouterr().out.split()[0]
    assert code == totp_code(DEMO_TOTP_SECRET) or code == totp_code(
        DEMO_TOTP_SECRET, time.time() - 30
    )
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.session[levels.SESSION_KEY] == levels.MFA
    assert client.get(reverse("backoffice:home")).status_code == 200


def test_the_printed_sample_log_ins_explain_the_second_factor(sample, capsys):
    call_command("sample", "logins")
    out = capsys.readouterr().out
    assert "kankyo.tanto@aoba.example.jp" in out
    assert "identity demo-totp" in out and DEMO_TOTP_SECRET in out


def test_demo_codes_only_for_the_demo_secret_and_in_the_demo(kankyo_staff, settings):
    other = User.objects.get(email="shimin.tanto@aoba.example.jp")
    Authenticator.objects.filter(user=other).delete()
    services.enroll_demo_totp(user=other, secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    with pytest.raises(CommandError, match="does not use the demo secret"):
        call_command("identity", "demo-totp", other.email)
    settings.MADOGUCHI_DEMO_IDENTITY = False
    with pytest.raises(CommandError, match="only in the sample deployment"):
        call_command("identity", "demo-totp", kankyo_staff.email)


def test_staff_pages_need_a_second_factor(kankyo_staff):
    client = login(kankyo_staff, level=levels.ACCOUNT)
    response = client.get(reverse("backoffice:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:staff_second_factor"))
    page = client.get(response["Location"]).content.decode()
    assert "認証アプリのコードで確認する" in page
    assert "madoguchi identity demo-totp kankyo.tanto@aoba.example.jp" in page
    # Resident pages stay open to the same session.
    assert client.get(reverse("counter:my_applications")).status_code == 200

    # The code, at the second-factor confirmation: the session reaches `mfa`.
    confirm = reverse("mfa_reauthenticate") + "?next=/staff/"
    response = client.post(confirm, {"code": totp_code(DEMO_TOTP_SECRET)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.session[levels.SESSION_KEY] == levels.MFA
    assert client.get(reverse("backoffice:home")).status_code == 200


def test_staff_without_a_second_factor_are_asked_to_set_one_up(kankyo_staff):
    Authenticator.objects.filter(user=kankyo_staff).delete()
    client = login(kankyo_staff, level=levels.ACCOUNT)
    response = client.get(reverse("backoffice:home"), follow=True)
    body = response.content.decode()
    assert "まだ2段階認証を設定していません" in body
    assert reverse("mfa_activate_totp") in body and reverse("mfa_add_webauthn") in body


def test_staff_cannot_remove_their_last_second_factor(kankyo_staff):
    totp = Authenticator.objects.get(user=kankyo_staff, type=Authenticator.Type.TOTP)
    assert not services.may_remove_authenticator(totp)
    recovery = Authenticator(user=kankyo_staff, type=Authenticator.Type.RECOVERY_CODES)
    assert services.may_remove_authenticator(recovery)
    # A resident may.
    resident = User.objects.get(email="taro@example.jp")
    services.enroll_demo_totp(user=resident, secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert services.may_remove_authenticator(Authenticator.objects.get(user=resident))


@pytest.fixture
def admin_client(sample):
    admin = User.objects.get(email="admin@aoba.example.jp")
    client = login(admin)
    services.record_authentication(client_request(client), admin, "mfa")
    return client


def client_request(client: Client):
    """A request object whose session is the client's (to record an authentication)."""
    from django.http import HttpRequest

    request = HttpRequest()
    request.session = client.session
    request.user = User.objects.get(pk=client.session["_auth_user_id"])
    return request


def _recently_authenticated(client: Client) -> None:
    session = client.session
    user = User.objects.get(pk=session["_auth_user_id"])
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time()}]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


def test_administrators_can_require_passkeys(sample, kankyo_staff):
    admin = User.objects.get(email="admin@aoba.example.jp")
    admin_client = login(admin)
    _recently_authenticated(admin_client)
    page = admin_client.get(reverse("staff_security:policy"))
    assert page.status_code == 200 and "あおば市" in page.content.decode()
    response = admin_client.post(
        reverse("staff_security:policy"),
        {"body": "992011", "require_passkey": "yes", "idle_minutes": "20"},
    )
    assert response.status_code == 302
    policy = StaffSecurityPolicy.objects.get(body__code="992011")
    assert policy.require_passkey and policy.idle_minutes == 20
    event = Event.objects.get(event_type="identity.staff_policy_changed")
    assert event.details["after"] == {"require_passkey": True, "idle_minutes": 20}

    # A TOTP code is no longer enough for this body's staff...
    staff = login(kankyo_staff)
    response = staff.get(reverse("backoffice:home"))
    assert "needs=passkey" in response["Location"]
    assert "パスキーを登録する" in staff.get(response["Location"]).content.decode()
    # ...a passkey is.
    _recently_authenticated(staff)
    phone = SoftwareAuthenticator()
    page = staff.get(reverse("mfa_add_webauthn"))
    credential = phone.register(js_data(page.content.decode())["creation_options"])
    staff.post(reverse("mfa_add_webauthn"), {"name": "職員証の鍵", "credential": credential})
    reauth = staff.get(reverse("mfa_reauthenticate_webauthn"))
    options = js_data(reauth.content.decode())["request_options"]
    response = staff.post(
        reverse("mfa_reauthenticate_webauthn") + "?next=/staff/",
        {"credential": phone.authenticate(options)},
    )
    assert response.status_code == 302
    assert staff.get(reverse("backoffice:home")).status_code == 200


def test_only_administrators_see_the_policy_and_values_are_checked(sample, kankyo_staff):
    assert login(kankyo_staff).get(reverse("staff_security:policy")).status_code == 404
    admin = User.objects.get(email="admin@aoba.example.jp")
    client = login(admin)
    _recently_authenticated(client)
    for wrong, message in (
        ("abc", "分数は半角数字で入力してください"),
        ("2", "5から1440の間で入力してください"),
    ):
        response = client.post(
            reverse("staff_security:policy"), {"body": "992011", "idle_minutes": wrong}
        )
        assert response.status_code == 422
        assert message in response.content.decode()
        assert f'value="{wrong}"' in response.content.decode()  # what was typed is kept
    # Another body's policy cannot be set by this administrator.
    assert client.post(reverse("staff_security:policy"), {"body": "990001"}).status_code == 404
    assert not StaffSecurityPolicy.objects.exists()


def test_changing_the_policy_needs_a_recent_authentication(sample):
    admin = User.objects.get(email="admin@aoba.example.jp")
    client = login(admin)  # logged in long ago, as far as the session knows
    response = client.post(
        reverse("staff_security:policy"), {"body": "992011", "require_passkey": "yes"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:reauthenticate"))
    assert not StaffSecurityPolicy.objects.exists()
    # A password alone is not offered to someone with a second factor.
    page = client.get(response["Location"]).content.decode()
    assert "認証アプリのコード" in page and "パスワードで確認する" not in page
    # The code, then the suspended POST is carried out.
    response = client.post(
        reverse("mfa_reauthenticate") + "?next=" + reverse("staff_security:policy"),
        {"code": totp_code(DEMO_TOTP_SECRET)},
    )
    assert StaffSecurityPolicy.objects.get().require_passkey


def _age_session(client: Client, minutes: float) -> None:
    session = client.session
    session[services.LAST_SEEN_KEY] = time.time() - minutes * 60
    session.save()


def test_staff_sessions_end_after_inactivity(kankyo_staff, settings):
    settings.MADOGUCHI_STAFF_IDLE_MINUTES = 30
    client = login(kankyo_staff)
    assert client.get(reverse("backoffice:home")).status_code == 200
    _age_session(client, 29)
    assert client.get(reverse("backoffice:home")).status_code == 200  # and touched again
    _age_session(client, 31)
    response = client.get(reverse("backoffice:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "一定時間操作がなかったため、安全のためログアウトしました。" in page


def test_residents_have_a_longer_idle_timeout(hanako, settings):
    settings.MADOGUCHI_RESIDENT_IDLE_MINUTES = 120
    client = login(hanako)
    client.get(reverse("counter:my_applications"))
    _age_session(client, 100)
    assert client.get(reverse("counter:my_applications")).status_code == 200
    _age_session(client, 121)
    assert client.get(reverse("counter:my_applications")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_body_can_shorten_the_idle_timeout(kankyo_staff, settings):
    from madoguchi.organisation.models import Body

    settings.MADOGUCHI_STAFF_IDLE_MINUTES = 30
    StaffSecurityPolicy.objects.create(body=Body.objects.get(code="992011"), idle_minutes=10)
    client = login(kankyo_staff)
    client.get(reverse("backoffice:home"))
    _age_session(client, 11)
    assert client.get(reverse("backoffice:home")).status_code == 302


def test_directory_single_sign_on_with_mfa_opens_the_staff_side(oidc, kankyo_staff):
    client = Client()
    back = log_in_at_provider(start(client, "directory"), "directory-kankyo")
    response = client.get(path_of(back))
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(kankyo_staff.pk)
    # The directory said it used a second factor (amr "mfa"): no second question here.
    assert client.session[levels.SESSION_KEY] == levels.MFA
    assert client.get(reverse("backoffice:home")).status_code == 200


def test_directory_log_in_with_a_password_only_still_needs_our_second_factor(oidc, shimin_staff):
    client = Client()
    back = log_in_at_provider(start(client, "directory"), "directory-password-only")
    client.get(path_of(back))
    assert client.session["_auth_user_id"] == str(shimin_staff.pk)
    assert client.session[levels.SESSION_KEY] == levels.ACCOUNT
    response = client.get(reverse("backoffice:home"))
    assert response["Location"].startswith(reverse("identity:staff_second_factor"))


def test_directory_log_in_of_someone_without_a_staff_account_is_refused(oidc, sample):
    client = Client()
    back = log_in_at_provider(start(client, "directory"), "directory-unknown")
    response = client.get(path_of(back))
    assert response.status_code == 403 or response.status_code == 400
    assert "職員のアカウントがありません" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_staff_api_in_a_browser_session_needs_the_second_factor_too(kankyo_staff):
    client = login(kankyo_staff, level=levels.ACCOUNT)
    response = client.get("/api/staff/queue")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"
    assert login(kankyo_staff).get("/api/staff/queue").status_code != 403


def test_an_expired_session_gets_json_from_the_api(kankyo_staff, settings):
    settings.MADOGUCHI_STAFF_IDLE_MINUTES = 30
    client = login(kankyo_staff)
    client.get("/api/staff/queue")
    _age_session(client, 31)
    response = client.get("/api/staff/queue")
    assert response.status_code == 401 and response.json()["code"] == "session_expired"
