"""Paying a fee by card in a real browser, through the Stripe test double's hosted page,
our pages checked with axe-core (WCAG 2.1 A/AA)."""

from __future__ import annotations

import re

import pytest

from madoguchi.counter.models import Application, State
from madoguchi.payments.models import Payment, Status
from tests.payments import conftest as payment_fixtures
from tests.payments.helpers import fill_certificate

from .test_book_appointment import logged_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The fixtures of the payment tests.
bank_settings = payment_fixtures.bank_settings
certificate = payment_fixtures.certificate
stripe = payment_fixtures.stripe


def test_pay_by_card_then_the_application_is_sent(
    certificate,
    stripe,
    hanako,
    hanako_client,
    live_server,
    page,
    axe,
    settings,
):
    settings.MADOGUCHI_BASE_URL = live_server.url
    application_id = fill_certificate(hanako_client)
    logged_in(page, live_server, hanako)
    page.goto(f"{live_server.url}/applications/{application_id}/check/")
    axe.check(page)
    assert "600円" in page.get_by_test_id("fee-total").inner_text()
    page.get_by_role("button", name=re.compile("600円を支払って申請する")).click()
    page.wait_for_url(re.compile(r".*/payments/applications/.*/start/$"))
    axe.check(page)
    page.get_by_role("link", name="決済サービスの画面へ進む").click()
    page.wait_for_url(re.compile(re.escape(stripe.base_url) + "/pay/.*"))
    page.get_by_role("button", name="支払う").click()
    page.wait_for_url(re.compile(r".*/done/$"))
    axe.check(page)
    main = page.locator("main").inner_text()
    application = Application.objects.get(pk=application_id)
    assert application.state == State.SUBMITTED and application.receipt_number in main
    assert "納付済み" in main and "お支払いを確認しました" in main
    assert Payment.objects.get().status == Status.PAID
    page.get_by_role("link", name="詳細").click()
    axe.check(page)
    assert len(axe.checked) == 4
    assert axe.violations == [], "\n".join(axe.violations)
