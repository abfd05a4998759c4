from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The verification page's rate limit counts in the cache, per process."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_signers():
    """Each test loads the keys its settings name (the loaded signers are per process)."""
    from madoguchi.issuance.keys import forget_signers

    forget_signers()
    yield
    forget_signers()


@pytest.fixture
def issue(django_capture_on_commit_callbacks):
    """Schedules and runs the issuance of an approved application; returns the document."""
    from madoguchi.issuance import services
    from madoguchi.issuance.models import DocumentState

    def run(application):
        with django_capture_on_commit_callbacks(execute=True):
            document = services.schedule_issuance(application_id=application.pk)
        document.refresh_from_db()
        assert document.state == DocumentState.ISSUED, document.last_error
        return document

    return run
