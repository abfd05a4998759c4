"""Wrong input on every field type: a Japanese message at the field and in the error
summary (linking to the input), HTTP 422, and nothing typed is lost. Never a 500."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from madoguchi.catalogue.services import load_catalogue
from madoguchi.counter.models import Application, State

from .definitions import EVERY_FIELD_TYPE, write
from .helpers import application_id_from, error_summary_links, form_values, start
from .uploads import pdf, png, upload

pytestmark = pytest.mark.django_db

VALID_BASICS = {
    "f-nickname": "たろう",
    "f-code": "AB1234",
    "f-story": "短い経緯",
    "f-count": "３",
    "f-email": "a@example.jp",
    "f-phone": "03-1234-5678",
    "f-day-year": "令和8",
    "f-day-month": "4",
    "f-day-day": "1",
    "f-person-family": "山田",
    "f-person-given": "花子",
    "f-person-family_kana": "ヤマダ",
    "f-person-given_kana": "はなこ",
    "f-postal": "100-0001",
    "f-place-postal_code": "100-0001",
    "f-place-prefecture": "東京都",
    "f-place-city": "千代田区",
    "f-place-street": "千代田1-1",
    "f-place-building": "",
    "f-colour": "red",
    "f-fruits": ["りんご", "ぶどう"],
    "f-my_number": "123456789018",
    "f-corporate": "9234567890123",
    "f-consent": "yes",
}

# (case, wrong inputs, Japanese message, the input the summary links to)
WRONG = [
    (
        "text_too_long",
        {"f-nickname": "あ" * 11},
        "10文字以内で入力してください（現在11文字）。",
        "f-nickname",
    ),
    (
        "text_control",
        {"f-nickname": "た\x07ろう"},
        "使用できない制御文字が含まれています。",
        "f-nickname",
    ),
    (
        "text_pattern",
        {"f-code": "ab12"},
        "整理番号は英大文字2文字と数字4桁で入力してください。",
        "f-code",
    ),
    ("text_required", {"f-nickname": "  "}, "呼び名を入力してください。", "f-nickname"),
    (
        "long_text_too_long",
        {"f-story": "x" * 21},
        "20文字以内で入力してください（現在21文字）。",
        "f-story",
    ),
    ("number_words", {"f-count": "three"}, "半角または全角の数字で入力してください。", "f-count"),
    ("number_above", {"f-count": "6"}, "5以下の数を入力してください。", "f-count"),
    ("number_below", {"f-count": "0"}, "1以上の数を入力してください。", "f-count"),
    (
        "email",
        {"f-email": "a@"},
        "メールアドレスの形式で入力してください（例: name@example.jp）。",
        "f-email",
    ),
    (
        "phone_letters",
        {"f-phone": "03-abcd"},
        "電話番号は数字とハイフンで入力してください（例: 03-1234-5678）。",
        "f-phone",
    ),
    (
        "phone_invalid",
        {"f-phone": "12345"},
        "この電話番号は使われていない形式です。市外局番からご確認ください。",
        "f-phone",
    ),
    (
        "date_no_such_day",
        {"f-day-year": "2026", "f-day-month": "2", "f-day-day": "30"},
        "実在する日付を入力してください。",
        "f-day-year",
    ),
    (
        "date_era_year",
        {"f-day-year": "平成32"},
        "平成32年はありません（平成は31年まで）。",
        "f-day-year",
    ),
    (
        "date_outside_era",
        {"f-day-year": "令和1", "f-day-month": "4", "f-day-day": "1"},
        "令和の期間にない日付です。この日付は平成31年4月1日です。",
        "f-day-year",
    ),
    ("date_future", {"f-day-year": "2100"}, "今日以前の日付を入力してください。", "f-day-year"),
    ("date_month", {"f-day-month": "13"}, "月は1から12の数字で入力してください。", "f-day-month"),
    ("date_partial", {"f-day-day": ""}, "日を入力してください。", "f-day-day"),
    (
        "date_year_format",
        {"f-day-year": "ことし"},
        "年は「2026」「令和8」「R8」のように入力してください。",
        "f-day-year",
    ),
    (
        "name_kana",
        {"f-person-family_kana": "yamada"},
        "ふりがなはひらがなで入力してください。",
        "f-person-family_kana",
    ),
    ("name_missing_part", {"f-person-given": ""}, "名を入力してください。", "f-person-given"),
    (
        "postal_code",
        {"f-postal": "12-34"},
        "郵便番号は7桁の数字で入力してください（例: 123-4567）。",
        "f-postal",
    ),
    (
        "address_prefecture",
        {"f-place-prefecture": "ムー大陸"},
        "都道府県を選択してください。",
        "f-place-prefecture",
    ),
    ("address_city", {"f-place-city": ""}, "市区町村を入力してください。", "f-place-city"),
    (
        "address_postal",
        {"f-place-postal_code": "1000"},
        "郵便番号は7桁の数字で入力してください（例: 123-4567）。",
        "f-place-postal_code",
    ),
    ("choice_unknown", {"f-colour": "green"}, "選択肢の中から選んでください。", "f-colour"),
    ("choice_missing", {"f-colour": ""}, "色を選択してください。", "f-colour"),
    (
        "multiple_too_many",
        {"f-fruits": ["りんご", "みかん", "ぶどう"]},
        "2つまで選択できます。",
        "f-fruits",
    ),
    ("multiple_unknown", {"f-fruits": ["メロン"]}, "選択肢の中から選んでください。", "f-fruits"),
    ("multiple_missing", {"f-fruits": []}, "果物を1つ以上選択してください。", "f-fruits"),
    (
        "my_number_length",
        {"f-my_number": "1234"},
        "個人番号は12桁の数字で入力してください。",
        "f-my_number",
    ),
    (
        "my_number_check_digit",
        {"f-my_number": "123456789012"},
        "個人番号の検査用数字が一致しません。入力した番号をご確認ください。",
        "f-my_number",
    ),
    ("my_number_missing", {"f-my_number": ""}, "個人番号を入力してください。", "f-my_number"),
    (
        "corporate_length",
        {"f-corporate": "123"},
        "法人番号は13桁の数字で入力してください。",
        "f-corporate",
    ),
    (
        "corporate_check_digit",
        {"f-corporate": "1234567890123"},
        "法人番号の検査用数字が一致しません。入力した番号をご確認ください。",
        "f-corporate",
    ),
    ("agreement_missing", {"f-consent": ""}, "規約に同意します", "f-consent"),
]

# Inputs that a page cannot show again as typed: an option that does not exist cannot be
# checked, and a My Number is never put back into the page.
NOT_REDISPLAYED = {"f-my_number"}


@pytest.fixture
def every_type(sample, tmp_path):
    write(tmp_path, "992011", "every-field-type", EVERY_FIELD_TYPE)
    load_catalogue(tmp_path)


@pytest.fixture
def draft(every_type, hanako_client):
    return application_id_from(start(hanako_client, "992011", "every-field-type"))


def _page(application_id, page_id="basics"):
    return reverse("counter:page", args=[application_id, page_id])


def _assert_links_point_at_inputs(response):
    body = response.content.decode()
    links = error_summary_links(response)
    assert links, "the page has an error summary with links"
    for target in links:
        assert re.search(rf'\bid="{re.escape(target)}"', body), f"no element #{target}"
    return links


def _assert_kept(response, posted: dict, skip=()):
    shown = form_values(response)
    for name, value in posted.items():
        if (
            name in NOT_REDISPLAYED
            or name in skip
            or name == "action"
            or name.startswith("f-document")
        ):
            continue
        got = shown.get(name, [] if isinstance(value, list) else "")
        if isinstance(value, list) and isinstance(got, str):
            got = [got]
        assert got == value, (name, got, value)


@pytest.mark.parametrize(("case", "wrong", "message", "link"), WRONG, ids=[w[0] for w in WRONG])
def test_each_wrong_input_is_explained_at_the_field_and_in_the_summary(
    hanako_client, draft, case, wrong, message, link
):
    posted = {**VALID_BASICS, **wrong, "f-document": upload("届出.pdf", pdf(), "application/pdf")}
    response = hanako_client.post(_page(draft), {**posted, "action": "continue"})
    assert response.status_code == 422
    body = response.content.decode()
    assert body.count(message) >= 2, "the message is at the field and in the summary"
    assert link in _assert_links_point_at_inputs(response)
    assert "<title>エラー: " in body
    # A value that is not one of the options cannot be shown checked or selected again.
    unrenderable = {
        "choice_unknown": {"f-colour"},
        "multiple_unknown": {"f-fruits"},
        "address_prefecture": {"f-place-prefecture"},
    }.get(case, set())
    _assert_kept(response, posted, skip=unrenderable)
    # The upload on a page with another error is kept: listed on the page and saved.
    assert "届出.pdf" in body
    application = Application.objects.get(pk=draft)
    assert [f["name"] for f in application.answers["document"]] == ["届出.pdf"]
    # A My Number typed on a page with a mistake is never kept in clear.
    stored = json.dumps([application.answers, application.pending_inputs])
    assert "123456789018" not in stored and "123456789018" not in body
    assert application.current_page == "basics" and application.completed_pages == []
    # Reloading the page later shows what was typed, not an empty form.
    _assert_kept(hanako_client.get(_page(draft)), posted, skip=unrenderable)


# Cases of WRONG (the same inputs and links) and the message a resident reading English gets.
ENGLISH = {
    "text_too_long": "Use at most 10 characters (now 11).",
    "number_words": "Enter a whole number.",
    "number_above": "Enter 5 or less.",
}


@pytest.mark.parametrize(
    ("case", "wrong", "japanese", "link"),
    [w for w in WRONG if w[0] in ENGLISH],
    ids=[w[0] for w in WRONG if w[0] in ENGLISH],
)
def test_a_resident_reading_english_gets_the_message_in_english(
    hanako_client, draft, case, wrong, japanese, link
):
    from django.conf import settings

    hanako_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    posted = {**VALID_BASICS, **wrong, "f-document": upload("届出.pdf", pdf(), "application/pdf")}
    response = hanako_client.post(_page(draft), {**posted, "action": "continue"})
    assert response.status_code == 422
    body = response.content.decode()
    assert body.count(ENGLISH[case]) >= 2, "the message is at the field and in the summary"
    assert link in _assert_links_point_at_inputs(response)
    assert "<title>Error: " in body
    assert japanese not in body
    _assert_kept(response, posted)


def test_every_field_wrong_at_once(hanako_client, draft):
    posted = {
        "f-nickname": "あ" * 11,
        "f-code": "ab12",
        "f-story": "x" * 21,
        "f-count": "three",
        "f-email": "a@",
        "f-phone": "03-abcd",
        "f-day-year": "平成32",
        "f-day-month": "1",
        "f-day-day": "1",
        "f-person-family": "山田",
        "f-person-given": "",
        "f-person-family_kana": "yamada",
        "f-person-given_kana": "はなこ",
        "f-postal": "12-34",
        "f-place-postal_code": "1000",
        "f-place-prefecture": "",
        "f-place-city": "千代田区",
        "f-place-street": "",
        "f-place-building": "ビル",
        "f-colour": "",
        "f-fruits": ["りんご", "みかん", "ぶどう"],
        "f-my_number": "1234",
        "f-corporate": "123",
        "f-consent": "",
    }
    response = hanako_client.post(_page(draft), {**posted, "action": "continue"})
    assert response.status_code == 422
    body = response.content.decode()
    for message in (
        "10文字以内で入力してください（現在11文字）。",
        "整理番号は英大文字2文字と数字4桁で入力してください。",
        "20文字以内で入力してください（現在21文字）。",
        "半角または全角の数字で入力してください。",
        "メールアドレスの形式で入力してください",
        "電話番号は数字とハイフンで入力してください",
        "平成32年はありません",
        "名を入力してください。",
        "ふりがなはひらがなで入力してください。",
        "郵便番号は7桁の数字で入力してください",
        "都道府県を入力してください。",
        "町名・番地を入力してください。",
        "色を選択してください。",
        "2つまで選択できます。",
        "個人番号は12桁の数字で入力してください。",
        "法人番号は13桁の数字で入力してください。",
        "書類のファイルを選択してください。",
    ):
        assert message in body, message
    links = _assert_links_point_at_inputs(response)
    for expected in (
        "f-nickname",
        "f-code",
        "f-story",
        "f-count",
        "f-email",
        "f-phone",
        "f-day-year",
        "f-person-given",
        "f-person-family_kana",
        "f-postal",
        "f-place-postal_code",
        "f-colour",
        "f-fruits",
        "f-my_number",
        "f-corporate",
        "f-consent",
        "f-document",
    ):
        assert expected in links, expected
    _assert_kept(response, posted)
    assert Application.objects.get(pk=draft).state == State.DRAFT


def test_a_correct_page_after_mistakes_moves_on_and_keeps_the_earlier_upload(hanako_client, draft):
    document = upload("届出.pdf", pdf(), "application/pdf")
    response = hanako_client.post(
        _page(draft),
        {**VALID_BASICS, "f-count": "99", "f-document": document, "action": "continue"},
    )
    assert response.status_code == 422
    # Corrected without choosing the file again: the stored file is still there.
    response = hanako_client.post(_page(draft), {**VALID_BASICS, "action": "continue"})
    assert response.status_code == 302
    assert response["Location"] == _page(draft, "family")
    answers = Application.objects.get(pk=draft).answers
    assert answers["count"] == 3 and answers["document"][0]["name"] == "届出.pdf"
    assert answers["person"]["family_kana"] == "やまだ"
    assert answers["phone"] == "+81312345678"
    assert answers["my_number"]["last4"] == "9018"
    assert answers["corporate"] == "9234567890123"


# --- groups -------------------------------------------------------------------------------


def _fill_basics(client, application_id):
    response = client.post(
        _page(application_id),
        {
            **VALID_BASICS,
            "f-document": upload("届出.pdf", pdf(), "application/pdf"),
            "action": "continue",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_wrong_inputs_inside_a_repeated_group(hanako_client, draft):
    _fill_basics(hanako_client, draft)
    posted = {
        "f-members-count": "2",
        "f-members-0-member_name": "一郎",
        "f-members-0-member_birth-year": "2100",
        "f-members-0-member_birth-month": "1",
        "f-members-0-member_birth-day": "1",
        "f-members-1-member_name": "x" * 21,
        "f-members-1-member_birth-year": "H2",
        "f-members-1-member_birth-month": "2",
        "f-members-1-member_birth-day": "3",
    }
    response = hanako_client.post(_page(draft, "family"), {**posted, "action": "continue"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "今日以前の日付を入力してください。" in body
    assert "20文字以内で入力してください（現在21文字）。" in body
    links = _assert_links_point_at_inputs(response)
    assert "f-members-0-member_birth-year" in links and "f-members-1-member_name" in links
    _assert_kept(response, posted)


def test_group_with_a_tampered_count(hanako_client, draft):
    _fill_basics(hanako_client, draft)
    response = hanako_client.post(
        _page(draft, "family"), {"f-members-count": "0", "action": "continue"}
    )
    assert response.status_code == 422
    assert "1件以上入力してください。" in response.content.decode()
    _assert_links_point_at_inputs(response)
    # A count far above max_items renders at most max_items items; never a 500.
    response = hanako_client.post(
        _page(draft, "family"), {"f-members-count": "99999999999999999999", "action": "add:members"}
    )
    assert response.status_code == 200
    assert form_values(response)["f-members-count"] == "3"
    assert "家族を追加" not in response.content.decode()


# --- conditional page -----------------------------------------------------------------------


def test_a_page_shown_by_an_earlier_answer(hanako_client, draft):
    _fill_basics(hanako_client, draft)
    hanako_client.post(
        _page(draft, "family"),
        {
            "f-members-count": "1",
            "f-members-0-member_name": "一郎",
            "f-members-0-member_birth-year": "H2",
            "f-members-0-member_birth-month": "2",
            "f-members-0-member_birth-day": "3",
            "action": "continue",
        },
    )
    # colour = red: the blue page is skipped and cannot be opened.
    assert hanako_client.get(_page(draft, "blue_page")).status_code == 404
    response = hanako_client.post(
        _page(draft, "family"),
        {
            "f-members-count": "1",
            "f-members-0-member_name": "一郎",
            "f-members-0-member_birth-year": "H2",
            "f-members-0-member_birth-month": "2",
            "f-members-0-member_birth-day": "3",
            "action": "continue",
        },
    )
    assert response["Location"] == _page(draft, "last")
    # colour = blue: the page appears between family and last, with its own question.
    response = hanako_client.post(
        _page(draft) + "?return=check", {**VALID_BASICS, "f-colour": "blue", "action": "continue"}
    )
    assert response["Location"] == _page(draft, "family") + "?return=check"
    page = hanako_client.get(_page(draft, "blue_page"))
    assert page.status_code == 200
    assert "3 / 4 ページ" in page.content.decode()
    response = hanako_client.post(
        _page(draft, "blue_page"), {"f-blue_reason": "", "action": "continue"}
    )
    assert response.status_code == 422
    assert "青を選んだ理由を入力してください。" in response.content.decode()
    response = hanako_client.post(
        _page(draft, "blue_page"), {"f-blue_reason": "空の色", "action": "continue"}
    )
    assert response["Location"] == _page(draft, "last")
    response = hanako_client.post(_page(draft, "last"), {"f-remarks": "", "action": "continue"})
    assert response["Location"] == reverse("counter:check", args=[draft])
    check = hanako_client.get(response["Location"]).content.decode()
    assert "空の色" in check and "500円" in check and "令和8年4月1日" in check
    assert "********9018" in check and "123456789018" not in check


# --- robustness ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        "remove:members:99",
        "remove:nothing:0",
        "remove:members",
        "add:nothing",
        "lookup:nothing",
        "lookup:",
        "remove_file:document:not-a-uuid",
        "remove_file:",
        "explode",
        "x" * 500,
    ],
)
def test_unexpected_actions_never_fail(hanako_client, draft, action):
    response = hanako_client.post(_page(draft), {**VALID_BASICS, "action": action})
    assert response.status_code in (200, 302, 422)


@pytest.mark.parametrize(
    "value",
    [
        "\x00",
        "a\x00b",
        "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        "𠮷" * 5000,
        "<script>alert(1)</script>",
    ],
)
def test_strange_text_is_refused_or_kept_never_a_500(hanako_client, draft, value):
    posted = {**VALID_BASICS, "f-nickname": value, "f-place-city": value, "f-person-family": value}
    response = hanako_client.post(_page(draft), {**posted, "action": "continue"})
    assert response.status_code in (302, 422)
    assert "<script>alert(1)</script>" not in response.content.decode()
    response = hanako_client.post(_page(draft), {**posted, "action": "save"})
    assert response.status_code in (200, 302)
    assert hanako_client.get(_page(draft)).status_code == 200


def test_unknown_page_and_application_are_not_found(hanako_client, draft):
    assert hanako_client.get(_page(draft, "no-such-page")).status_code == 404
    assert (
        hanako_client.get(
            reverse("counter:page", args=["00000000-0000-0000-0000-000000000000", "basics"])
        ).status_code
        == 404
    )
    assert hanako_client.get("/applications/not-a-uuid/pages/basics/").status_code == 404


def test_upload_is_refused_on_a_file_field_by_content_and_size(hanako_client, draft):
    png_named_pdf = upload("スキャン.pdf", png(400, 400), "application/pdf")
    response = hanako_client.post(
        _page(draft), {**VALID_BASICS, "f-document": png_named_pdf, "action": "continue"}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert (
        "スキャン.pdf: このファイルの形式は受け付けられません。PDFのファイルを選んでください。"
        in body
    )
    assert "f-document" in error_summary_links(response)
    _assert_kept(response, VALID_BASICS)

    big = upload("大きい.pdf", pdf() + b"%" * (1024 * 1024 + 512 * 1024), "application/pdf")
    response = hanako_client.post(
        _page(draft), {**VALID_BASICS, "f-document": big, "action": "continue"}
    )
    assert response.status_code == 422
    assert (
        "ファイルが大きすぎます（1.5MB）。1MB以下のファイルにしてください。"
        in response.content.decode()
    )
    assert Application.objects.get(pk=draft).answers.get("document") is None
