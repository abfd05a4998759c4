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
