"""The resident's profile (基本4情報 and contact details) and prefilling with consent."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.identity.models import ResidentProfile

from ..counter.helpers import (
    DOG_PAGES,
    application_id_from,
    error_summary_links,
    form_values,
    post_page,
    start,
)

pytestmark = pytest.mark.django_db

TARO = {
    "family_name": "佐藤",
    "given_name": "太郎",
    "family_name_kana": "サトウ",
    "given_name_kana": "ﾀﾛｳ",
    "birth_year": "平成2",
    "birth_month": "１",
    "birth_day": "15",
    "sex": "male",
    "postal_code": "１００－０００１",
    "prefecture": "東京都",
    "city": "千代田区",
    "street": "千代田1-1",
    "building": "さくらハイツ101",
    "phone": "03-1234-5678",
    "date_style": "wareki",
}


def test_profile_is_saved_with_a_wareki_birth_date(taro, taro_client):
    page = taro_client.get(reverse("identity:profile"))
    assert page.status_code == 200
    response = taro_client.post(reverse("identity:profile"), TARO)
    assert response.status_code == 302
    assert "登録情報を保存しました。" in taro_client.get(response["Location"]).content.decode()
    profile = ResidentProfile.objects.get(user=taro)
    assert profile.birth_date == dt.date(1990, 1, 15)
    assert (profile.family_name_kana, profile.given_name_kana) == ("さとう", "たろう")
    assert profile.postal_code == "1000001" and profile.phone == "+81312345678"
    assert profile.sources["birth_date"]["by"] == "resident"
    assert profile.sources["birth_date"]["verified"] is False
    shown = form_values(taro_client.get(reverse("identity:profile")))
    assert shown["birth_year"] == "平成2" and shown["birth_month"] == "1"
    assert shown["postal_code"] == "100-0001" and shown["phone"] == "03-1234-5678"


def test_wrong_values_are_explained_and_kept(taro, taro_client):
    wrong = {
        **TARO,
        "family_name_kana": "sato",
        "birth_year": "平成32",
        "postal_code": "12-34",
        "prefecture": "ムー大陸",
        "city": "町" * 201,
        "phone": "でんわ",
        "sex": "other",
        "family_name": "佐藤\x00",
    }
    response = taro_client.post(reverse("identity:profile"), wrong)
    assert response.status_code == 422
    body = response.content.decode()
    for message in (
        "ふりがなはひらがなで入力してください。",
        "平成32年はありません（平成は31年まで）。",
        "郵便番号は7桁の数字で入力してください（例: 123-4567）。",
        "都道府県を選択してください。",
        "200文字以内で入力してください。",
        "電話番号は数字とハイフンで入力してください",
        "選択肢から選んでください。",
        "使用できない制御文字が含まれています。",
    ):
        assert body.count(message) >= 2, message  # in the summary and at the field
    links = error_summary_links(response)
    for target in links:
        assert re.search(rf'\bid="{re.escape(target)}"', body), target
    assert {
        "f-family_name_kana",
        "f-birth-year",
        "f-postal_code",
        "f-prefecture",
        "f-city",
        "f-phone",
    } <= set(links)
    shown = form_values(response)
    for key in (
        "family_name_kana",
        "birth_year",
        "birth_month",
        "birth_day",
        "postal_code",
        "city",
        "phone",
        "street",
        "building",
        "given_name",
    ):
        assert shown[key] == wrong[key], key
    assert not ResidentProfile.objects.filter(user=taro).exclude(family_name="").exists()


def test_prefill_only_with_consent(taro, taro_client):
    start_url = reverse("counter:start", args=["992011", "dog-registration"])
    # Nothing registered yet: no offer to prefill.
    assert "登録情報の利用" not in taro_client.get(start_url).content.decode()
    taro_client.post(reverse("identity:profile"), TARO)
    offer = taro_client.get(start_url).content.decode()
    assert "登録情報の利用" in offer
    # Offered, not ticked: consent is the resident's act, not a default.
    assert "use_profile" not in form_values(taro_client.get(start_url))
    assert 'name="use_profile" value="yes">' in offer

    with_consent = application_id_from(
        start(taro_client, "992011", "dog-registration", {"use_profile": "yes"})
    )
    values = form_values(taro_client.get(reverse("counter:page", args=[with_consent, "owner"])))
    assert values["f-owner_name-family"] == "佐藤"
    assert values["f-owner_name-given_kana"] == "たろう"
    assert values["f-owner_address-postal_code"] == "100-0001"
    assert values["f-owner_address-building"] == "さくらハイツ101"
    assert values["f-owner_phone"] == "03-1234-5678"

    # The box unchecked: the browser sends nothing for it, and nothing is prefilled.
    without = application_id_from(start(taro_client, "992011", "dog-registration", {}))
    values = form_values(taro_client.get(reverse("counter:page", args=[without, "owner"])))
    assert values["f-owner_name-family"] == ""
    assert values["f-owner_phone"] == ""
    page = taro_client.get(reverse("counter:page", args=[without, "owner"])).content.decode()
    assert "佐藤" not in page and "03-1234-5678" not in page


def test_prefill_is_not_used_for_someone_else(hanako_client):
    application_id = application_id_from(
        start(
            hanako_client,
            "992011",
            "juminhyo-copy",
            {
                "role": "legal_representative",
                "use_profile": "yes",
                "subject_family": "山田",
                "subject_given": "一郎",
                "subject_birth_year": "R2",
                "subject_birth_month": "4",
                "subject_birth_day": "1",
            },
        )
    )
    values = form_values(
        hanako_client.get(reverse("counter:page", args=[application_id, "requester"]))
    )
    assert values["f-requester_name-family"] == ""


def test_date_style_of_the_profile_is_used_on_the_check_page(taro, taro_client):
    taro_client.post(reverse("identity:profile"), {**TARO, "date_style": "seireki"})
    application_id = application_id_from(start(taro_client, "992011", "dog-registration", {}))
    for page_id, data in DOG_PAGES.items():
        post_page(taro_client, application_id, page_id, data)
    check = taro_client.get(reverse("counter:check", args=[application_id])).content.decode()
    assert "2023年4月1日" in check and "令和5年4月1日" not in check


def test_profile_needs_a_login():
    response = Client().get(reverse("identity:profile"))
    assert response.status_code == 302 and "/account/login/" in response["Location"]
