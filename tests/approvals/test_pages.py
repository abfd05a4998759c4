"""The staff pages of 電子決裁: lists, an approval's page, acting through forms (a refusal
shows the page again with the message and the comment that was typed), internal
documents, my deputies and the routes — without JavaScript, no inline script or style."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.approvals import selectors
from madoguchi.approvals.models import ApprovalStep, DocumentState, InternalDocument, StepState

from ..conftest import login
from .conftest import only_pending, start, unit

pytestmark = pytest.mark.django_db

SEQUENTIAL = """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief, unit: shomei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def assert_no_inline_code(html: str) -> None:
    """The CSP forbids inline script and style: none may be in the page."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


@pytest.fixture
def instance(people, route, recorder):
    return start(route(SEQUENTIAL), people.tanto)


def test_the_inbox_lists_my_items_and_those_i_may_decide_as_deputy(people, instance):
    response = login(people.kakaricho).get(reverse("approvals:inbox"))
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("approvals:detail", args=[instance.pk]) in html
    assert "係長審査（1/2）" in html
    assert_no_inline_code(html)
    step = only_pending(instance)
    login(people.kakaricho).post(
        reverse("approvals:act", args=[step.pk]), {"action": "approve", "version": "1"}
    )
    deputy = login(people.hosa).get(reverse("approvals:inbox")).content.decode()
    assert "田中 健さんの代決" in deputy
    assert "課長決裁（2/2）" in deputy


def test_the_history_names_whom_a_deputy_decided_for(people, instance):
    login(people.kakaricho).post(
        reverse("approvals:act", args=[only_pending(instance).pk]),
        {"action": "approve", "version": "1"},
    )
    client = login(people.hosa)
    step = only_pending(instance)
    response = client.post(
        reverse("approvals:act", args=[step.pk]),
        {"action": "approve", "version": str(step.version), "on_behalf_of": str(people.kacho.pk)},
    )
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.state == "completed"
    page = client.get(reverse("approvals:detail", args=[instance.pk])).content.decode()
    # The 課長 never acted: their name comes from the event's on_behalf_of alone.
    start = page.index('<ol class="timeline">', page.index("<h2>履歴</h2>"))
    history = page[start : page.index("</ol>", start)]
    assert "田中 健さんの代決" in history


def test_the_page_is_only_for_those_who_may_see_it(people, instance, hanako):
    url = reverse("approvals:detail", args=[instance.pk])
    assert login(people.kakaricho).get(url).status_code == 200
    assert login(people.bucho).get(url).status_code == 200
    assert login(people.kankyo).get(url).status_code == 404
    assert login(people.minato).get(url).status_code == 404
    assert login(hanako).get(url).status_code == 404
    anonymous = login(people.kankyo).__class__().get(url)
    assert anonymous.status_code == 302 and "/account/login/" in anonymous["Location"]


def test_approving_and_deciding_through_the_forms(people, instance):
    client = login(people.kakaricho)
    page = client.get(reverse("approvals:detail", args=[instance.pk])).content.decode()
    assert "承認する" in page and 'name="version" value="1"' in page
    assert_no_inline_code(page)
    step = only_pending(instance)
    response = client.post(
        reverse("approvals:act", args=[step.pk]),
        {"action": "approve", "version": "1", "comment": "よいと思います"},
    )
    assert response.status_code == 302
    assert ApprovalStep.objects.get(pk=step.pk).state == StepState.APPROVED
    final = only_pending(instance)
    page = login(people.kacho).get(reverse("approvals:detail", args=[instance.pk])).content.decode()
    assert "決裁する" in page and "よいと思います" in page
    login(people.kacho).post(
        reverse("approvals:act", args=[final.pk]), {"action": "approve", "version": "1"}
    )
    instance.refresh_from_db()
    assert instance.state == "completed"
    history = (
        login(people.kacho).get(reverse("approvals:detail", args=[instance.pk])).content.decode()
    )
    assert "決裁完了" in history and "高橋 美咲" in history


def test_the_second_of_two_approvers_keeps_what_they_typed(people, instance):
    step = only_pending(instance)
    login(people.kakaricho).post(
        reverse("approvals:act", args=[step.pk]), {"action": "approve", "version": "1"}
    )
    final = only_pending(instance)
    # The 課長 and their deputy have the page open at the same version.
    login(people.kacho).post(
        reverse("approvals:act", args=[final.pk]), {"action": "approve", "version": "1"}
    )
    typed = "課長がお戻りになる前に確認しました。修正点: 第3条の日付"
    response = login(people.hosa).post(
        reverse("approvals:act", args=[final.pk]),
        {
            "action": "return",
            "version": "1",
            "comment": typed,
            "on_behalf_of": str(people.kacho.pk),
        },
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "他の職員が先に操作しました" in html and "田中 健さんが承認しました" in html
    assert typed in html
    assert 'class="error-summary"' in html and f'href="#comment-{final.pk}"' in html
    assert f'id="comment-{final.pk}"' in html
    assert ApprovalStep.objects.get(pk=final.pk).acted_by == people.kacho


def test_a_return_without_a_comment_shows_the_error_at_the_field(people, instance):
    step = only_pending(instance)
    response = login(people.kakaricho).post(
        reverse("approvals:act", args=[step.pk]),
        {"action": "return", "version": "1", "to": "drafter"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "コメントを入力してください。" in html
    assert f'href="#comment-{step.pk}"' in html
    # The choice made is kept too.
    assert re.search(r'id="to-drafter-\d+" name="to" value="drafter" checked', html)
    assert only_pending(instance) == step


def test_someone_who_only_sees_the_item_cannot_act_on_it(people, instance):
    step = only_pending(instance)
    page = login(people.bucho).get(reverse("approvals:detail", args=[instance.pk])).content.decode()
    assert "承認する" not in page
    response = login(people.bucho).post(
        reverse("approvals:act", args=[step.pk]),
        {"action": "approve", "version": "1", "comment": "x"},
    )
    assert response.status_code == 403
    assert "権限がありません" in response.content.decode()
    assert (
        login(people.kankyo)
        .post(reverse("approvals:act", args=[step.pk]), {"action": "approve", "version": "1"})
        .status_code
        == 404
    )


def test_the_drafter_recalls_from_the_page(people, instance):
    client = login(people.tanto)
    page = client.get(reverse("approvals:detail", args=[instance.pk])).content.decode()
    assert "引き上げる" in page
    response = client.post(
        reverse("approvals:recall", args=[instance.pk]), {"version": instance.version}
    )
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.state == "recalled"
    again = client.post(
        reverse("approvals:recall", args=[instance.pk]), {"version": instance.version}
    )
    assert again.status_code == 409


# --- internal documents -----------------------------------------------------------------


def test_drafting_a_document_through_the_pages(people, aoba):
    client = login(people.tanto)
    form = client.get(reverse("approvals:document_new"))
    assert form.status_code == 200 and "起案文書を作成する" in form.content.decode()
    assert_no_inline_code(form.content.decode())
    general = next(r for r in selectors.routes_of_body(aoba) if r.identifier == "internal-general")
    bad = client.post(
        reverse("approvals:document_new"),
        {
            "unit": unit("shiminka").pk,
            "title": "",
            "text": "長い本文を書きました。",
            "amount": "",
            "route": general.pk,
        },
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "件名を入力してください。" in html and "長い本文を書きました。" in html
    assert 'href="#title"' in html
    response = client.post(
        reverse("approvals:document_new"),
        {
            "unit": unit("shiminka").pk,
            "title": "案内表示の更新",
            "text": "本文",
            "amount": "",
            "route": general.pk,
        },
    )
    assert response.status_code == 302
    document = InternalDocument.objects.get(title="案内表示の更新")
    url = reverse("approvals:document", args=[document.pk])
    assert response["Location"] == url
    attached = client.post(
        reverse("approvals:document_attach", args=[document.pk]),
        {"file": SimpleUploadedFile("図面.pdf", PDF, content_type="application/pdf")},
    )
    assert attached.status_code == 302
    refused = client.post(
        reverse("approvals:document_attach", args=[document.pk]),
        {"file": SimpleUploadedFile("x.pdf", b"not a pdf at all", content_type="application/pdf")},
    )
    assert refused.status_code == 422 and 'href="#file"' in refused.content.decode()
    page = client.get(url).content.decode()
    assert "図面.pdf" in page
    link = document.attachments.get()
    download = client.get(
        reverse("approvals:document_file", args=[document.pk, link.stored_file_id])
    )
    assert download.status_code == 200 and "sandbox" in download["Content-Security-Policy"]
    document.refresh_from_db()
    submitted = client.post(
        reverse("approvals:document_submit", args=[document.pk]), {"version": document.version}
    )
    assert submitted.status_code == 302
    document.refresh_from_db()
    assert document.state == DocumentState.IN_APPROVAL
    # The 課長 decides it from the approval's page; the number appears on the document.
    instance = selectors.open_instance_of("internal_document", document.pk)
    step = only_pending(instance)
    login(people.kacho).post(
        reverse("approvals:act", args=[step.pk]), {"action": "approve", "version": "1"}
    )
    page = login(people.kacho).get(url).content.decode()
    assert "青市民第1号" in page and "年度" in page
    # Staff of another unit do not see it, nor its files.
    assert login(people.kankyo).get(url).status_code == 404
    assert (
        login(people.kankyo)
        .get(reverse("approvals:document_file", args=[document.pk, link.stored_file_id]))
        .status_code
        == 404
    )


def test_a_stale_document_form_keeps_the_text(people, aoba):
    general = next(r for r in selectors.routes_of_body(aoba) if r.identifier == "internal-general")
    client = login(people.tanto)
    client.post(
        reverse("approvals:document_new"),
        {"unit": unit("shiminka").pk, "title": "一", "text": "", "amount": "", "route": general.pk},
    )
    document = InternalDocument.objects.get()
    edit = reverse("approvals:document_edit", args=[document.pk])
    seen = document.version
    client.post(
        edit, {"version": seen, "title": "二", "text": "", "amount": "", "route": general.pk}
    )
    response = client.post(
        edit,
        {
            "version": seen,
            "title": "三",
            "text": "別の画面で書いた本文",
            "amount": "",
            "route": general.pk,
        },
    )
    assert response.status_code == 409
    assert "別の画面で書いた本文" in response.content.decode()
    document.refresh_from_db()
    assert document.title == "二"


def test_documents_of_others_cannot_be_edited(people, aoba):
    general = next(r for r in selectors.routes_of_body(aoba) if r.identifier == "internal-general")
    login(people.tanto).post(
        reverse("approvals:document_new"),
        {"unit": unit("shiminka").pk, "title": "一", "text": "", "amount": "", "route": general.pk},
    )
    document = InternalDocument.objects.get()
    # A draft is the drafter's alone.
    assert (
        login(people.kacho).get(reverse("approvals:document", args=[document.pk])).status_code
        == 404
    )
    assert (
        login(people.kacho).get(reverse("approvals:document_edit", args=[document.pk])).status_code
        == 404
    )
    response = login(people.kacho).post(
        reverse("approvals:document_submit", args=[document.pk]), {"version": document.version}
    )
    assert response.status_code == 404


# --- deputies and routes ----------------------------------------------------------------


def test_an_approver_names_and_cancels_their_deputy(people):
    client = login(people.kodomo_kacho)
    bad = client.post(
        reverse("approvals:delegations"),
        {
            "deputy": "kodomo.tanto@aoba.example.jp",
            "start_date": "2026-13-01",
            "end_date": "2026-12-31",
        },
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert "開始日は 2026-12-01 の形式で入力してください。" in html
    assert 'value="kodomo.tanto@aoba.example.jp"' in html
    from django.utils import timezone

    today = timezone.localdate()
    response = client.post(
        reverse("approvals:delegations"),
        {
            "deputy": "kodomo.tanto@aoba.example.jp",
            "start_date": today.isoformat(),
            "end_date": today.replace(year=today.year + 1, month=1, day=1).isoformat(),
        },
    )
    assert response.status_code == 302
    delegation = people.kodomo_kacho.delegations_given.get()
    assert delegation.deputy == people.kodomo_tanto
    page = client.get(reverse("approvals:delegations")).content.decode()
    assert "伊藤 さくら" in page
    assert_no_inline_code(page)
    cancelled = client.post(reverse("approvals:delegation_cancel", args=[delegation.pk]))
    assert cancelled.status_code == 302
    delegation.refresh_from_db()
    assert delegation.cancelled_at is not None
    # Someone else's delegation is not theirs to cancel.
    other = people.kacho.delegations_given.get()
    assert client.post(reverse("approvals:delegation_cancel", args=[other.pk])).status_code == 404


def test_routes_are_shown_read_only(people):
    client = login(people.tanto)
    listing = client.get(reverse("approvals:routes")).content.decode()
    assert "支出負担行為（財務会計）" in listing
    page = client.get(
        reverse("approvals:route", args=["992011", "internal-finance"])
    ).content.decode()
    assert "財政課の課長" in page and "合議" in page and "決裁権者" in page
    assert_no_inline_code(page)
    # Another body's routes are not listed for あおば市 staff.
    assert (
        client.get(reverse("approvals:route", args=["990001", "welfare-permit"])).status_code == 404
    )
