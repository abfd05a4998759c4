"""Field encryption of My Numbers: round trip, several keys, rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from madoguchi.core.crypto import decrypt_text, encrypt_text, rotate_text
from tests.api.payloads import MY_NUMBER


@pytest.fixture
def old_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def new_key() -> str:
    return Fernet.generate_key().decode()


def test_round_trip(settings, old_key):
    settings.MADOGUCHI_ENCRYPTION_KEYS = [old_key]
    token = encrypt_text(MY_NUMBER)
    assert MY_NUMBER not in token
    assert decrypt_text(token) == MY_NUMBER
    # Fernet is randomised: equal numbers give different ciphertexts.
    assert encrypt_text(MY_NUMBER) != token
    assert decrypt_text(encrypt_text("")) == ""
    assert decrypt_text(encrypt_text("日本語も")) == "日本語も"


def test_old_ciphertexts_decrypt_after_a_new_key_is_put_first(settings, old_key, new_key):
    settings.MADOGUCHI_ENCRYPTION_KEYS = [old_key]
    old_token = encrypt_text(MY_NUMBER)

    settings.MADOGUCHI_ENCRYPTION_KEYS = [new_key, old_key]
    assert decrypt_text(old_token) == MY_NUMBER
    new_token = encrypt_text(MY_NUMBER)
    # New values are encrypted with the first key only.
    assert Fernet(new_key.encode()).decrypt(new_token.encode()).decode() == MY_NUMBER
    with pytest.raises(InvalidToken):
        Fernet(old_key.encode()).decrypt(new_token.encode())

    rotated = rotate_text(old_token)
    assert rotated != old_token
    assert decrypt_text(rotated) == MY_NUMBER
    assert Fernet(new_key.encode()).decrypt(rotated.encode()).decode() == MY_NUMBER

    # Once every value is rotated the old key can go.
    settings.MADOGUCHI_ENCRYPTION_KEYS = [new_key]
    assert decrypt_text(rotated) == MY_NUMBER
    assert decrypt_text(new_token) == MY_NUMBER
    with pytest.raises(ValueError, match="cannot be decrypted"):
        decrypt_text(old_token)


def test_unknown_keys_and_damaged_ciphertexts_are_refused(settings, old_key, new_key):
    settings.MADOGUCHI_ENCRYPTION_KEYS = [old_key]
    token = encrypt_text(MY_NUMBER)
    settings.MADOGUCHI_ENCRYPTION_KEYS = [new_key]
    with pytest.raises(ValueError):
        decrypt_text(token)
    settings.MADOGUCHI_ENCRYPTION_KEYS = [old_key]
    damaged = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(ValueError):
        decrypt_text(damaged)
    with pytest.raises(ValueError):
        decrypt_text("not a token")


@pytest.mark.django_db
def test_my_numbers_are_stored_encrypted(hanako, django_capture_on_commit_callbacks):
    """What the database holds for an application with a My Number."""
    from madoguchi.counter.models import Application
    from tests.api.payloads import CHILD_ALLOWANCE
    from tests.conftest import login
    from tests.esign.helpers import post_signed_application

    client = login(hanako, level="mynumber_card")
    with django_capture_on_commit_callbacks(execute=True):
        # The procedure requires the applicant's signature: draft, sign, submit.
        response = post_signed_application(
            client, procedure="child-allowance", answers=CHILD_ALLOWANCE
        )
    assert response.status_code == 200, response.content.decode()
    application = Application.objects.get(pk=response.json()["id"])
    stored = application.answers["claimant_my_number"]
    assert set(stored) == {"ciphertext", "last4"}
    assert stored["last4"] == MY_NUMBER[-4:]
    assert decrypt_text(stored["ciphertext"]) == MY_NUMBER
    assert MY_NUMBER not in str(Application.objects.filter(pk=application.pk).values().get())
