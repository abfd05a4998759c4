"""Whole submissions with every logger at DEBUG: no My Number, name or phone in any record."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory

from madoguchi.core.logging import DropDebugRecords, StripRequestFilter
from tests.api.payloads import CHILD_ALLOWANCE, DOG, MY_NUMBER, bearer, post_application
from tests.conftest import login
from tests.counter.helpers import application_id_from, fill_pages, post_page, start

pytestmark = pytest.mark.django_db

ADDRESS = {
    "postal_code": "100-0001",
    "prefecture": "東京都",
    "city": "千代田区",
    "street": "千代田1-1",
    "building": "",
}

CHILD_ALLOWANCE_PAGES = {
    "claimant": {
        "f-claimant_name-family": "鈴木",
        "f-claimant_name-given": "一二三",
        "f-claimant_name-family_kana": "すずき",
        "f-claimant_name-given_kana": "ひふみ",
        "f-claimant_birth_date-year": "昭和62",
        "f-claimant_birth_date-month": "7",
        "f-claimant_birth_date-day": "7",
        **{f"f-claimant_address-{part}": value for part, value in ADDRESS.items()},
        "f-claimant_phone": "080-2468-1357",
        "f-claimant_my_number": MY_NUMBER,
        "f-public_servant": "no",
    },
    "spouse": {"f-has_spouse": "no"},
    "children": {
        "f-children-count": "1",
        "f-children-0-child_name-family": "鈴木",
        "f-children-0-child_name-given": "葵",
        "f-children-0-child_name-family_kana": "すずき",
        "f-children-0-child_name-given_kana": "あおい",
        "f-children-0-child_birth_date-year": "令和2",
        "f-children-0-child_birth_date-month": "2",
        "f-children-0-child_birth_date-day": "2",
        "f-children-0-child_relationship": "子",
        "f-children-0-child_living": "together",
        "f-older_siblings": "0",
    },
    "bank": {
        "f-bank_name": "あおば銀行",
        "f-branch_name": "本店",
        "f-account_type": "普通",
        "f-account_number": "7654321",
        "f-account_holder_kana": "スズキ ヒフミ",
    },
    "declaration": {"f-declaration": "yes"},
}

SECRETS = [
    MY_NUMBER,
    MY_NUMBER[:4] + " " + MY_NUMBER[4:8],
    "一二三",
    "ひふみ",
    "ヒフミ",
    "葵",
    "080-2468-1357",
    "08024681357",
    "8024681357",
    "7654321",
    # Hanako's, in the dog registration
    "山田",
    "花子",
    "090-1234-5678",
    "9012345678",
]

_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 1, "x", None, None)))


def record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    parts.extend(f"{key}={value!r}" for key, value in vars(record).items() if key not in _STANDARD)
    return "\n".join(parts)


@pytest.fixture
def every_logger_at_debug(caplog):
    """Every logger at DEBUG, and records of loggers that do not propagate captured too."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    extra_handlers = []
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(caplog.handler)
            extra_handlers.append(logger)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for logger in extra_handlers:
        logger.removeHandler(caplog.handler)
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled


def assert_no_secrets(records) -> None:
    assert records, "nothing was logged: the test would prove nothing"
    for record in records:
        text = record_text(record)
        for secret in SECRETS:
            assert secret not in text, (secret, record.name, text[:500])


def test_child_allowance_through_the_pages(
    hanako, every_logger_at_debug, django_capture_on_commit_callbacks
):
    client = login(hanako, level="mynumber_card")
    application_id = application_id_from(start(client, "992011", "child-allowance"))
    # A mistake first: the page comes back with errors (and django.request logs a 422).
    wrong = {
        **CHILD_ALLOWANCE_PAGES["claimant"],
        "f-claimant_phone": "080-2468-135",
        "f-claimant_my_number": MY_NUMBER[:-1] + str((int(MY_NUMBER[-1]) + 1) % 10),
    }
    assert post_page(client, application_id, "claimant", wrong).status_code == 422
    fill_pages(client, application_id, CHILD_ALLOWANCE_PAGES)
    from tests.esign.helpers import sign_if_required

    sign_if_required(client, application_id)  # the procedure requires 電子署名
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/applications/{application_id}/check/")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get(response["Location"]).status_code == 200
    assert client.get(f"/applications/{application_id}/").status_code == 200

    records = every_logger_at_debug.records
    assert any(r.name == "django.request" and r.status_code == 422 for r in records)
    assert any(r.name == "django_tasks" for r in records)  # the e-mail task ran
    assert_no_secrets(records)


def test_child_allowance_and_dog_registration_through_the_api(
    hanako, every_logger_at_debug, django_capture_on_commit_callbacks
):
    from madoguchi.identity.models import ApiToken

    session = login(hanako, level="mynumber_card")
    _token, raw = ApiToken.issue(user=hanako, name="t")
    with django_capture_on_commit_callbacks(execute=True):
        wrong = post_application(
            session,
            procedure="child-allowance",
            answers={**CHILD_ALLOWANCE, "claimant_my_number": MY_NUMBER[:-1] + "x"},
        )
        assert wrong.status_code == 422
        from tests.esign.helpers import post_signed_application

        # The procedure requires the applicant's signature: draft, sign, submit.
        created = post_signed_application(
            session, procedure="child-allowance", answers=CHILD_ALLOWANCE
        )
        assert created.status_code == 200, created.content.decode()
        assert post_application(session, answers=DOG, token=raw).status_code == 201
        assert (
            post_application(session, answers={**DOG, "owner_phone": "1"}, token=raw).status_code
            == 422
        )
    assert session.get("/api/applications", headers=bearer(raw)).status_code == 200

    records = every_logger_at_debug.records
    assert any(r.name == "django.request" and r.status_code == 422 for r in records)
    assert_no_secrets(records)


def test_the_console_handler_drops_the_request_from_records(settings):
    """Handlers configured by LOGGING cannot write out a request's POST data or cookies."""
    handler = settings.LOGGING["handlers"]["console"]
    assert "strip_request" in handler["filters"]
    assert (
        settings.LOGGING["filters"]["strip_request"]["()"]
        == "madoguchi.core.logging.StripRequestFilter"
    )
    request = RequestFactory().post("/x/", {"f-claimant_my_number": MY_NUMBER})
    record = logging.LogRecord("django.request", logging.WARNING, "x", 1, "Bad: %s", ("/x/",), None)
    record.request = request
    assert StripRequestFilter().filter(record) is True
    assert record.request is None
    assert MY_NUMBER not in record_text(record)
    # Root's handlers from LOGGING carry the filter (the ones pytest adds do not count).
    configured = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert configured
    assert all(any(isinstance(f, StripRequestFilter) for f in h.filters) for h in configured)


def test_template_debug_records_are_dropped_even_at_debug_level(every_logger_at_debug):
    """django.template logs failed lookups with the context searched (personal data)."""
    template_logger = logging.getLogger("django.template")
    assert any(isinstance(f, DropDebugRecords) for f in template_logger.filters)
    assert template_logger.level == logging.DEBUG  # turned down by the fixture
    template_logger.debug("context %s", {"name": "一二三"})
    template_logger.warning("a warning still gets through")
    messages = [r.getMessage() for r in every_logger_at_debug.records]
    assert messages == ["a warning still gets through"]
