"""Passwords after NIST SP 800-63B-4 (length, blocklist, no composition rules), Argon2,
e-mail verification at sign-up and password reset, through the outbox."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from madoguchi.identity.models import User
from madoguchi.identity.passwords import BlocklistValidator, MaximumLengthValidator
from madoguchi.notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db

GOOD = "夕焼けの川べりを自転車でゆっくり走る"  # a passphrase: no digits or symbols needed


def codes(password: str, user=None) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as error:
        return {item.code for item in error.error_list}
    return set()


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short-pass", "password_too_short"),
        ("aaaaaaaaaaaaaaaa", "password_repetitive"),
        ("123456789012345678", "password_repetitive"),
        ("qwertyuiopasdfgh", "password_repetitive"),
        ("abcabcabcabcabcabc", "password_repetitive"),
        ("passwordpassword", "password_repetitive"),
        ("madoguchi2026!!!!", "password_guessable"),
        ("ＭＡＤＯＧＵＣＨＩ２０２６！！", "password_guessable"),  # full-width is the same
        ("password1234567!", "password_guessable"),
        ("x" * 257, "password_too_long"),
    ],
)
def test_guessable_passwords_are_refused(password, code):
    assert code in codes(password)


def test_the_persons_own_address_is_refused(sample):
    user = User(email="sakura.yamada@example.jp")
    assert "password_guessable" in codes("Sakura.Yamada2026!!", user)
    assert codes("Sakura.Yamada2026!!") == set()  # only because it is this person's


@pytest.mark.parametrize(
    "password",
    [GOOD, "correct horse battery staple", "839204715629384", "きょうはとてもいいてんきですね"],
)
def test_no_composition_rules(password):
    """Lower case only, digits only, kana only: long and not on a list is enough."""
    assert codes(password) == set()


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_the_validators_only_ever_refuse_with_a_message(password):
    for validator in (BlocklistValidator(), MaximumLengthValidator()):
        try:
            validator.validate(password)
        except ValidationError as error:
            assert error.messages and all(isinstance(m, str) and m for m in error.messages)


def test_argon2_is_the_first_hasher_in_production_and_old_hashes_are_upgraded():
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from madoguchi.settings import security

    assert security.PASSWORD_HASHERS[0] == "madoguchi.identity.hashers.OwaspArgon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=security.PASSWORD_HASHERS):
        encoded = make_password(GOOD)
        # Argon2id, 19 MiB, 2 passes, 1 lane (OWASP's first configuration).
        assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
        old = make_password(GOOD, hasher="pbkdf2_sha256")
        upgraded = []
        assert check_password(GOOD, old, setter=lambda raw: upgraded.append(make_password(raw)))
        assert upgraded and upgraded[0].startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
        # A hash with Django's parameters (an account from before) is accepted and rehashed.
        django_default = Argon2PasswordHasher().encode(GOOD, Argon2PasswordHasher().salt())
        assert "m=102400,t=2,p=8" in django_default
        rehashed = []
        assert check_password(
            GOOD, django_default, setter=lambda raw: rehashed.append(make_password(raw))
        )
        assert rehashed and "m=19456,t=2,p=1" in rehashed[0]
        assert not check_password("wrong " + GOOD, encoded)


def _mail_link(body: str, path: str) -> str:
    match = re.search(r"https?://[^\s]+" + re.escape(path) + r"[^\s]*", body)
    assert match, body
    return re.sub(r"^https?://[^/]+", "", match.group(0))


def test_sign_up_verifies_the_address_by_mail(sample, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        weak = client.post(
            reverse("account_signup"),
            {"email": "new@example.jp", "password1": "short", "password2": "short"},
        )
    assert weak.status_code == 200 and "このパスワードは短すぎます" in weak.content.decode()
    assert not User.objects.filter(email="new@example.jp").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "new@example.jp", "password1": GOOD, "password2": GOOD},
        )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session  # not before the address is verified
    # The message went through the outbox, as every e-mail does.
    assert OutboundEmail.objects.filter(to_address="new@example.jp").exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.jp"]
    link = _mail_link(mail.outbox[0].body, "/account/confirm-email/")
    page = client.get(link)
    assert page.status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    user = User.objects.get(email="new@example.jp")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.emailaddress_set.get().verified


def test_password_reset_by_mail(hanako, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": hanako.email})
        # An unknown address gets the same page and no mail about an account.
        client.post(reverse("account_reset_password"), {"email": "nobody@example.jp"})
    to_hanako = [m for m in mail.outbox if m.to == [hanako.email]]
    assert len(to_hanako) == 1
    link = _mail_link(to_hanako[0].body, "/account/password/reset/key/")
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    form_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    weak = client.post(form_url, {"password1": "aaaaaaaaaaaaaaaa", "password2": "aaaaaaaaaaaaaaaa"})
    assert "推測されやすい" in weak.content.decode()
    response = client.post(form_url, {"password1": GOOD, "password2": GOOD})
    assert response.status_code == 302
    fresh = Client()
    fresh.post(reverse("account_login"), {"login": hanako.email, "password": GOOD})
    assert fresh.session["_auth_user_id"] == str(hanako.pk)
