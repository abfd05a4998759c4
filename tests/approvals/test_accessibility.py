"""The staff pages of 電子決裁 and of the organisation in a real browser: an approval decided
with the keyboard alone, and every page — error pages included — checked with axe-core
(WCAG 2.1 A/AA)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from madoguchi.approvals.models import InstanceState
from madoguchi.identity.models import User

from ..conftest import login
from .conftest import STAFF, only_pending, start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROUTE = """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief, unit: shomei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""


def logged_in(page, live_server, email: str) -> None:
    client = login(User.objects.get(email=email))
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_deciding_with_the_keyboard_and_no_axe_violations(
    sample,
    route,
    recorder,
    live_server,
    page,
    axe,
):
    instance = start(route(ROUTE), User.objects.get(email=STAFF["tanto"]))
    logged_in(page, live_server, STAFF["kakaricho"])
    page.goto(f"{live_server.url}/staff/approvals/")
    axe.check(page)
    page.get_by_role("link", name="テストの起案").click()
    page.wait_for_url(re.compile(r".*/staff/approvals/[0-9a-f-]{36}/$"))
    axe.check(page)
    # A return without a comment: the error summary, then the field, keep the choice.
    page.get_by_label("起案者").check()
    page.get_by_role("button", name="差し戻す").click()
    summary = page.get_by_role("alert")
    assert "コメントを入力してください。" in summary.inner_text()
    axe.check(page)
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
    page.keyboard.type("確認しました。")
    page.keyboard.press("Tab")  # to the choice of where to return
    comment = page.get_by_label("コメント（差し戻すときは必須）")
    assert comment.input_value() == "確認しました。"
    page.get_by_role("button", name="承認する").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/staff/approvals/[0-9a-f-]{36}/$"))
    assert "承認しました。" in page.get_by_role("status").inner_text()
    axe.check(page)
    instance.refresh_from_db()
    assert instance.current_stage == 1
    assert only_pending(instance).key == "kacho"

    # The deputy of the 課長 decides it, on their phone.
    logged_in(page, live_server, STAFF["hosa"])
    page.goto(f"{live_server.url}/staff/approvals/")
    assert "田中 健さんの代決" in page.content()
    page.get_by_role("link", name="テストの起案").click()
    page.get_by_role("button", name="決裁する").click()
    page.wait_for_url(re.compile(r".*/staff/approvals/[0-9a-f-]{36}/$"))
    axe.check(page)
    instance.refresh_from_db()
    assert instance.state == InstanceState.COMPLETED
    assert axe.violations == [], "\n".join(axe.violations)


def test_documents_deputies_and_administration_pages_pass_axe(
    sample,
    live_server,
    page,
    axe,
):
    logged_in(page, live_server, STAFF["tanto"])
    page.goto(f"{live_server.url}/staff/approvals/documents/new/")
    axe.check(page)
    page.get_by_role("button", name="保存する").click()
    assert "件名を入力してください。" in page.get_by_role("alert").inner_text()
    axe.check(page)
    page.get_by_label("件名").fill("案内表示の更新")
    page.get_by_role("button", name="保存する").click()
    page.wait_for_url(re.compile(r".*/documents/[0-9a-f-]{36}/$"))
    axe.check(page)
    page.goto(f"{live_server.url}/staff/approvals/delegations/")
    axe.check(page)
    page.goto(f"{live_server.url}/staff/approvals/routes/992011/internal-finance/")
    axe.check(page)

    logged_in(page, live_server, STAFF["admin"])
    for path in (
        "",
        "units/shiminka/",
        "units/new/",
        "positions/",
        "delegations/",
        "grants/",
        "import/",
    ):
        page.goto(f"{live_server.url}/staff/organisation/992011/{path}")
        axe.check(page)
    page.get_by_label("組織の CSV").set_input_files(
        files=[
            {
                "name": "units.csv",
                "mimeType": "text/csv",
                "buffer": "組織コード,名称,種別\nx,X,局\n".encode(),
            }
        ]
    )
    page.get_by_role("button", name="実行する").click()
    assert "何も取り込んでいません" in page.content()
    axe.check(page)
    assert axe.violations == [], "\n".join(axe.violations)
