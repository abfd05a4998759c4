from __future__ import annotations

import pytest
from django.core.cache import cache

from .oidc import BASE_URL, provider_settings, running_provider


@pytest.fixture(scope="session")
def oidc_issuer():
    with running_provider() as issuer:
        yield issuer


@pytest.fixture
def oidc(settings, oidc_issuer):
    """madoguchi configured with the test provider's clients; yields the issuer."""
    settings.MADOGUCHI_BASE_URL = BASE_URL
    settings.MADOGUCHI_OIDC_PROVIDERS = provider_settings(oidc_issuer)
    cache.clear()
    yield oidc_issuer
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth remembers used TOTP codes and failed attempts in the cache; a test must not
    # find those of the test before (the same authenticator id, the same 30 seconds).
    cache.clear()
    yield
    cache.clear()
