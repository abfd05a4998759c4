from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def hanako_token(hanako) -> str:
    from madoguchi.identity.models import ApiToken

    _token, raw = ApiToken.issue(user=hanako, name="tests")
    return raw


@pytest.fixture
def taro_token(taro) -> str:
    from madoguchi.identity.models import ApiToken

    _token, raw = ApiToken.issue(user=taro, name="tests")
    return raw


def set_window(body: str, identifier: str, *, opens_at, closes_at) -> None:
    """Moves the application window (versions refuse save(); tests stand in for the clock)."""
    from madoguchi.catalogue.models import Procedure, ProcedureVersion
    from madoguchi.catalogue.selectors import forget_cached_versions

    procedure = Procedure.objects.get(body__code=body, identifier=identifier)
    ProcedureVersion.objects.filter(pk=procedure.current_version_id).update(
        opens_at=opens_at, closes_at=closes_at
    )
    # The API's submissions keep versions they read, which never change but here.
    forget_cached_versions()


@pytest.fixture
def highschool_open(sample) -> None:
    """The high-school application window, open now whatever the date the tests run."""
    now = timezone.now()
    set_window(
        "990001",
        "highschool-web-application",
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=30),
    )
