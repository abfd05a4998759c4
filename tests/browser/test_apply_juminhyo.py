"""A resident applies for 住民票の写し in a real browser, from the catalogue to the 受付番号,
and every page on the way is checked with axe-core (WCAG 2.1 A/AA)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from madoguchi.counter.models import Application, State
from madoguchi.counter.receipts import is_valid_receipt_number
from madoguchi.sample.data import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_apply_for_juminhyo_from_catalogue_to_receipt_number(
    sample, hanako, live_server, page, axe
):
    page.goto(live_server.url + "/")
    axe.check(page)

    page.get_by_role("link", name="手続の一覧を見る").click()
    page.wait_for_url("**/procedures/")
    axe.check(page)

    page.get_by_label("キーワード").fill("じゅうみんひょう")
    page.get_by_role("button", name="さがす").click()
    page.wait_for_url(re.compile(r".*/procedures/\?q=.*"))
    axe.check(page)
    page.get_by_role("link", name="住民票の写し等の交付請求").click()
    page.wait_for_url("**/procedures/992011/juminhyo-copy/")
    axe.check(page)

    page.get_by_role("button", name="オンラインで申請する").click()
    page.wait_for_url(re.compile(r".*/account/login/.*"))
    axe.check(page)
    page.get_by_label("メールアドレス").fill(hanako.email)
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    page.wait_for_url("**/procedures/992011/juminhyo-copy/start/")
    axe.check(page)
    prefill = page.get_by_label("登録済みの氏名・住所・生年月日・連絡先を入力欄にあらかじめ入れる")
    assert not prefill.is_checked()  # the resident's choice, not ticked beforehand
    prefill.check()
    page.get_by_role("button", name="入力をはじめる").click()

    # 請求する方: prefilled from the profile with consent; one mistake first, to see the errors.
    page.wait_for_url(re.compile(r".*/pages/requester/$"))
    assert page.get_by_label("姓", exact=True).input_value() == "山田"
    page.get_by_role("button", name="次へ進む").click()
    error_summary = page.get_by_role("alert")
    assert "証明が必要な方との関係を選択してください" in error_summary.inner_text()
    axe.check(page)
    page.get_by_label("本人", exact=True).check()
    page.get_by_role("button", name="次へ進む").click()

    page.wait_for_url(re.compile(r".*/pages/target/$"))
    axe.check(page)
    page.get_by_label("郵便番号").fill("100-0001")
    page.get_by_role("button", name="郵便番号から住所を入力").click()
    # With JavaScript the address is filled in place (without it, the page reloads filled).
    expect(page.get_by_label("市区町村")).to_have_value("千代田区")
    expect(page.get_by_label("都道府県")).to_have_value("東京都")
    page.get_by_label("町名・番地").fill("千代田1-1")
    page.get_by_label("世帯全員").check()
    page.get_by_role("button", name="次へ進む").click()

    page.wait_for_url(re.compile(r".*/pages/certificate/$"))
    axe.check(page)
    page.get_by_label("住民票の写し", exact=True).check()
    page.get_by_label("通数").fill("２")
    page.get_by_role("button", name="次へ進む").click()

    page.wait_for_url(re.compile(r".*/pages/purpose/$"))
    axe.check(page)
    page.get_by_label("就職・資格").check()
    page.get_by_role("button", name="次へ進む").click()

    page.wait_for_url(re.compile(r".*/pages/confirm/$"))
    axe.check(page)
    page.get_by_label("請求内容に誤りがないことを確認しました").check()
    page.get_by_role("button", name="次へ進む").click()

    page.wait_for_url(re.compile(r".*/check/$"))
    axe.check(page)
    body = page.locator("main").inner_text()
    assert "600円" in body and "昭和63年6月15日" in body and "千代田区" in body

    # Submission needs My Number Card identity: step up (the demo provider) and come back.
    page.get_by_role("link", name="本人確認をする").click()
    page.wait_for_url(re.compile(r".*/account/step-up/.*"))
    axe.check(page)
    page.get_by_role("button", name=re.compile("マイナンバーカードで本人確認")).click()
    page.wait_for_url(re.compile(r".*/check/$"))
    axe.check(page)
    # The procedure requires 電子署名: sign (the demo certificate) and come back.
    page.get_by_role("link", name="電子署名へ進む").click()
    page.wait_for_url(re.compile(r".*/signature/$"))
    axe.check(page)
    page.get_by_role("button", name="デモの証明書で署名する").click()
    page.wait_for_url(re.compile(r".*/check/$"))
    axe.check(page)
    page.get_by_role("button", name="この内容で申請する").click()

    page.wait_for_url(re.compile(r".*/done/$"))
    axe.check(page)
    receipt = page.get_by_test_id("receipt-number").inner_text().strip()
    assert is_valid_receipt_number(receipt)
    application = Application.objects.get(receipt_number=receipt)
    assert application.state == State.SUBMITTED
    assert application.applicant == hanako
    assert application.fee_amount == 600
    assert application.answers["copies"] == 2

    page.get_by_role("link", name="申請の状況を見る").click()
    page.wait_for_url(re.compile(r".*/applications/[0-9a-f-]+/$"))
    axe.check(page)
    assert receipt in page.locator("main").inner_text()

    assert len(axe.checked) == 18
    assert axe.violations == [], "\n".join(axe.violations)
