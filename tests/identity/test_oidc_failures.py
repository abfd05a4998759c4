"""Every check of the relying party, each shown to fail safely against the real provider:
a wrong state, a replayed code, a wrong nonce, an expired or badly signed ID token, an
insufficient acr, a provider that is down, a missing claim. Never a 500, never a log-in."""

from __future__ import annotations

import base64
import json
import socket
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from joserfc import jwt
from joserfc.jwk import OctKey

from madoguchi.identity import oidc as relying_party
from madoguchi.identity.models import IdentityLink, ResidentProfile
from madoguchi.identity.oidc_config import build

from .oidc import BASE_URL, log_in_at_provider, path_of, provider_settings, running_provider
from .test_oidc_login import start

pytestmark = pytest.mark.django_db

REJECTED = "ログイン先のサービスからの応答を確認できなかったため、ログインできませんでした。"
UNAVAILABLE = "ログイン先のサービスに接続できませんでした。しばらくしてからもう一度お試しください。"


def refused(response, text: str, status: int = 400) -> None:
    assert response.status_code == status, response.content.decode()[:2000]
    assert text in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def hanako_card(oidc, hanako):
    return IdentityLink.objects.create(
        user=hanako, provider="card", issuer=oidc, subject="card-hanako"
    )


def test_success_for_comparison(hanako_card):
    client = Client()
    back = log_in_at_provider(start(client, "card"), "card-hanako")
    response = client.get(path_of(back))
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(hanako_card.user_id)


def test_a_wrong_state_is_refused(hanako_card):
    client = Client()
    back = log_in_at_provider(start(client, "card"), "card-hanako")
    response = client.get(path_of(with_query(back, state="forged-state")))
    refused(response, "ログインの手続きが見つからないか、時間が経ちすぎています。")
    # A callback in another browser (no flow in its session) is refused the same way.
    refused(Client().get(path_of(back)), "ログインの手続きが見つからないか")


def test_a_replayed_code_is_refused(hanako_card):
    client = Client()
    back = log_in_at_provider(start(client, "card"), "card-hanako")
    assert client.get(path_of(back)).status_code == 302
    client.logout()
    # The same response again: its state was used up.
    refused(client.get(path_of(back)), "ログインの手続きが見つからないか")
    # The old code under a new, valid state: refused (that state's PKCE verifier is not the
    # code's; the reuse of a code with its own verifier is the next test).
    fresh = parse_qs(urlsplit(start(client, "card")).query)["state"][0]
    replay = with_query(back, state=fresh)
    refused(client.get(path_of(replay)), "ログイン先のサービスがこのログインを受け付けませんでした")


def test_a_used_code_is_refused_by_the_provider_even_with_its_own_verifier(hanako_card, caplog):
    """The code of a completed log-in, replayed under a fresh state that carries the first
    flow's PKCE verifier and nonce: only the provider's single use of codes stops it."""
    # First, that carrying a flow's verifier and nonce over to another state is enough for
    # an unused code to be accepted: so the refusal below is the code's reuse.
    control = Client()
    unused = start(control, "card")
    unused_state = parse_qs(urlsplit(unused).query)["state"][0]
    carried = dict(control.session["madoguchi_oidc_flows"][unused_state])
    unused_back = log_in_at_provider(unused, "card-hanako")
    other = parse_qs(urlsplit(start(control, "card")).query)["state"][0]
    session = control.session
    flows = session["madoguchi_oidc_flows"]
    flows[other] = {**flows[other], "verifier": carried["verifier"], "nonce": carried["nonce"]}
    session["madoguchi_oidc_flows"] = flows
    session.save()
    assert control.get(path_of(with_query(unused_back, state=other))).status_code == 302
    assert "_auth_user_id" in control.session  # logged in
    client = Client()
    authorization = start(client, "card")
    state = parse_qs(urlsplit(authorization).query)["state"][0]
    first = dict(client.session["madoguchi_oidc_flows"][state])
    back = log_in_at_provider(authorization, "card-hanako")
    assert client.get(path_of(back)).status_code == 302
    client.logout()
    fresh = parse_qs(urlsplit(start(client, "card")).query)["state"][0]
    session = client.session
    flows = session["madoguchi_oidc_flows"]
    flows[fresh] = {**flows[fresh], "verifier": first["verifier"], "nonce": first["nonce"]}
    session["madoguchi_oidc_flows"] = flows
    session.save()
    caplog.clear()
    replay = with_query(back, state=fresh)
    refused(client.get(path_of(replay)), "ログイン先のサービスがこのログインを受け付けませんでした")
    assert "invalid_grant" in caplog.text


def test_a_wrong_nonce_is_refused(hanako_card):
    client = Client()
    authorization = start(client, "card")
    state = parse_qs(urlsplit(authorization).query)["state"][0]
    back = log_in_at_provider(authorization, "card-hanako")
    # The response is delivered to a flow that asked with another nonce (an injected
    # response): PKCE still matches, the ID token's nonce does not.
    session = client.session
    session["madoguchi_oidc_flows"][state]["nonce"] = "another-nonce"
    session.save()
    refused(client.get(path_of(back)), REJECTED)


def test_a_badly_signed_id_token_is_refused(oidc, hanako, caplog):
    # The provider changes this client's ID tokens after signing them.
    IdentityLink.objects.create(
        user=hanako, provider="tampered", issuer=oidc, subject="card-hanako-forged"
    )
    client = Client()
    back = log_in_at_provider(start(client, "tampered"), "card-hanako")
    refused(client.get(path_of(back)), REJECTED)
    assert "bad ID token signature" in caplog.text


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_an_unsigned_or_symmetric_id_token_is_refused(oidc, caplog):
    provider = relying_party.provider("card")
    meta = relying_party.metadata(provider)
    claims = {
        "iss": oidc,
        "sub": "card-hanako",
        "aud": "card",
        "exp": int(time.time()) + 300,
        "iat": int(time.time()),
        "nonce": "n",
    }
    unsigned = f"{_b64({'alg': 'none'})}.{_b64(claims)}."
    # Signed with a client secret (HS256) instead of the provider's published key.
    symmetric = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key("a-shared-secret-value"))
    for token in (unsigned, symmetric):
        with pytest.raises(relying_party.OidcError) as error:
            relying_party.validate_id_token(provider, meta, token, nonce="n")
        assert error.value.code == "invalid_id_token"
    # The same claims signed by the provider would pass: the refusals are the signatures'.
    assert "cannot be verified" in caplog.text or "not a signed JWT" in caplog.text


@pytest.fixture(scope="module")
def slow_clock_issuer():
    # A provider whose clock is an hour behind issues ID tokens that have already expired.
    with running_provider(clock_offset=-3600) as issuer:
        yield issuer


def test_an_expired_id_token_is_refused(settings, slow_clock_issuer, hanako, caplog):
    settings.MADOGUCHI_BASE_URL = BASE_URL
    settings.MADOGUCHI_OIDC_PROVIDERS = provider_settings(slow_clock_issuer)
    cache.clear()
    IdentityLink.objects.create(
        user=hanako, provider="card", issuer=slow_clock_issuer, subject="card-hanako"
    )
    client = Client()
    back = log_in_at_provider(start(client, "card"), "card-hanako")
    refused(client.get(path_of(back)), REJECTED)
    assert "expired ID token" in caplog.text


def test_an_insufficient_assurance_level_is_refused(oidc, hanako):
    IdentityLink.objects.create(user=hanako, provider="card", issuer=oidc, subject="card-aal1")
    client = Client()
    back = log_in_at_provider(start(client, "card"), "card-aal1")
    refused(
        client.get(path_of(back)),
        "求められた方法（マイナンバーカードなど）での本人確認が行われませんでした",
    )


def test_a_response_naming_another_issuer_is_refused(hanako_card):
    client = Client()
    back = log_in_at_provider(start(client, "card"), "card-hanako")
    assert "iss=" in back  # RFC 9207: the provider names itself
    refused(client.get(path_of(with_query(back, iss="https://evil.example"))), REJECTED)


def test_a_cancelled_log_in_is_explained(oidc):
    client = Client()
    state = parse_qs(urlsplit(start(client, "card")).query)["state"][0]
    response = client.get(
        reverse("identity:oidc_callback", args=["card"]) + f"?error=access_denied&state={state}"
    )
    refused(response, "ログイン先のサービスで本人確認が完了しませんでした。")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_provider_that_is_down_at_the_start(settings, sample):
    settings.MADOGUCHI_OIDC_PROVIDERS = provider_settings(f"http://127.0.0.1:{_closed_port()}")
    cache.clear()
    response = Client().post(reverse("identity:oidc_start", args=["card"]), {"intent": "login"})
    refused(response, UNAVAILABLE, status=503)
    assert (
        "メールアドレスとパスワードでのログインは引き続き利用できます" in response.content.decode()
    )


def test_a_provider_that_goes_down_before_the_callback(settings, hanako):
    settings.MADOGUCHI_BASE_URL = BASE_URL
    with running_provider() as issuer:
        settings.MADOGUCHI_OIDC_PROVIDERS = provider_settings(issuer)
        cache.clear()
        IdentityLink.objects.create(
            user=hanako, provider="card", issuer=issuer, subject="card-hanako"
        )
        client = Client()
        back = log_in_at_provider(start(client, "card"), "card-hanako")
    # The provider has stopped: the code cannot be exchanged.
    refused(client.get(path_of(back)), UNAVAILABLE, status=503)


def test_a_missing_claim_logs_in_and_says_what_did_not_come(oidc, taro):
    IdentityLink.objects.create(
        user=taro, provider="card", issuer=oidc, subject="card-no-birthdate"
    )
    client = Client()
    back = log_in_at_provider(start(client, "card"), "card-no-birthdate")
    response = client.get(path_of(back), follow=True)
    assert response.status_code == 200
    assert client.session["_auth_user_id"] == str(taro.pk)
    body = response.content.decode()
    assert "生年月日を受け取れませんでした" in body
    profile = ResidentProfile.objects.get(user=taro)
    assert profile.birth_date is None
    assert (profile.family_name, profile.given_name) == ("高橋", "次郎")


def test_a_misconfigured_provider_is_refused_at_start():
    from django.core.exceptions import ImproperlyConfigured

    for wrong in (
        {"name": "x", "issuer": "http://idp.example", "client_id": "c", "client_secret": "s"},
        {"name": "x", "issuer": "https://idp.example", "client_secret": "s"},
        {
            "name": "x",
            "profile": "digital_agency",
            "issuer": "https://idp.example",
            "client_id": "c",
        },
        {
            "name": "x",
            "issuer": "https://idp.example",
            "client_id": "c",
            "client_secret": "s",
            "scopes": "email",
        },
        {
            "name": "Bad Name",
            "issuer": "https://idp.example",
            "client_id": "c",
            "client_secret": "s",
        },
    ):
        with pytest.raises(ImproperlyConfigured):
            build(wrong)
