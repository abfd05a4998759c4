"""E-mails in the language the person reads the site in: chosen with the language switch
(or before signing in), kept on the account, used for every e-mail sent to them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from madoguchi.backoffice import services
from madoguchi.catalogue.validation import check_text
from madoguchi.identity.models import User
from madoguchi.notifications.models import OutboundEmail
from madoguchi.notifications.services import queue_email

from ..backoffice.conftest import SIMPLE, submit_dog

pytestmark = pytest.mark.django_db


def _emails(application) -> dict[str, OutboundEmail]:
    return {e.template: e for e in OutboundEmail.objects.filter(related_id=str(application.pk))}


def test_the_language_switch_keeps_a_signed_in_persons_choice(hanako, hanako_client):
    response = hanako_client.post("/i18n/setlang/", {"language": "en", "next": "/procedures/"})
    assert response.status_code == 302 and response["Location"] == "/procedures/"
    assert response.cookies["madoguchi_language"].value == "en"
    hanako.refresh_from_db()
    assert hanako.language == "en"
    # It is the person's data: their download says so.
    from madoguchi.identity.personal_data import export

    assert export(hanako)["account"]["language"] == "en"
    hanako_client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    hanako.refresh_from_db()
    assert hanako.language == "ja"


@pytest.mark.parametrize("value", ["fr", "", "en<script>", "x" * 200])
def test_a_language_the_site_does_not_have_changes_nothing(hanako, hanako_client, value):
    User.objects.filter(pk=hanako.pk).update(language="en")
    response = hanako_client.post("/i18n/setlang/", {"language": value, "next": "/"})
    assert response.status_code == 302
    assert "madoguchi_language" not in response.cookies
    hanako.refresh_from_db()
    assert hanako.language == "en"


def test_a_visitor_can_switch_without_an_account(sample):
    response = Client().post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["madoguchi_language"].value == "en"


def test_the_language_chosen_before_signing_in_is_kept(hanako):
    from ..conftest import PASSWORD

    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.post("/account/login/", {"login": "hanako@example.jp", "password": PASSWORD})
    assert response.status_code == 302
    hanako.refresh_from_db()
    assert hanako.language == "en"


def test_an_english_reader_gets_english_e_mails_and_a_japanese_reader_japanese(
    hanako, taro, kankyo_staff
):
    User.objects.filter(pk=hanako.pk).update(language="en")
    hanako.refresh_from_db()
    english = submit_dog(hanako)
    japanese = submit_dog(taro)
    for application in (english, japanese):
        services.start_review(application=application, staff=kankyo_staff)
        services.request_correction(
            application=application,
            staff=kankyo_staff,
            field_ids=["dog_name"],
            message="お名前の字を",
            reply_by=dt.date(2026, 12, 18),
        )
    sent = _emails(english)
    submitted = sent["application_submitted"]
    assert submitted.subject == f"[Received] Dog registration (reference {english.receipt_number})"
    assert "Reference number: " + english.receipt_number in submitted.body_text
    assert submitted.body_text.startswith(
        f"{english.body.name_en} has received your application for “Dog registration”."
    )
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", submitted.subject + submitted.body_text)
    assert "Dec. 18, 2026" in sent["correction_requested"].body_text
    assert "2026年" not in sent["correction_requested"].body_text

    sent = _emails(japanese)
    assert sent["application_submitted"].subject == (
        f"【受付】犬の登録申請（受付番号 {japanese.receipt_number}）"
    )
    assert "2026年12月18日" in sent["correction_requested"].body_text


def _override(**english: str) -> dict:
    own = {"subject": "【結果】{{ receipt_number }}", "body": "結果は {{ status_url }}"}
    return {"decision_made": {**own, **english}}


@pytest.mark.parametrize(
    ("language", "english", "subject"),
    [
        (
            "en",
            {"subject_en": "Decided: {{ receipt_number }}", "body_en": "See {{ status_url }}"},
            "Decided: 261201-1",
        ),
        (
            "ja",
            {"subject_en": "Decided: {{ receipt_number }}", "body_en": "See {{ status_url }}"},
            "【結果】261201-1",
        ),
        # Without an English text an English reader gets the procedure's Japanese one.
        ("en", {}, "【結果】261201-1"),
    ],
)
def test_a_procedures_own_text_in_the_readers_language(sample, language, english, subject):
    from django.db import transaction

    with transaction.atomic():
        email = queue_email(
            to="someone@example.jp",
            template="decision_made",
            context={"receipt_number": "261201-1", "status_url": "/applications/x/"},
            language=language,
            overrides=_override(**english),
        )
    assert email.subject == subject
    assert email.body_text.endswith("/applications/x/")


def test_an_english_text_needs_both_parts_and_known_placeholders():
    with_subject_only = SIMPLE.replace(
        "    body: |\n",
        '    subject_en: "Result: {{ state_label }}"\n    body: |\n',
        1,
    )
    _data, problems = check_text(with_subject_only, "noise.yaml")
    assert [p.path for p in problems] == ["notifications.decision_made.body_en"]
    assert "body_en" in problems[0].ja and "both" in problems[0].en

    unknown = with_subject_only.replace(
        '"Result: {{ state_label }}"\n', '"Result: {{ owner_name }}"\n    body_en: "x"\n'
    )
    _data, problems = check_text(unknown, "noise.yaml")
    assert [p.path for p in problems] == ["notifications.decision_made.subject_en"]
    assert "owner_name" in problems[0].en

    valid = unknown.replace("{{ owner_name }}", "{{ state_label }}")
    data, problems = check_text(valid, "noise.yaml")
    assert problems == [] and data["notifications"]["decision_made"]["body_en"] == "x"


def test_the_switch_needs_the_csrf_token_and_a_post(hanako):
    from ..conftest import login

    client = login(hanako)
    client.handler.enforce_csrf_checks = True
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 403
    hanako.refresh_from_db()
    assert hanako.language == "ja"
    response = client.get("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code in (302, 204)
    hanako.refresh_from_db()
    assert hanako.language == "ja"


def test_a_cookie_with_a_language_the_site_lacks_is_ignored_at_log_in(hanako):
    from ..conftest import PASSWORD

    client = Client()
    client.cookies["madoguchi_language"] = "fr"
    response = client.post("/account/login/", {"login": "hanako@example.jp", "password": PASSWORD})
    assert response.status_code == 302
    hanako.refresh_from_db()
    assert hanako.language == "ja"
