"""Every deliverable template renders to PDF/A-2b with embedded fonts, including 外字."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from madoguchi.issuance import fonts, rendering, services
from madoguchi.issuance.models import DocumentState

from .helpers import approve, highschool_answers, parking_answers, submitted

GAIJI = "𠮷田 髙﨑子"


def _issue(application, capture):
    with capture(execute=True):
        document = services.schedule_issuance(application_id=application.pk)
    document.refresh_from_db()
    assert document.state == DocumentState.ISSUED, document.last_error
    return document


def pdffonts(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        return subprocess.run(
            ["pdffonts", handle.name], capture_output=True, text=True, check=True
        ).stdout


def pdftext(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        return subprocess.run(
            ["pdftotext", "-enc", "UTF-8", handle.name, "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def embedded_fonts(data: bytes) -> list[list[str]]:
    lines = pdffonts(data).splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


@pytest.fixture
def permit(hanako, django_capture_on_commit_callbacks):
    application = approve(submitted("990001", "omoiyari-parking", parking_answers(hanako), hanako))
    return _issue(application, django_capture_on_commit_callbacks)


def test_the_permit_embeds_only_the_project_fonts_and_draws_every_gaiji(permit):
    data = permit.pdf.open("rb").read()
    found = embedded_fonts(data)
    assert found, "no fonts embedded"
    for row in found:
        # name, type ..., emb, sub, uni, object, id: every font embedded as a subset.
        assert row[-5:-2] == ["yes", "yes", "yes"], row
        assert "madoguchi" in row[0], f"a font not taken from the project: {row[0]}"
    text = pdftext(data)
    # The user's name with 𠮷, 髙 and 﨑 comes back out of the PDF's text layer: each
    # character was set with a glyph of an embedded font (IPAmj明朝 for 𠮷).
    assert "𠮷田" in text and "髙﨑子" in text
    assert rendering.FALLBACK_MARK not in text


def test_the_embedded_fonts_cover_every_character_of_the_document(permit):
    """The cmaps of the embedded fonts (BIZ UD Gothic, IPAmj Mincho) cover all the text."""
    text = pdftext(permit.pdf.open("rb").read())
    assert fonts.uncovered_characters(text) == []


def test_a_character_no_font_has_falls_back_to_the_geta_mark_visibly():
    # U+31350 (CJK Extension H) is in neither font.
    assert fonts.uncovered_characters("田\U00031350") == ["\U00031350"]
    assert rendering.visible_text("田\U00031350子") == "田〓子"


def test_a_name_with_an_unknown_character_renders_with_the_mark(
    hanako, django_capture_on_commit_callbacks
):
    name = {"family": "田\U00031350", "given": "花子", "family_kana": "た", "given_kana": "はなこ"}
    application = approve(
        submitted("990001", "omoiyari-parking", parking_answers(hanako, user_name=name), hanako)
    )
    document = _issue(application, django_capture_on_commit_callbacks)
    assert "田〓" in pdftext(document.pdf.open("rb").read())


def test_the_permit_is_pdf_a_2b_with_an_output_intent(permit):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(permit.pdf.open("rb").read()))
    root = reader.root
    xmp = root["/Metadata"].get_object().data
    # pyHanko rewrites the XMP packet when it signs; the PDF/A identification stays.
    assert b'pdfaid:part="2"' in xmp or b"<pdfaid:part>2</pdfaid:part>" in xmp
    assert b'pdfaid:conformance="B"' in xmp or b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    # Info and XMP agree on the producer (PDF/A-2, 6.6.2.3.1).
    producer = str(reader.trailer["/Info"]["/Producer"])
    assert (
        f'pdf:Producer="{producer}"'.encode() in xmp or f"<pdf:Producer>{producer}<".encode() in xmp
    )
    intent = root["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    assert "/DestOutputProfile" in intent
    assert f"madoguchi-document:{permit.pk}" in str(reader.trailer["/Info"]["/Keywords"])


def test_the_permit_card_is_card_sized_on_an_a4_page(permit):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "permit.pdf"
        path.write_bytes(permit.pdf.open("rb").read())
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    text = pdftext(permit.pdf.open("rb").read())
    assert permit.number in text and "有効期限" in text
    # The card itself: from its title at the top to the issuer's line at the bottom, and to
    # the symbol at the right, it spans a 148 × 105 mm card, not the A4 page.
    words = _words(permit.pdf.open("rb").read())
    title = next(w for w in words if w["text"].startswith("おもいやり駐車場利用証"))
    issuer = next(w for w in words if w["text"] == f"{permit.body.name}知事")
    on_card = [
        w for w in words if title["yMin"] - 1 <= w["yMin"] and w["yMax"] <= issuer["yMax"] + 1
    ]
    right = max(w["xMax"] for w in on_card)
    height_mm = (issuer["yMax"] - title["yMin"]) * 25.4 / 72
    width_mm = (right - title["xMin"]) * 25.4 / 72
    assert 80 < height_mm < 105, height_mm
    assert 110 < width_mm < 148, width_mm


def _words(data: bytes) -> list[dict]:
    """Each word of the first page with its box in points (pdftotext -bbox)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        html = subprocess.run(
            ["pdftotext", "-bbox", "-f", "1", "-l", "1", "-enc", "UTF-8", handle.name, "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    pattern = (
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        {"xMin": float(a), "yMin": float(b), "xMax": float(c), "yMax": float(d), "text": text}
        for a, b, c, d, text in re.findall(pattern, html)
    ]


def test_the_exam_admission_ticket_carries_the_photo(hanako, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from madoguchi.catalogue.models import Procedure, ProcedureVersion

    procedure = Procedure.objects.get(body__code="990001", identifier="highschool-web-application")
    ProcedureVersion.objects.filter(pk=procedure.current_version_id).update(
        opens_at=timezone.now() - dt.timedelta(days=1),
        closes_at=timezone.now() + dt.timedelta(days=1),
    )
    from madoguchi.identity.models import User
    from madoguchi.payments import services as payments

    application = approve(
        submitted("990001", "highschool-web-application", highschool_answers(hanako), hanako)
    )
    # The 入学考査料 is due before the 受検票 is issued: paid at the counter here.
    payments.record_counter_payment(
        application=application,
        staff=User.objects.get(email="koko.tanto@sakura.example.jp"),
        amount=application.fee_amount,
    )
    document = _issue(application, django_capture_on_commit_callbacks)
    data = document.pdf.open("rb").read()
    assert document.title == "受検票"
    assert b"/Subtype /Image" in data or b"/Subtype/Image" in data
    assert "受検番号" in pdftext(data)


@pytest.mark.parametrize("template", sorted(rendering.TEMPLATES))
def test_every_template_renders(template, hanako, django_capture_on_commit_callbacks):
    from madoguchi.issuance.models import IssuedDocument

    application = approve(submitted("990001", "omoiyari-parking", parking_answers(hanako), hanako))
    with django_capture_on_commit_callbacks(execute=False):
        document = services.schedule_issuance(application_id=application.pk)
    IssuedDocument.objects.filter(pk=document.pk).update(template=template)
    document.refresh_from_db()
    data = rendering.render_document(document, demo=True)
    text = pdftext(data)
    assert document.number in text
    assert "見本" in text  # the demo key's documents say so on their face
    assert str(document.pk) in text
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        info = subprocess.run(["pdfinfo", handle.name], capture_output=True, text=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info  # every one A4


def test_the_printed_qr_code_reads_as_the_verification_url(permit, tmp_path):
    """Scanned as a phone would scan the paper: the first page rasterised at 150 dpi (a
    modest scanner), then decoded by zbar, gives the public verification URL with the
    document's ID, and opening that URL shows this document."""
    source = tmp_path / "permit.pdf"
    source.write_bytes(permit.pdf.open("rb").read())
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-gray",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        capture_output=True,
    )
    (image,) = tmp_path.glob("page*.png")
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert decoded.returncode == 0, f"no QR code found on the page: {decoded.stderr}"
    # The permit has two: on the card to cut out and in the sheet's verification block.
    codes = decoded.stdout.splitlines()
    assert len(codes) == 2
    assert set(codes) == {rendering.verification_url(permit.pk)}
    path = "/" + codes[0].split("/", 3)[3]
    from django.test import Client

    page = Client().get(path)
    assert page.status_code == 200 and permit.number in page.content.decode()
