"""Throttling of failed log-ins (allauth's cache-based rate limits, as configured)."""

from __future__ import annotations

import time

import pytest
from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

THROTTLED = "ログイン失敗が連続しています"
MISMATCH = "メールアドレスもしくはパスワードが正しくありません"


class Clock:
    """Stands in for the `time` module in allauth's rate limiting: the real clock plus
    an offset, so that minutes can pass in a test."""

    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture(params=["locmem", "database"])
def rate_limit_cache(request, settings, monkeypatch):
    """Both the test cache and the database cache that production uses by default."""
    if request.param == "database":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "madoguchi_cache",
            }
        }
        # The test database was made with the test settings' in-memory cache.
        call_command("createcachetable", verbosity=0)
    cache.clear()
    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", clock)
    yield clock
    cache.clear()


def attempt(client: Client, email: str, password: str):
    return client.post("/account/login/", {"login": email, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_repeated_failures_for_one_account_are_throttled_for_a_while(hanako, rate_limit_cache):
    client = Client()
    for _ in range(5):
        response = attempt(client, "hanako@example.jp", "wrong password 1")
        assert response.status_code == 200
        assert MISMATCH in response.content.decode()
        assert THROTTLED not in response.content.decode()

    # The sixth try is refused even with the right password, and says why.
    response = attempt(client, "hanako@example.jp", PASSWORD)
    assert THROTTLED in response.content.decode()
    assert response.status_code in (200, 429)
    assert not logged_in(client)
    # From another address too: the limit is per account, not only per IP.
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert THROTTLED in attempt(other, "hanako@example.jp", PASSWORD).content.decode()
    assert not logged_in(other)

    # Another account is not affected.
    taro = Client(REMOTE_ADDR="192.0.2.11")
    assert attempt(taro, "taro@example.jp", PASSWORD).status_code == 302
    assert logged_in(taro)

    # Not permanent: five minutes later the real person gets in.
    rate_limit_cache.offset = 5 * 60 + 1
    response = attempt(client, "hanako@example.jp", PASSWORD)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert logged_in(client)


def test_many_failures_from_one_address_are_throttled(sample, rate_limit_cache):
    client = Client(REMOTE_ADDR="198.51.100.7")
    messages = []
    for number in range(12):
        response = attempt(client, f"guess{number}@example.jp", "wrong password 1")
        messages.append(THROTTLED in response.content.decode())
    assert messages[:10] == [False] * 10
    assert messages[10:] == [True, True]
    # Another address is not throttled.
    response = attempt(Client(REMOTE_ADDR="198.51.100.8"), "guess@example.jp", "wrong password 1")
    assert THROTTLED not in response.content.decode()
    # A minute later the address may try again.
    rate_limit_cache.offset = 61
    response = attempt(client, "guess99@example.jp", "wrong password 1")
    assert THROTTLED not in response.content.decode()
    assert MISMATCH in response.content.decode()
