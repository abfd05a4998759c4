"""Field-level encryption of special personal data with keys from configuration.

MultiFernet: the first key encrypts, every key decrypts, so a new key can be put first
and old ciphertexts re-encrypted later (`rotate_text`) without downtime.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.MADOGUCHI_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    return _current().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("ciphertext cannot be decrypted with the configured keys") from exc


def rotate_text(token: str) -> str:
    return _current().rotate(token.encode()).decode()


def encrypt_bytes(data: bytes) -> bytes:
    """A stored file's content (an attachment of special personal data) as a token."""
    return _current().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _current().decrypt(token)
    except InvalidToken as exc:
        raise ValueError("ciphertext cannot be decrypted with the configured keys") from exc
