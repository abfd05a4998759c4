"""Booking a visit in a real browser with the keyboard only, every page checked with
axe-core (WCAG 2.1 A/AA): the days are a list of links, the times a group of radio
buttons, so a screen reader reads them as such."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from madoguchi.appointments.models import Booking
from tests.appointments import conftest as appointment_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
counter = appointment_fixtures.counter  # the fixture of the appointment tests


def logged_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_book_with_the_keyboard_and_no_axe_violations(
    counter,
    hanako,
    live_server,
    page,
    axe,
):
    logged_in(page, live_server, hanako)
    page.goto(f"{live_server.url}/account/appointments/new/?counter={counter.pk}")
    axe.check(page)
    days = page.get_by_role("list", name="日にちを選ぶ")
    # The second day listed: the first may be today, with few times left late in the day.
    whole_day = days.get_by_role("link").nth(1)
    label = whole_day.inner_text()
    assert "空き" in label
    whole_day.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*day=\d{4}-\d{2}-\d{2}.*"))
    axe.check(page)
    group = page.get_by_role("group", name=re.compile("の時間を選ぶ"))
    radios = group.get_by_role("radio")
    assert radios.count() > 10
    radios.nth(2).focus()
    page.keyboard.press("Space")
    assert radios.nth(2).is_checked()
    chosen = group.locator("label").nth(2).inner_text()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/account/appointments/[0-9a-f-]+/$"))
    axe.check(page)
    booking = Booking.objects.get(user=hanako)
    assert booking.reference in page.locator("main").inner_text()
    assert chosen.split("（")[0].split("〜")[0] in page.locator("main").inner_text()
    assert page.get_by_role("img", name=re.compile("受付用QRコード")).is_visible()
    page.get_by_role("link", name="日時を変更する").click()
    axe.check(page)
    assert len(axe.checked) == 4
    assert axe.violations == [], "\n".join(axe.violations)


def test_the_guest_pages_have_no_axe_violations(counter, live_server, page, axe):
    page.goto(f"{live_server.url}/appointments/992011/{counter.code}/")
    axe.check(page)
    page.get_by_role("list", name="日にちを選ぶ").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*day=.*"))
    axe.check(page)
    page.get_by_role("button", name="確認メールを送る").click()  # nothing chosen: errors
    summary = page.get_by_role("alert")
    assert "時間を選んでください" in summary.inner_text()
    assert "メールアドレスの形式で入力してください" in summary.inner_text()
    axe.check(page)
    assert axe.violations == [], "\n".join(axe.violations)
