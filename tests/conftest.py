"""Shared fixtures: the sample municipality, residents, staff and a logged-in client."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from django.test import Client

from madoguchi.identity import levels
from madoguchi.sample import data as sample_data

PASSWORD = sample_data.DEMO_PASSWORD

pytest_plugins = ["tests.browser_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def _check_the_sample_definitions_once():
    """The `sample` fixture loads the same seven definitions for about a thousand tests;
    checking their YAML against the JSON Schema, a pure function of the text, was half of
    it. Only the sample catalogue's files are remembered: every other text a test checks
    (edited copies, generated ones) is checked for real each time."""
    from madoguchi.catalogue import validation
    from madoguchi.sample.services import CATALOGUE_DIR

    sample_dir = str(Path(CATALOGUE_DIR).resolve())
    original = validation.check_text
    checked: dict[tuple[str, str], tuple] = {}

    def check_text(text: str, file: str):
        if not str(Path(file).resolve()).startswith(sample_dir):
            return original(text, file)
        key = (text, file)
        if key not in checked:
            checked[key] = original(text, file)
        data, problems = checked[key]
        return copy.deepcopy(data), list(problems)

    validation.check_text = check_text
    yield
    validation.check_text = original


@pytest.fixture
def sample(db):
    """The sample prefecture and municipalities, their staff, residents and procedures
    (without the sample applications)."""
    from madoguchi.sample.services import load_sample

    load_sample(with_applications=False)


@pytest.fixture
def hanako(sample):
    from madoguchi.identity.models import User

    return User.objects.get(email="hanako@example.jp")


@pytest.fixture
def taro(sample):
    from madoguchi.identity.models import User

    return User.objects.get(email="taro@example.jp")


@pytest.fixture
def shimin_staff(sample):
    from madoguchi.identity.models import User

    return User.objects.get(email="shimin.tanto@aoba.example.jp")


@pytest.fixture
def kankyo_staff(sample):
    from madoguchi.identity.models import User

    return User.objects.get(email="kankyo.tanto@aoba.example.jp")


@pytest.fixture
def prefecture_staff(sample):
    from madoguchi.identity.models import User

    return User.objects.get(email="fukushi.tanto@sakura.example.jp")


def login(user, *, level: str | None = None) -> Client:
    """A client logged in as `user` at an identity level: `account` for residents; staff
    members, whose pages require a second factor, at `mfa` unless told otherwise."""
    from madoguchi.organisation.selectors import is_staff_member

    client = Client()
    client.force_login(user)
    session = client.session
    if level is None:
        level = levels.MFA if is_staff_member(user) else levels.ACCOUNT
    session[levels.SESSION_KEY] = level
    session.save()
    return client


@pytest.fixture
def hanako_client(hanako) -> Client:
    return login(hanako)


@pytest.fixture
def taro_client(taro) -> Client:
    return login(taro)


@pytest.fixture(autouse=True)
def _english_off(settings):
    settings.LANGUAGE_CODE = "ja"


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's chromium; in CI (MADOGUCHI_REQUIRE_BROWSER=1) its
    absence is a failure, elsewhere the tests are skipped with the reason."""
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    # Browser tests last: while Playwright's sync API is open its event loop counts as
    # running in the main thread, which other tests must not see.
    items.sort(key=lambda item: "browser" in item.keywords)
    if os.path.exists(chromium) or os.environ.get("MADOGUCHI_REQUIRE_BROWSER") == "1":
        return
    skip = pytest.mark.skip(
        reason=f"{chromium} not found: run `make system-deps` to install Debian's chromium"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)
