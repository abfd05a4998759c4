"""Every sample procedure, from the start page to a 受付番号, through the HTML views."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.core import mail, serializers
from django.urls import reverse

from madoguchi.core.crypto import decrypt_text
from madoguchi.counter.models import Application, ApplicationFile, State
from madoguchi.counter.receipts import is_valid_receipt_number
from madoguchi.notifications.models import OutboundEmail

from ..conftest import login
from .helpers import (
    DOG_PAGES,
    application_id_from,
    error_summary_links,
    form_values,
    post_page,
    start,
)
from .uploads import jpeg, pdf, png, upload

pytestmark = pytest.mark.django_db

MY_NUMBER = "123456789018"  # a valid 個人番号 (check digit 8), typed with spaces below
SPOUSE_MY_NUMBER = "987654321093"


def _address(prefix: str, **override) -> dict[str, str]:
    values = {
        f"{prefix}-postal_code": "100-0001",
        f"{prefix}-prefecture": "東京都",
        f"{prefix}-city": "千代田区",
        f"{prefix}-street": "千代田1-1",
        f"{prefix}-building": "",
    }
    values.update({f"{prefix}-{key}": value for key, value in override.items()})
    return values


def _name(prefix: str, family: str, given: str, family_kana: str = "", given_kana: str = ""):
    values = {f"{prefix}-family": family, f"{prefix}-given": given}
    if family_kana:
        values |= {f"{prefix}-family_kana": family_kana, f"{prefix}-given_kana": given_kana}
    return values


def _date(prefix: str, year: str, month: str, day: str) -> dict[str, str]:
    return {f"{prefix}-year": year, f"{prefix}-month": month, f"{prefix}-day": day}


def _go(client, application_id, page_id, data, *, expect_next: str | None):
    response = post_page(client, application_id, page_id, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    if expect_next is None:
        assert response["Location"] == reverse("counter:check", args=[application_id])
    else:
        assert response["Location"] == reverse("counter:page", args=[application_id, expect_next])
    return response


def _submit(client, application_id, capture):
    from tests.esign.helpers import sign_if_required

    sign_if_required(client, application_id)  # 電子署名, for procedures that require it
    with capture(execute=True):
        response = client.post(reverse("counter:check", args=[application_id]))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("counter:done", args=[application_id])
    application = Application.objects.get(pk=application_id)
    assert application.state == State.SUBMITTED
    assert is_valid_receipt_number(application.receipt_number)
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert application.receipt_number in done.content.decode()
    submitted_mail = [m for m in mail.outbox if application.receipt_number in m.subject]
    assert len(submitted_mail) == 1
    assert submitted_mail[0].to == [application.applicant.email]
    assert application.receipt_number in submitted_mail[0].body
    assert (
        OutboundEmail.objects.filter(
            related_id=str(application.pk), template="application_submitted"
        ).count()
        == 1
    )
    return application


# --- 住民票の写し (あおば市): profile prefill, groups, conditions, fee per copy -------------


def test_juminhyo_copy_with_profile_prefill_group_conditions_and_fee(
    hanako, django_capture_on_commit_callbacks
):
    client = login(hanako, level="mynumber_card")
    response = start(client, "992011", "juminhyo-copy", {"role": "self", "use_profile": "yes"})
    application_id = application_id_from(response)
    assert response["Location"].endswith("/pages/requester/")

    page = client.get(response["Location"])
    assert page.status_code == 200
    shown = form_values(page)
    # The profile (基本4情報) fills the first page; the birth year is shown in 和暦.
    assert shown["f-requester_name-family"] == "山田"
    assert shown["f-requester_name-given_kana"] == "はなこ"
    assert shown["f-requester_birth_date-year"] == "昭和63"
    assert shown["f-requester_birth_date-month"] == "6"
    assert shown["f-requester_address-prefecture"] == "さくら県"
    assert shown["f-requester_phone"] == "090-1234-5678"

    _go(
        client,
        application_id,
        "requester",
        {**shown, "f-relationship": "self"},
        expect_next="target",
    )

    target = client.get(reverse("counter:page", args=[application_id, "target"]))
    # Hidden by an answer on an earlier page (relationship = self): not on the page at all.
    assert "f-target_name-family" not in target.content.decode()
    # The group of members only appears when scope = part: on the page, the browser shows
    # it by condition; the server ignores it unless scope = part.
    data = {
        **_address(
            "f-target_address",
            postal_code="9990001",
            prefecture="さくら県",
            city="あおば市",
            street="中央一丁目2番3号",
        ),
        "f-scope": "part",
        "f-members-count": "1",
        **_name("f-members-0-member_name", "山田", "花子"),
        **_date("f-members-0-member_birth_date", "S63", "6", "15"),
    }
    _go(client, application_id, "target", data, expect_next="certificate")
    _go(
        client,
        application_id,
        "certificate",
        {"f-certificate_kind": "copy", "f-included_items": ["householder"], "f-copies": "２"},
        expect_next="purpose",
    )
    _go(
        client,
        application_id,
        "purpose",
        {"f-purpose": "その他", "f-purpose_detail": "奨学金の申請", "f-submit_to": ""},
        expect_next="confirm",
    )
    _go(client, application_id, "confirm", {"f-declaration": "yes"}, expect_next=None)

    check = client.get(reverse("counter:check", args=[application_id]))
    body = check.content.decode()
    assert check.status_code == 200
    assert "昭和63年6月15日" in body  # 和暦 dates
    assert "山田 花子（やまだ はなこ）" in body
    assert "世帯の一部の方" in body and "世帯主・続柄" in body and "2通" in body
    assert "600円" in body  # 300円 × 2通
    # The procedure requires 電子署名: the signing step comes before the submit button.
    assert "電子署名へ進む" in body

    application = _submit(client, application_id, django_capture_on_commit_callbacks)
    assert application.fee_amount == 600
    assert application.answers["copies"] == 2
    assert application.answers["members"] == [
        {"member_name": {"family": "山田", "given": "花子"}, "member_birth_date": "1988-06-15"}
    ]
    assert "target_name" not in application.answers  # hidden, so not submitted
    assert application.answers["requester_birth_date"] == "1988-06-15"


def test_juminhyo_change_link_returns_to_check_or_continues_to_newly_needed_pages(
    hanako, django_capture_on_commit_callbacks
):
    client = login(hanako, level="mynumber_card")
    application_id = application_id_from(
        start(client, "992011", "juminhyo-copy", {"role": "self", "use_profile": "yes"})
    )
    requester = form_values(client.get(reverse("counter:page", args=[application_id, "requester"])))
    _go(
        client,
        application_id,
        "requester",
        {**requester, "f-relationship": "self"},
        expect_next="target",
    )
    _go(
        client,
        application_id,
        "target",
        {**_address("f-target_address"), "f-scope": "whole"},
        expect_next="certificate",
    )
    _go(
        client,
        application_id,
        "certificate",
        {"f-certificate_kind": "copy", "f-copies": "1"},
        expect_next="purpose",
    )
    _go(client, application_id, "purpose", {"f-purpose": "相続"}, expect_next="confirm")
    _go(client, application_id, "confirm", {"f-declaration": "yes"}, expect_next=None)

    check = client.get(reverse("counter:check", args=[application_id]))
    body = check.content.decode()
    change_copies = (
        reverse("counter:page", args=[application_id, "certificate"]) + "?return=check#f-copies"
    )
    assert f'href="{change_copies}"' in body
    assert "300円" in body

    # A change that needs nothing else goes straight back to the check page.
    page = client.get(
        reverse("counter:page", args=[application_id, "certificate"]) + "?return=check"
    )
    assert "確認画面へ戻る" in page.content.decode()
    values = form_values(page)
    assert values["f-copies"] == "1"
    response = post_page(
        client, application_id, "certificate", {**values, "f-copies": "3"}, query="?return=check"
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("counter:check", args=[application_id])
    assert "900円" in client.get(response["Location"]).content.decode()

    # A change that makes new answers necessary (someone else's certificate needs their
    # name and 提出先) leads through those pages, still returning to the check page.
    values = form_values(
        client.get(reverse("counter:page", args=[application_id, "requester"]) + "?return=check")
    )
    response = post_page(
        client,
        application_id,
        "requester",
        {**values, "f-relationship": "other"},
        query="?return=check",
    )
    assert (
        response["Location"]
        == reverse("counter:page", args=[application_id, "target"]) + "?return=check"
    )
    target = client.get(response["Location"])
    assert "f-target_name-family" in target.content.decode()
    values = form_values(target)
    response = post_page(
        client,
        application_id,
        "target",
        {**values, **_name("f-target_name", "佐藤", "次郎", "さとう", "じろう")},
        query="?return=check",
    )
    assert (
        response["Location"]
        == reverse("counter:page", args=[application_id, "certificate"]) + "?return=check"
    )
    check = client.get(reverse("counter:check", args=[application_id]))
    # 提出先 is now required but missing: the check page says so and links to it.
    assert check.status_code == 200
    assert "提出先を入力してください。" in check.content.decode()
    assert (
        reverse("counter:page", args=[application_id, "purpose"]) + "?return=check#f-submit_to"
        in check.content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(reverse("counter:check", args=[application_id]))
    assert refused.status_code == 422
    assert Application.objects.get(pk=application_id).state == State.DRAFT
    values = form_values(
        client.get(reverse("counter:page", args=[application_id, "purpose"]) + "?return=check")
    )
    response = post_page(
        client,
        application_id,
        "purpose",
        {**values, "f-submit_to": "あおば地方裁判所"},
        query="?return=check",
    )
    assert response["Location"] == reverse("counter:check", args=[application_id])
    application = _submit(client, application_id, django_capture_on_commit_callbacks)
    assert application.answers["target_name"]["family"] == "佐藤"
    assert application.answers["submit_to"] == "あおば地方裁判所"
    assert application.fee_amount == 900


# --- 児童手当 (あおば市): My Number, repeatable children -----------------------------------


def _child(index: int, family: str, given: str, year: str, living: str = "together", **extra):
    prefix = f"f-children-{index}"
    return {
        **_name(f"{prefix}-child_name", family, given, "やまだ", "いちろう"),
        **_date(f"{prefix}-child_birth_date", year, "4", "1"),
        f"{prefix}-child_relationship": "子",
        f"{prefix}-child_living": living,
        **extra,
    }


def test_child_allowance_with_children_group_and_my_number(
    hanako, django_capture_on_commit_callbacks
):
    seen: list[str] = []

    def keep(response):
        seen.append(response.content.decode())
        return response

    client = login(hanako, level="mynumber_card")
    application_id = application_id_from(
        start(client, "992011", "child-allowance", {"role": "self", "use_profile": "yes"})
    )
    claimant = form_values(
        keep(client.get(reverse("counter:page", args=[application_id, "claimant"])))
    )
    assert claimant["f-claimant_my_number"] == ""  # never prefilled
    # A mistake elsewhere on the page: the number typed is neither shown again nor kept
    # as typed in the draft (checked with the whole database below).
    wrong = keep(
        post_page(
            client,
            application_id,
            "claimant",
            {**claimant, "f-claimant_phone": "12345", "f-claimant_my_number": "1234 5678 9018"},
        )
    )
    assert wrong.status_code == 422
    assert form_values(wrong)["f-claimant_my_number"] == ""
    _go(
        client,
        application_id,
        "claimant",
        {**claimant, "f-claimant_my_number": "1234 5678 9018", "f-public_servant": "no"},
        expect_next="spouse",
    )
    # Back on the page, the number is not in the input; only its last 4 digits are named.
    again = keep(client.get(reverse("counter:page", args=[application_id, "claimant"])))
    assert form_values(again)["f-claimant_my_number"] == ""
    assert "末尾 9018" in again.content.decode()
    # Saving the page again with the box empty keeps the stored number.
    _go(client, application_id, "claimant", form_values(again), expect_next="spouse")
    assert (
        Application.objects.get(pk=application_id).answers["claimant_my_number"]["last4"] == "9018"
    )

    _go(
        client,
        application_id,
        "spouse",
        {
            "f-has_spouse": "yes",
            **_name("f-spouse_name", "山田", "一郎", "やまだ", "いちろう"),
            "f-spouse_my_number": SPOUSE_MY_NUMBER,
        },
        expect_next="children",
    )

    url = reverse("counter:page", args=[application_id, "children"])
    page = keep(client.get(url))
    assert form_values(page)["f-children-count"] == "1"
    first = _child(0, "山田", "一郎", "令和2")
    # Add a second child: the page comes back (200) with the first child's answers kept.
    response = keep(
        client.post(
            url,
            {"f-children-count": "1", **first, "f-older_siblings": "0", "action": "add:children"},
        )
    )
    assert response.status_code == 200
    values = form_values(response)
    assert values["f-children-count"] == "2"
    assert values["f-children-0-child_name-given"] == "一郎"
    assert values["f-children-1-child_name-given"] == ""
    assert "お子さん 2" in response.content.decode()
    # And a third, then remove the first: the later children move up, nothing typed is lost.
    second = _child(
        1,
        "山田",
        "二郎",
        "令和4",
        living="apart",
        **{"f-children-1-child_apart_address": "さくら県あおば市北町1-1"},
    )
    third = _child(2, "山田", "三郎", "令和6")
    response = keep(
        client.post(url, {**values, **second, "f-children-count": "2", "action": "add:children"})
    )
    values = form_values(response)
    assert values["f-children-count"] == "3"
    assert values["f-children-1-child_apart_address"] == "さくら県あおば市北町1-1"
    response = keep(client.post(url, {**values, **third, "action": "remove:children:0"}))
    assert response.status_code == 200
    values = form_values(response)
    assert values["f-children-count"] == "2"
    assert values["f-children-0-child_name-given"] == "二郎"
    assert values["f-children-0-child_apart_address"] == "さくら県あおば市北町1-1"
    assert values["f-children-1-child_name-given"] == "三郎"
    assert "f-children-2-child_name-given" not in values
    assert "一郎" not in response.content.decode()
    _go(client, application_id, "children", {**values, "f-older_siblings": "1"}, expect_next="bank")

    _go(
        client,
        application_id,
        "bank",
        {
            "f-bank_name": "あおば銀行",
            "f-branch_name": "本店",
            "f-account_type": "普通",
            "f-account_number": "1234567",
            "f-account_holder_kana": "ヤマダ ハナコ",
        },
        expect_next="declaration",
    )
    _go(client, application_id, "declaration", {"f-declaration": "yes"}, expect_next=None)

    check = keep(client.get(reverse("counter:check", args=[application_id])))
    body = check.content.decode()
    assert "********9018" in body and "********1093" in body
    assert "令和4年4月1日" in body and "さくら県あおば市北町1-1" in body
    assert "手数料" not in body  # no fee for this procedure

    application = _submit(client, application_id, django_capture_on_commit_callbacks)
    children = application.answers["children"]
    assert [child["child_name"]["given"] for child in children] == ["二郎", "三郎"]
    assert children[0]["child_living"] == "apart"
    assert "child_apart_address" not in children[1]  # hidden for a child living together
    stored = application.answers["claimant_my_number"]
    assert set(stored) == {"ciphertext", "last4"} and stored["last4"] == "9018"
    assert decrypt_text(stored["ciphertext"]) == MY_NUMBER

    keep(client.get(reverse("counter:detail", args=[application_id])))
    staff = login(
        apps.get_model("identity", "User").objects.get(email="kodomo.tanto@aoba.example.jp")
    )
    keep(staff.get(reverse("backoffice:detail", args=[application_id])))
    keep(staff.get(reverse("backoffice:home")))

    # The clear number never appears: not in the answers, not anywhere in the database,
    # not on any page and not in any e-mail.
    for number in (MY_NUMBER, SPOUSE_MY_NUMBER):
        spaced = f"{number[:4]} {number[4:8]} {number[8:]}"
        assert number not in json.dumps(application.answers)
        for model in apps.get_models():
            dump = serializers.serialize("json", model.objects.all())
            assert number not in dump and spaced not in dump, model
        for html in seen:
            assert number not in html and spaced not in html
        for message in mail.outbox:
            assert number not in message.body


# --- 高校のウェブ出願 (さくら県): photo with image rules, conditional address --------------


def test_highschool_application_with_photo(
    hanako_client, django_capture_on_commit_callbacks, open_highschool
):
    client = hanako_client
    application_id = application_id_from(
        start(client, "990001", "highschool-web-application", {"use_profile": "yes"})
    )
    _go(
        client,
        application_id,
        "applicant",
        {
            **_name("f-applicant_name", "山田", "桜", "ヤマダ", "サクラ"),
            **_date("f-applicant_birth_date", "H23", "5", "1"),
            **_address("f-applicant_address"),
            "f-middle_school": "あおば市立第一中学校",
            "f-graduation": "expected",
        },
        expect_next="choices",
    )
    _go(
        client,
        application_id,
        "choices",
        {"f-first_choice": "aoba-futsu", "f-second_choice": "aoba-rika"},
        expect_next="photo",
    )
    photo = upload("証明写真.jpg", jpeg(300, 400), "image/jpeg")
    _go(client, application_id, "photo", {"f-photo": photo}, expect_next="guardian")
    guardian = form_values(client.get(reverse("counter:page", args=[application_id, "guardian"])))
    assert guardian["f-guardian_name-family"] == "山田"  # prefilled from the profile
    _go(
        client,
        application_id,
        "guardian",
        {
            **guardian,
            "f-guardian_relationship": "母",
            "f-guardian_same_address": "different",
            **_address("f-guardian_address", street="丸の内2-2"),
        },
        expect_next="declaration",
    )
    _go(client, application_id, "declaration", {"f-declaration": "yes"}, expect_next=None)

    check = client.get(reverse("counter:check", args=[application_id]))
    body = check.content.decode()
    assert "平成23年5月1日" in body and "2,200円" in body
    assert "証明写真.jpg" in body and "丸の内2-2" in body
    application = _submit(client, application_id, django_capture_on_commit_callbacks)
    (descriptor,) = application.answers["photo"]
    assert descriptor["content_type"] == "image/jpeg" and descriptor["name"] == "証明写真.jpg"
    assert (
        ApplicationFile.objects.get(stored_file_id=descriptor["id"]).application_id
        == application.pk
    )
    download = client.get(reverse("counter:file", args=[application_id, descriptor["id"]]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == jpeg(300, 400)
    assert "sandbox" in download["Content-Security-Policy"]
    assert application.answers["applicant_name"]["family_kana"] == "やまだ"


# --- おもいやり駐車場 (さくら県): evidence files, conditional fields by category ------------


def test_parking_permit_with_evidence_and_conditional_fields(
    hanako_client, django_capture_on_commit_callbacks
):
    client = hanako_client
    application_id = application_id_from(
        start(client, "990001", "omoiyari-parking", {"role": "self", "use_profile": "yes"})
    )
    url = reverse("counter:page", args=[application_id, "eligibility"])
    page = client.get(url).content.decode()
    # Fields shown by an answer on the same page are on the page, marked with their condition.
    assert "data-show-if" in page and "f-physical_grade" in page and "f-due_date-year" in page

    # 妊産婦: the physical fields are not required, and what was posted for them is dropped.
    _go(
        client,
        application_id,
        "eligibility",
        {
            "f-category": "pregnancy",
            **_date("f-due_date", "令和9", "1", "20"),
            "f-physical_grade": "2級",
        },
        expect_next="evidence",
    )
    assert Application.objects.get(pk=application_id).answers["physical_grade"] is None
    # Going back and choosing 身体障がい makes its fields required.
    response = post_page(client, application_id, "eligibility", {"f-category": "physical"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "手帳に記載の障がいを1つ以上選択してください。" in body
    assert "等級を選択してください。" in body
    assert "手帳・受給者証の番号を入力してください。" in body
    assert "出産予定日" in body  # still on the page for the browser, but not an error
    assert "出産予定日（出産後の方は出産日）を入力してください" not in body
    _go(
        client,
        application_id,
        "eligibility",
        {
            "f-category": "physical",
            "f-physical_parts": ["下肢", "体幹"],
            "f-physical_grade": "2級",
            "f-certificate_number": "第12345号",
        },
        expect_next="evidence",
    )
    files = [
        upload("手帳.png", png(800, 600), "image/png"),
        upload("診断書.pdf", pdf(), "application/pdf"),
    ]
    _go(client, application_id, "evidence", {"f-evidence_files": files}, expect_next="user")
    user = form_values(client.get(reverse("counter:page", args=[application_id, "user"])))
    assert user["f-user_birth_date-year"] == "昭和63"
    _go(client, application_id, "user", user, expect_next="contact")
    _go(
        client,
        application_id,
        "contact",
        {
            "f-contact_phone": "0120-123-456",
            "f-contact_email": "ｈａｎａｋｏ@EXAMPLE.JP",
            "f-delivery": "mail",
            "f-declaration": "yes",
        },
        expect_next=None,
    )
    body = client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert "下肢、体幹" in body and "2級" in body and "手帳.png" in body and "診断書.pdf" in body
    assert "出産予定日" not in body  # hidden by the category
    assert "手数料" not in body
    application = _submit(client, application_id, django_capture_on_commit_callbacks)
    assert [f["content_type"] for f in application.answers["evidence_files"]] == [
        "image/png",
        "application/pdf",
    ]
    assert "due_date" not in application.answers
    assert application.answers["contact_email"] == "hanako@example.jp"
    assert application.answers["user_birth_date"] == "1988-06-15"


# --- 犬の登録 (みなと町): the same form as あおば市 under another body ------------------------


def test_dog_registration_in_minato(hanako_client, django_capture_on_commit_callbacks):
    client = hanako_client
    application_id = application_id_from(start(client, "993417", "dog-registration"))
    for page_id, data in DOG_PAGES.items():
        post_page(client, application_id, page_id, data)
    check = client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert "令和5年4月1日" in check and "3,000円" in check
    application = _submit(client, application_id, django_capture_on_commit_callbacks)
    assert application.body.code == "993417"
    assert application.unit.code == "chominka"
    assert "みなと町" in mail.outbox[-1].body


def test_postal_code_lookup_fills_the_address_from_offline_data(hanako_client):
    application_id = application_id_from(start(hanako_client, "992011", "dog-registration"))
    url = reverse("counter:page", args=[application_id, "owner"])
    typed = {
        **DOG_PAGES["owner"],
        "f-owner_address-prefecture": "",
        "f-owner_address-city": "",
        "f-owner_address-street": "",
    }
    response = hanako_client.post(
        url,
        {
            **typed,
            "f-owner_address-postal_code": "１００−０００１",
            "action": "lookup:owner_address",
        },
    )
    assert response.status_code == 200
    values = form_values(response)
    assert values["f-owner_address-prefecture"] == "東京都"
    assert values["f-owner_address-city"] == "千代田区"
    assert values["f-owner_address-street"] == "千代田"
    assert values["f-owner_phone"] == "090-1234-5678"  # other inputs kept as typed
    assert values["f-owner_name-family"] == "山田"
    assert "住所を入力しました" in response.content.decode()
    # The lookup is kept in the draft even before the page is sent.
    again = form_values(hanako_client.get(url))
    assert again["f-owner_address-city"] == "千代田区"

    unknown = hanako_client.post(
        url, {**typed, "f-owner_address-postal_code": "999-0001", "action": "lookup:owner_address"}
    )
    assert unknown.status_code == 422
    assert (
        "この郵便番号の住所が見つかりません。住所を直接入力してください。"
        in unknown.content.decode()
    )
    assert "f-owner_address-postal_code" in error_summary_links(unknown)
    wrong = hanako_client.post(
        url, {**typed, "f-owner_address-postal_code": "12-34", "action": "lookup:owner_address"}
    )
    assert wrong.status_code == 422
    assert "郵便番号は7桁の数字で入力してください" in wrong.content.decode()
    assert form_values(wrong)["f-owner_address-postal_code"] == "12-34"
    assert form_values(wrong)["f-owner_phone"] == "090-1234-5678"
