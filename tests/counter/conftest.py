"""Fixtures of the counter tests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def open_highschool(sample):
    """The high school application accepts from 2026-11-01 to 2027-02-10. Tests that need
    it open move the window around today when they run outside it (and say so)."""
    from madoguchi.catalogue.selectors import procedure_by_identifier

    version = procedure_by_identifier("990001", "highschool-web-application").current_version
    now = timezone.now()
    if not (version.opens_at <= now < version.closes_at):
        # Versions are immutable in the application; only the test moves the window.
        type(version).objects.filter(pk=version.pk).update(
            opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=30)
        )
        version.refresh_from_db()
    return version


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL (row locks, real concurrency)."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
