"""English is available: a resident or member of staff who chooses it (with the switcher in
the header, which works without JavaScript) gets the pages in English, while Japanese stays
the default. The English catalogue covers every message of the code and templates, so
that a new Japanese text cannot be left untranslated without a test saying which."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

import madoguchi

from ..conftest import login
from ..counter.helpers import application_id_from, start

PACKAGE = Path(madoguchi.__file__).parent
CATALOGUE = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def compiled_catalogue():
    """The pages are translated from the compiled .mo (build output: `make` compiles it);
    a stale one would make these tests check yesterday's catalogue."""
    compiled = CATALOGUE.with_suffix(".mo")
    if not compiled.exists() or compiled.stat().st_mtime < CATALOGUE.stat().st_mtime:
        pytest.fail(
            f"{compiled} is missing or older than its .po: run `make messages` "
            "(or `madoguchi compile_translations`)"
        )


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page_text(response) -> str:
    """The visible text of a page, tags removed, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def html_lang(response) -> str:
    match = re.search(r"<html lang=\"([^\"]*)\"", response.content.decode())
    assert match, "no <html lang> on the page"
    return match.group(1)


def assert_english(response, *expected: str) -> None:
    assert response.status_code == 200
    assert html_lang(response) == "en"
    text = page_text(response)
    for phrase in expected:
        assert phrase in text, f"{phrase!r} not on the page"
    # The header and footer of every page.
    for phrase in ("Skip to main content", "Find a procedure", "Accessibility"):
        assert phrase in text, f"{phrase!r} not on the page"
    for japanese in ("本文へ移動", "手続をさがす", "ウェブアクセシビリティ"):
        assert japanese not in text


@pytest.mark.usefixtures("compiled_catalogue")
def test_japanese_is_the_default(sample):
    response = Client().get("/")
    assert html_lang(response) == "ja"
    text = page_text(response)
    assert "手続をさがす" in text
    assert "Find a procedure" not in text
    # The switcher offers English, marked as English for screen readers.
    assert re.search(
        r'<button[^>]*name="language" value="en" lang="en">English</button>',
        response.content.decode(),
    )


@pytest.mark.usefixtures("compiled_catalogue")
def test_the_switcher_sets_english_without_javascript(sample):
    """The header's form, posted as a browser without JavaScript would (CSRF enforced),
    switches to English and back, returning to the same page."""
    client = Client(enforce_csrf_checks=True)
    response = client.get("/procedures/")
    html = response.content.decode()
    form = re.search(
        r'<form class="lang-form" action="([^"]+)" method="post">(.*?)</form>', html, re.S
    )
    assert form, "no language switcher in the header"
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
    button = re.search(r'<button[^>]*name="language" value="([a-z]+)"', form.group(2))
    assert button.group(1) == "en"
    assert fields["next"] == "/procedures/"

    response = client.post(form.group(1), {**fields, "language": "en"})
    assert response.status_code == 302
    assert response["Location"] == "/procedures/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    response = client.get("/procedures/")
    assert_english(response, "Keywords", "Find by life event")

    # Back to Japanese from the English page, whose button now offers 日本語.
    html = response.content.decode()
    form = re.search(
        r'<form class="lang-form" action="([^"]+)" method="post">(.*?)</form>', html, re.S
    )
    assert 'name="language" value="ja" lang="ja"' in form.group(2)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
    client.post(form.group(1), {**fields, "language": "ja"})
    response = client.get("/procedures/")
    assert html_lang(response) == "ja"
    assert "暮らしの出来事からさがす" in page_text(response)


@pytest.mark.usefixtures("compiled_catalogue")
def test_home_in_english(sample):
    response = english(Client()).get("/")
    assert_english(
        response,
        "No visit, no waiting, no filling in the same thing again and again.",
        "Find by life event",
        "Raising children",
        "Sign in",
    )


@pytest.mark.usefixtures("compiled_catalogue")
def test_catalogue_in_english(sample):
    response = english(Client()).get("/procedures/")
    assert_english(response, "Keywords", "Search", "Find by life event", "Pets")
    # The procedures, their municipality and unit by their English names.
    assert "Dog registration" in page_text(response)
    assert "Aoba City Living Environment Division" in page_text(response)
    # The categories' headings too (category_en), in the order of the Japanese names.
    headings = re.findall(r'<h2 id="cat-\d+">([^<]+)</h2>', response.content.decode())
    assert headings == [
        "Childcare",
        "Education",
        "Living and environment",
        "Welfare",
        "Certificates",
    ]
    japanese = re.findall(
        r'<h2 id="cat-\d+">([^<]+)</h2>', Client().get("/procedures/").content.decode()
    )
    assert japanese == ["子育て", "教育", "生活・環境", "福祉", "証明書"]


@pytest.mark.usefixtures("compiled_catalogue")
def test_procedure_page_and_its_start_in_english(hanako):
    client = english(login(hanako))
    response = client.get("/procedures/992011/dog-registration/")
    assert_english(
        response,
        "Apply online",
        "Standard processing time",
        "3,000 yen",
        "Sign out",
        # The definition's own English (summary_en).
        "If you start keeping a dog aged 91 days or more, register it within 30 days",
    )

    response = client.get("/procedures/992011/dog-registration/start/")
    assert_english(
        response,
        "Start your application",
        "Back to the procedure",
        "Use your saved details",
    )


@pytest.mark.usefixtures("compiled_catalogue")
def test_dates_follow_the_language(hanako):
    """Dates are written the English way in English (the date formats are in the
    catalogue too), the Japanese way by default."""
    client = login(hanako)
    start(client, "992011", "dog-registration")
    saved = timezone.localtime()
    response = english(client).get("/applications/")
    assert_english(response, "My applications", "Draft")
    assert f"Saved on {saved.day} {saved:%B} {saved.year}" in page_text(response)

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    text = page_text(client.get("/applications/"))
    assert f"{saved.year}年{saved.month}月{saved.day}日" in text
    assert "に保存" in text


@pytest.mark.usefixtures("compiled_catalogue")
def test_login_page_in_english(sample):
    response = english(Client()).get("/account/login/")
    assert_english(
        response,
        "If you do not have an account, create an account",
        "Forgotten your password?",
        "Use a passkey",
    )


@pytest.mark.usefixtures("compiled_catalogue")
def test_staff_pages_in_english(shimin_staff):
    client = english(login(shimin_staff))
    response = client.get("/staff/")
    assert_english(response, "Staff home", "Applications to process", "Assigned to me")
    response = client.get("/staff/queue/")
    assert_english(response, "Sort by", "Due date, soonest first", "Clear filters")


# The texts of a definition that have an English variant (`<key>_en`) in the schema.
ENGLISH_VARIANTS = {
    "name",
    "category",
    "summary",
    "title",
    "label",
    "hint",
    "text",
    "item_label",
    "who_can_apply",
    "contact",
    "note",
    "unit",
    "closed_message",
    "intro",
}
# The unit of a line of the fee table has no English: in English the table shows the
# quantity alone ("3", not "3 copy").
NO_ENGLISH_YET = re.compile(r"\.fee\.items\[\d+\]\.unit$")


def _texts_without_english(node, path: str = "") -> list[str]:
    missing = []
    if isinstance(node, dict):
        for key, value in node.items():
            if NO_ENGLISH_YET.search(f"{path}.{key}"):
                continue
            if key in ENGLISH_VARIANTS and isinstance(value, str) and f"{key}_en" not in node:
                missing.append(f"{path}.{key}: {value}")
            missing += _texts_without_english(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            missing += _texts_without_english(value, f"{path}[{index}]")
    return missing


def test_every_text_of_the_sample_definitions_has_its_english():
    """An English reader sees no Japanese the sample could have translated: each label,
    hint, option, notice, agreement, page title and deliverable gives its `_en`."""
    import yaml

    definitions = sorted((PACKAGE / "sample" / "catalogue").rglob("*.yaml"))
    assert len(definitions) >= 5
    missing = {
        str(path.relative_to(PACKAGE)): _texts_without_english(yaml.safe_load(path.read_text()))
        for path in definitions
    }
    assert {path: texts for path, texts in missing.items() if texts} == {}


@pytest.mark.usefixtures("compiled_catalogue")
def test_agreements_option_hints_and_deliverables_in_english(hanako):
    """The schema takes `text_en` on agreements, `hint_en` on options and `name_en` on the
    deliverable, and the pages show them to English readers (Japanese by default)."""
    client = english(login(hanako))
    response = client.get("/procedures/992011/income-certificate/")
    assert_english(response, "Income certificate and tax certificate")

    response = start(client, "990001", "omoiyari-parking")
    page = client.get(response["Location"])
    assert_english(page, "From the 7th month of pregnancy until one year after the birth")
    assert "妊娠7か月から産後1年まで" not in page_text(page)

    response = start(client, "992011", "income-certificate")
    application_id = application_id_from(response)
    page = client.get(f"/applications/{application_id}/pages/delivery/")
    assert_english(page, "may be punished under the Local Tax Act")
    assert "地方税法" not in page_text(page)

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    page = client.get(f"/applications/{application_id}/pages/delivery/")
    assert "地方税法により罰せられることがあります" in page_text(page)


@pytest.mark.usefixtures("compiled_catalogue")
def test_who_can_apply_fees_contact_intro_units_and_closing_in_english(hanako):
    from ..api.conftest import set_window

    client = english(login(hanako))
    response = client.get("/procedures/992011/juminhyo-copy/")
    assert_english(
        response,
        "a member of the same household, or a representative",
        "300 yen / copy",
        "300 yen a copy. The city pays the postage.",
        "Citizens Section, Certificates, 0123-45-6789",
    )
    assert "同一世帯の方" not in page_text(response) and "郵送料" not in page_text(response)

    response = start(client, "990001", "omoiyari-parking")
    application_id = application_id_from(response)
    page = client.get(f"/applications/{application_id}/pages/evidence/")
    assert_english(page, "Attach a photo or PDF of a document that shows your category")

    response = start(client, "992011", "income-certificate")
    application_id = application_id_from(response)
    page = client.get(f"/applications/{application_id}/pages/request/")
    assert re.search(r'name="f-copies"[^>]*><span>copies</span>', page.content.decode())

    past = timezone.now() - dt.timedelta(days=30)
    set_window("990001", "highschool-web-application", opens_at=past, closes_at=past)
    response = client.get("/procedures/990001/highschool-web-application/")
    assert_english(response, "Please ask your junior high school.")
    japanese = Client().get("/procedures/990001/highschool-web-application/")
    assert "在籍（出身）中学校にご相談ください" in page_text(japanese)


@pytest.mark.usefixtures("compiled_catalogue")
def test_the_fee_table_and_the_visit_in_english(hanako):
    """The check page in English: the fee table's quantity without the Japanese unit, the
    fee's note_en and the visit's note_en (the appointment panel)."""
    from ..counter.helpers import fill_pages

    client = english(login(hanako))
    response = start(client, "992011", "income-certificate")
    application_id = application_id_from(response)
    fill_pages(
        client,
        application_id,
        {
            "request": {"f-kind": "income", "f-fiscal_year": "令和8年度", "f-copies": "2"},
            "purpose": {"f-purpose": "住宅ローン"},
            "delivery": {"f-delivery": "counter", "f-declaration": "yes"},
        },
    )
    page = client.get(f"/applications/{application_id}/check/")
    assert_english(
        page,
        "Income certificate 300 yen 2 600 yen",
        "The city pays the postage.",
        "If you collect it at the counter, bring proof of identity",
    )
    for japanese in (
        "2通",
        "郵送料は市が負担します",
        "本人確認書類",
        "所得証明書・課税証明書の交付請求",
    ):
        assert japanese not in page_text(page)
    # The procedure's English name, in the title and the caption (version.display_name).
    assert "Check your answers - Request for an income or tax certificate" in page_text(page)
    listed = client.get("/applications/")
    assert_english(listed, "Request for an income or tax certificate")

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    text = page_text(client.get(f"/applications/{application_id}/check/"))
    assert "300円 2通 600円" in text and "郵送料は市が負担します" in text and "本人確認書類" in text


def test_catalogue_has_every_message_translated():
    """No entry of the English catalogue is empty or fuzzy (a fuzzy one is a guess of
    msgmerge's and is not used)."""
    catalogue = polib.pofile(str(CATALOGUE))
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not missing, "untranslated in " + str(CATALOGUE) + ":\n" + "\n".join(missing)
    assert not fuzzy, "fuzzy in " + str(CATALOGUE) + ":\n" + "\n".join(fuzzy)


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
    reason="GNU gettext (xgettext, msgmerge) is not installed: `make system-deps`",
)
def test_catalogue_has_every_message_of_the_code(tmp_path):
    """`make messages` run on a copy of the code adds nothing to the catalogue: every
    Japanese text of the templates and the Python code has its English entry."""
    copy = tmp_path / "madoguchi"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "en",
            "--no-obsolete",
            "--ignore",
            "*/tests/*",
            "-v0",
        ],
        cwd=copy,
        env=environment,
        check=True,
        capture_output=True,
    )
    extracted = polib.pofile(str(copy / "locale" / "en" / "LC_MESSAGES" / "django.po"))
    known = {entry.msgid for entry in polib.pofile(str(CATALOGUE))}
    new = sorted(
        f"{entry.msgid!r} ({', '.join(path for path, _ in entry.occurrences)})"
        for entry in extracted
        if entry.msgid not in known
    )
    assert not new, "not in the English catalogue (run `make messages` and translate):\n" + (
        "\n".join(new)
    )
    gone = sorted(known - {entry.msgid for entry in extracted})
    assert not gone, "in the catalogue but no longer in the code (run `make messages`):\n" + (
        "\n".join(gone)
    )
