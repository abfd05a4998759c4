"""A resident downloads an issued permit and anyone verifies it, in a real browser; every
page is checked with axe-core (WCAG 2.1 A/AA)."""

from __future__ import annotations

import re

import pytest

from madoguchi.sample.data import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_download_the_permit_and_verify_it_without_logging_in(
    sample, hanako, live_server, browser, page, axe, tmp_path
):
    from madoguchi.issuance import services
    from madoguchi.issuance.models import DocumentState
    from tests.issuance.helpers import approved_parking

    document = services.schedule_issuance(application_id=approved_parking(hanako).pk)
    services.issue_document(document_id=document.pk)
    document.refresh_from_db()
    assert document.state == DocumentState.ISSUED

    page.goto(live_server.url + "/account/login/")
    page.get_by_label("メールアドレス").fill(hanako.email)
    page.get_by_label("パスワード").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/documents/")
    axe.check(page)
    page.get_by_role("link", name="おもいやり駐車場利用証").click()
    page.wait_for_url(re.compile(r".*/documents/[0-9a-f-]+/$"))
    axe.check(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="PDFをダウンロードする").click()
    saved = tmp_path / "permit.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")

    # Someone else, not logged in, checks the file the resident showed them.
    context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    public = context.new_page()
    public.goto(live_server.url + "/verify/")
    axe.check(public)
    public.get_by_label("確認するPDFファイル").set_input_files(str(saved))
    public.get_by_role("button", name="確認する", exact=True).click()
    public.wait_for_load_state()
    body = public.locator("main").inner_text()
    assert "この文書は本物です" in body and document.number in body
    axe.check(public)
    # What the QR code opens.
    public.goto(live_server.url + f"/verify/{document.pk}/")
    assert "有効" in public.locator("main").inner_text()
    axe.check(public)
    context.close()
    assert axe.violations == [], "\n".join(axe.violations)
