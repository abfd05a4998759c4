"""The rest of the OpenID Connect side: re-authentication at the provider, the operators'
check command, configuration of client keys, and the claims parser (property tests)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.identity.claims import map_claims, parse_address, split_name
from madoguchi.identity.models import IdentityLink, User
from madoguchi.identity.oidc_config import build, signing_algorithm

from ..conftest import login
from .oidc import CLIENT_KEY_PEM, log_in_at_provider, path_of, provider_settings
from .test_oidc_failures import _closed_port

pytestmark = pytest.mark.django_db


def test_a_card_only_account_re_authenticates_with_the_card(oidc, sample):
    """No password to type: the provider proves it again, and the suspended request (here
    the account deletion) continues."""
    user = User.objects.create_user(email="card-only@example.jp", password=None)
    IdentityLink.objects.create(user=user, provider="card", issuer=oidc, subject="card-ichiro")
    client = login(user)
    response = client.post(reverse("identity:delete_account"), {"confirm": "yes"})
    assert response["Location"].startswith(reverse("identity:reauthenticate"))
    page = client.get(response["Location"]).content.decode()
    assert "マイナンバーカード（デジタル認証アプリ）で確認する" in page
    assert "パスワードで確認する" not in page

    start = client.post(
        reverse("identity:oidc_start", args=["card"]),
        {"intent": "reauthenticate", "next": reverse("identity:delete_account")},
    )
    assert "prompt=login" in start["Location"] and "max_age=0" in start["Location"]
    back = log_in_at_provider(start["Location"], "card-ichiro")
    response = client.get(path_of(back))
    assert response.status_code == 200
    assert "アカウントを削除しました" in response.content.decode()
    assert not User.objects.get(pk=user.pk).is_active


def test_re_authenticating_with_someone_elses_card_is_refused(oidc, hanako, taro):
    IdentityLink.objects.create(user=taro, provider="card", issuer=oidc, subject="card-hanako")
    client = login(hanako)
    start = client.post(reverse("identity:oidc_start", args=["card"]), {"intent": "reauthenticate"})
    response = client.get(path_of(log_in_at_provider(start["Location"], "card-hanako")))
    assert response.status_code == 400
    assert "別のアカウントに連携されています" in response.content.decode()


def test_the_provider_check_command(oidc, settings, capsys):
    call_command("identity", "providers", "--check")
    out = capsys.readouterr().out
    assert out.count("reachable") == 4 and "digital_agency" in out
    settings.MADOGUCHI_OIDC_PROVIDERS = provider_settings(f"http://127.0.0.1:{_closed_port()}")
    cache.clear()
    with pytest.raises(CommandError, match="4 provider"):
        call_command("identity", "providers", "--check")
    settings.MADOGUCHI_OIDC_PROVIDERS = []
    call_command("identity", "providers")
    assert "No OpenID Connect provider is configured" in capsys.readouterr().out


def test_unknown_providers_and_intents(oidc, sample):
    client = Client()
    assert client.post(reverse("identity:oidc_start", args=["nope"])).status_code == 404
    assert client.get(reverse("identity:oidc_start", args=["card"])).status_code == 405
    # An anonymous person cannot step up or link: to the log-in page.
    response = client.post(reverse("identity:oidc_start", args=["card"]), {"intent": "link"})
    assert response["Location"] == reverse("account_login")
    # The log-in page lists the configured providers.
    page = client.get(reverse("account_login")).content.decode()
    assert "マイナンバーカード（デジタル認証アプリ）で続ける" in page
    assert "庁内ディレクトリで続ける" in page


def test_client_keys_are_checked_when_configured():
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert signing_algorithm(ec_key.decode()) == "ES256"
    assert signing_algorithm(CLIENT_KEY_PEM) == "RS256"
    with pytest.raises(ImproperlyConfigured, match="RSA or EC P-256 key in PEM"):
        build(
            {
                "name": "card",
                "profile": "digital_agency",
                "issuer": "https://idp.example",
                "client_id": "c",
                "private_key": "not a key",
            }
        )


def test_the_environment_is_read(tmp_path):
    from madoguchi.identity.oidc_config import from_environment

    key = tmp_path / "card.pem"
    key.write_text(CLIENT_KEY_PEM)
    providers = from_environment(
        {
            "MADOGUCHI_OIDC_PROVIDERS": "mynacard, staff-sso",
            "MADOGUCHI_OIDC_MYNACARD_PROFILE": "digital_agency",
            "MADOGUCHI_OIDC_MYNACARD_ISSUER": "https://auth.example.go.jp",
            "MADOGUCHI_OIDC_MYNACARD_CLIENT_ID": "RP00000001",
            "MADOGUCHI_OIDC_MYNACARD_PRIVATE_KEY_FILE": str(key),
            "MADOGUCHI_OIDC_STAFF_SSO_ISSUER": "https://login.city.example.lg.jp",
            "MADOGUCHI_OIDC_STAFF_SSO_CLIENT_ID": "madoguchi",
            "MADOGUCHI_OIDC_STAFF_SSO_CLIENT_SECRET": "s",
            "MADOGUCHI_OIDC_STAFF_SSO_AUDIENCE": "staff",
            "MADOGUCHI_OIDC_STAFF_SSO_MFA_AMR": "mfa,otp",
        }
    )
    card, staff = (build(raw) for raw in providers)
    assert card.scopes == "openid name address birthdate gender" and card.acr_values == "aal3"
    assert card.auth_method == "private_key_jwt" and card.level == "mynumber_card"
    assert staff.audience == "staff" and staff.mfa_amr == ["mfa", "otp"]
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        from_environment(
            {
                "MADOGUCHI_OIDC_PROVIDERS": "x",
                "MADOGUCHI_OIDC_X_PRIVATE_KEY_FILE": str(tmp_path / "missing.pem"),
            }
        )


def test_card_claims_become_profile_values():
    mapped = map_claims(
        "digital_agency",
        {
            "name": "渡邉　太郎",
            "address": "さくら県あおば市中央一丁目２番３号",
            "birthdate": "19880615",
            "gender": "1",
        },
        "openid name address birthdate gender",
    )
    assert mapped.values["family_name"] == "渡邉" and mapped.values["given_name"] == "太郎"
    assert mapped.values["city"] == "あおば市" and mapped.values["street"] == "中央一丁目2番3号"
    assert mapped.values["birth_date"] == dt.date(1988, 6, 15) and mapped.values["sex"] == "male"
    assert mapped.missing == []
    # A name without a space is not guessed apart; a designated city keeps its ward.
    assert split_name("山田花子") is None
    assert parse_address("東京都港区芝公園4-2-8")["city"] == "港区"
    assert parse_address("さくら県あおば市青葉区本町1-1")["city"] == "あおば市青葉区"
    assert parse_address("北海道余市郡余市町黒川町1")["city"] == "余市郡余市町"


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["name", "address", "birthdate", "gender", "family_name", "given_name", "email"]
        ),
        st.one_of(
            st.text(max_size=120),
            st.none(),
            st.integers(),
            st.lists(st.text(max_size=5), max_size=3),
            st.dictionaries(
                st.sampled_from(["formatted", "region", "locality", "street_address"]),
                st.text(max_size=50),
            ),
        ),
    ),
    st.sampled_from(["digital_agency", "standard"]),
)
def test_any_claims_map_to_valid_profile_values_or_to_nothing(claims, kind):
    """Whatever a provider sends, the parser never fails and gives only values the profile
    can hold."""
    mapped = map_claims(kind, claims, "openid name address birthdate gender profile")
    values = mapped.values
    assert set(values) <= {
        "family_name",
        "given_name",
        "birth_date",
        "sex",
        "postal_code",
        "prefecture",
        "city",
        "street",
        "building",
    }
    for key in ("family_name", "given_name"):
        assert len(values.get(key, "")) <= 50
    assert values.get("sex", "male") in ("male", "female")
    if "birth_date" in values:
        assert isinstance(values["birth_date"], dt.date)
    for key in ("city", "street"):
        assert "\x00" not in values.get(key, "")


def test_a_provider_counts_as_a_second_factor_only_at_mfa_or_above(shimin_staff):
    import time

    from django.http import HttpRequest

    from madoguchi.identity.services import recently_authenticated, record_authentication

    client = login(shimin_staff)
    request = HttpRequest()
    request.session = client.session
    request.user = shimin_staff
    record_authentication(request, shimin_staff, "oidc", provider="directory", level="account")
    assert recently_authenticated(request)
    assert not recently_authenticated(request, second_factor=True)
    record_authentication(request, shimin_staff, "oidc", provider="directory", level="mfa")
    assert recently_authenticated(request, second_factor=True)
    # And only for a while.
    records = request.session["account_authentication_methods"]
    for record in records:
        record["at"] = time.time() - 301
    assert not recently_authenticated(request)
