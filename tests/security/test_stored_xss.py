"""Stored XSS: script and HTML typed into a real application's text fields and messages is
shown inert wherever it is shown again — the resident's pages, the staff's pages, the
e-mails (text and HTML parts) and the issued PDF (as literal text)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from ..conftest import login
from ..counter.helpers import DOG_PAGES, application_id_from, start, submit
from ..issuance.conftest import _fresh_cache, _fresh_signers, issue  # noqa: F401
from ..issuance.helpers import NAME, approve, parking_answers, submitted

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "'><svg onload=alert(1)>"
PAYLOADS = (SCRIPT, IMG, SVG)
# How each one looks once escaped by Django's templates.
ESCAPED = {
    SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;",
    IMG: "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
    SVG: "&#x27;&gt;&lt;svg onload=alert(1)&gt;",
}
RAW_TAGS = ("<script>alert", "<img src=x", "<svg onload")


def _assert_inert(html: str, *, shown: tuple[str, ...], where: str) -> None:
    for tag in RAW_TAGS:
        assert tag not in html, f"{where}: raw {tag!r}"
    for payload in shown:
        assert ESCAPED[payload] in html, f"{where}: {payload!r} not shown (escaped)"


def _hostile_dog_registration(client) -> str:
    pages = {
        "owner": {**DOG_PAGES["owner"], "f-owner_address-building": SVG},
        "dog": {**DOG_PAGES["dog"], "f-dog_name": SCRIPT, "f-breed": IMG},
        "rabies": DOG_PAGES["rabies"],
    }
    application_id = application_id_from(start(client, "992011", "dog-registration"))
    for page_id, data in pages.items():
        response = client.post(
            reverse("counter:page", args=[application_id, page_id]), {**data, "action": "continue"}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    return application_id


def test_payloads_are_inert_on_pages_and_in_emails(
    hanako, kankyo_staff, django_capture_on_commit_callbacks
):
    resident = login(hanako)
    application_id = _hostile_dog_registration(resident)
    # The check page, before submitting, shows every answer.
    _assert_inert(
        resident.get(reverse("counter:check", args=[application_id])).content.decode(),
        shown=PAYLOADS,
        where="check page",
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit(resident, application_id)
        response = resident.post(
            reverse("counter:post_message", args=[application_id]), {"body": SCRIPT + IMG}
        )
        assert response.status_code == 302
    staff = login(kankyo_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("backoffice:post_message", args=[application_id]), {"body": SVG}
        )
        assert response.status_code == 302
        response = staff.post(reverse("backoffice:add_note", args=[application_id]), {"body": IMG})
        assert response.status_code == 302

    _assert_inert(
        resident.get(reverse("counter:detail", args=[application_id])).content.decode(),
        shown=PAYLOADS,
        where="resident's application page",
    )
    _assert_inert(
        staff.get(reverse("backoffice:detail", args=[application_id])).content.decode(),
        shown=PAYLOADS,
        where="staff's application page",
    )
    _assert_inert(staff.get(reverse("backoffice:queue")).content.decode(), shown=(), where="queue")

    assert mail.outbox, "no e-mail was sent"
    for message in mail.outbox:
        for tag in RAW_TAGS:
            assert tag not in message.subject
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                for tag in RAW_TAGS:
                    assert tag not in content, f"HTML e-mail {message.subject!r}: raw {tag!r}"


def _pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "document.pdf"
        path.write_bytes(data)
        done = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    return done.stdout.decode("utf-8")


def test_a_payload_in_an_issued_pdf_is_literal_text(hanako, issue):  # noqa: F811
    # The permit prints the user's name: a payload in it is printed as it was typed.
    name = {**NAME, "given": SCRIPT}
    application = approve(
        submitted("990001", "omoiyari-parking", parking_answers(hanako, user_name=name), hanako)
    )
    document = issue(application)
    data = document.pdf.open("rb").read()
    text = _pdf_text(data)
    assert SCRIPT in text.replace("\n", ""), text
    # Shown, not interpreted: the PDF carries no JavaScript action.
    for marker in (b"/JavaScript", b"/JS ", b"/OpenAction"):
        assert marker not in data, marker
