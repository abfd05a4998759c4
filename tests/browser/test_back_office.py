"""The staff pages in a real browser, checked with axe-core (WCAG 2.1 A/AA): the home
page, the queue (also with an error summary), an application with its forms, the
dashboard and the 書かない窓口 pages; a 補正 requested with the keyboard only."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import expect

from madoguchi.counter.models import Application, State
from tests.backoffice.conftest import submit_dog
from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logged_in(page, live_server, user) -> None:
    """The browser gets the session of a staff log-in with its second factor."""
    client = login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_the_staff_pages_have_no_axe_violations(hanako, kankyo_staff, live_server, page, axe):
    application = submit_dog(hanako)
    logged_in(page, live_server, kankyo_staff)
    for path in (
        "/staff/",
        "/staff/queue/",
        "/staff/queue/?due_to=tomorrow",
        f"/staff/applications/{application.pk}/",
        f"/staff/units/{application.unit_id}/",
        "/staff/counter/",
        "/staff/outbox/",
        "/staff/settings/notifications/",
    ):
        page.goto(live_server.url + path)
        assert page.url == live_server.url + path  # the page itself, not a log-in step
        axe.check(page)
    assert axe.violations == [], "\n".join(axe.violations)


def test_a_correction_with_the_keyboard(hanako, kankyo_staff, live_server, page, axe):
    application = submit_dog(hanako)
    logged_in(page, live_server, kankyo_staff)
    page.goto(f"{live_server.url}/staff/applications/{application.pk}/")
    form = page.locator("form", has=page.get_by_role("button", name="補正を依頼する"))
    form.get_by_label("犬の名前").focus()
    page.keyboard.press("Space")
    form.get_by_label("補正の内容").focus()
    page.keyboard.type("お名前の表記をご確認ください。")
    form.get_by_role("button", name="補正を依頼する").focus()
    # The form posts and is redirected back to the page it is on: waiting for the URL
    # would return before the POST, so wait for the confirmation itself.
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("補正を依頼しました。")
    assert page.url == f"{live_server.url}/staff/applications/{application.pk}/"
    axe.check(page)
    assert Application.objects.get(pk=application.pk).state == State.CORRECTION_REQUESTED
    assert axe.violations == [], "\n".join(axe.violations)
