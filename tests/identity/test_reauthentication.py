"""Proving again who one is before changing one's own second factors (allauth's pages):
with the second factor for a person who has one, as for the platform's own sensitive
actions; the password alone still for a person without."""

from __future__ import annotations

import pytest
from django.urls import reverse

from madoguchi.identity import levels
from madoguchi.identity.services import totp_code
from madoguchi.sample.data import DEMO_PASSWORD, DEMO_TOTP_SECRET

from ..conftest import login

pytestmark = pytest.mark.django_db


def test_staff_confirm_with_their_second_factor_not_the_password_alone(kankyo_staff):
    client = login(kankyo_staff)  # at `mfa`, but the log-in was long ago for the session
    generate = reverse("mfa_generate_recovery_codes")
    asked = client.get(generate)
    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    # The password form is not theirs: they are sent on to confirm with the code.
    sent_on = client.get(asked["Location"])
    assert sent_on.status_code == 302
    assert sent_on["Location"].startswith(reverse("mfa_reauthenticate"))
    assert "next=" in sent_on["Location"]
    posted = client.post(
        reverse("account_reauthenticate") + "?next=" + generate, {"password": DEMO_PASSWORD}
    )
    assert posted.status_code == 302
    assert posted["Location"].startswith(reverse("mfa_reauthenticate"))
    assert client.get(generate).status_code == 302  # the password did not count
    confirmed = client.post(
        reverse("mfa_reauthenticate") + "?next=" + generate,
        {"code": totp_code(DEMO_TOTP_SECRET)},
    )
    assert confirmed.status_code == 302
    assert client.get(generate).status_code == 200


def test_a_resident_without_a_second_factor_confirms_with_the_password(hanako):
    client = login(hanako, level=levels.ACCOUNT)
    page = client.get(reverse("account_reauthenticate"))
    assert page.status_code == 200 and 'name="password"' in page.content.decode()


def test_a_factor_enrolled_after_the_log_in_does_not_ask_for_itself(taro):
    """A resident who logged in with the password and then added their first factor is
    shown their recovery codes without proving again with the factor just added."""
    from django.test import Client

    from madoguchi.identity.services import enroll_demo_totp

    client = Client()
    response = client.post(
        reverse("account_login"), {"login": taro.email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    enroll_demo_totp(user=taro, secret=DEMO_TOTP_SECRET)
    assert client.get(reverse("mfa_generate_recovery_codes")).status_code == 200
