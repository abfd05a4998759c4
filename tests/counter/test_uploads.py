"""Uploads: type by content, size limits, image rules, PDF active content, clean names."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from madoguchi.counter.models import Application, ApplicationFile
from madoguchi.files.models import StoredFile
from madoguchi.files.services import UploadRejected, clean_filename, store_upload

from .helpers import application_id_from, error_summary_links, start
from .uploads import (
    jpeg,
    pdf,
    pdf_with_compressed_javascript,
    pdf_with_hex_escaped_javascript,
    pdf_with_javascript,
    png,
    upload,
)

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture
def photo_page(hanako_client, open_highschool):
    application_id = application_id_from(
        start(hanako_client, "990001", "highschool-web-application")
    )
    return application_id, reverse("counter:page", args=[application_id, "photo"])


@pytest.fixture
def evidence_page(hanako_client):
    application_id = application_id_from(start(hanako_client, "990001", "omoiyari-parking"))
    return application_id, reverse("counter:page", args=[application_id, "evidence"])


def _post(client, url, field, files):
    return client.post(url, {field: files, "action": "continue"})


def _refused(response, *messages):
    assert response.status_code == 422
    body = response.content.decode()
    for message in messages:
        assert message in body, message
    return body


# --- the photo of the school application (image only, 5MB, 3:4, at least 300x400) ----------


def test_photo_rules(hanako_client, photo_page):
    application_id, url = photo_page
    cases = [
        (
            upload("big.jpg", jpeg() + b"\0" * (6 * MB - len(jpeg())), "image/jpeg"),
            ["ファイルが大きすぎます（6MB）。5MB以下のファイルにしてください。"],
        ),
        (
            upload("letter.jpg", "これは画像ではありません。\n".encode() * 50, "image/jpeg"),
            [
                "このファイルの形式は受け付けられません。画像（JPEG・PNG）のファイルを選んでください。"
            ],
        ),
        (
            upload("document.jpg", pdf(), "image/jpeg"),
            [
                "このファイルの形式は受け付けられません。画像（JPEG・PNG）のファイルを選んでください。"
            ],
        ),
        (
            upload("small.png", png(150, 200), "image/png"),
            ["画像が小さすぎます（150×200画素）。横300×縦400画素以上の画像にしてください。"],
        ),
        (
            upload("square.jpg", jpeg(400, 400), "image/jpeg"),
            [
                "画像の縦横の比率が違います。横:縦 = 3:4 の画像にしてください（この画像は 400×400）。"
            ],
        ),
        (
            upload("landscape.jpg", jpeg(400, 300), "image/jpeg"),
            ["画像が小さすぎます（400×300画素）"],
        ),
        (
            upload("broken.png", png()[:40] + b"\x00" * 200, "image/png"),
            ["画像ファイルが壊れているか、読み取れません。"],
        ),
        (upload("empty.jpg", b"", "image/jpeg"), ["empty.jpg: ファイルが空です。"]),
    ]
    for file, messages in cases:
        response = _post(hanako_client, url, "f-photo", file)
        _refused(response, *messages)
        assert error_summary_links(response) == ["f-photo"]
        assert Application.objects.get(pk=application_id).answers.get("photo") is None
    assert not StoredFile.objects.exists()

    response = _post(hanako_client, url, "f-photo", upload("ok.png", png(330, 440), "image/png"))
    assert response.status_code == 302
    stored = StoredFile.objects.get()
    assert (stored.width, stored.height, stored.content_type) == (330, 440, "image/png")


def test_too_many_pixels_is_refused_without_decoding(hanako_client, photo_page):
    _application_id, url = photo_page
    buffer = io.BytesIO()
    Image.new("1", (6000, 8000)).save(buffer, format="PNG")  # 48 million pixels, small file
    response = _post(hanako_client, url, "f-photo", upload("huge.png", buffer.getvalue()))
    _refused(response, "画像の画素数が大きすぎます。")


def test_a_refused_new_photo_does_not_remove_the_accepted_one(hanako_client, photo_page):
    application_id, url = photo_page
    assert _post(hanako_client, url, "f-photo", upload("first.jpg", jpeg())).status_code == 302
    first = Application.objects.get(pk=application_id).answers["photo"]
    _refused(
        _post(hanako_client, url, "f-photo", upload("small.jpg", jpeg(30, 40))),
        "画像が小さすぎます",
    )
    assert Application.objects.get(pk=application_id).answers["photo"] == first
    page = hanako_client.get(url).content.decode()
    assert "first.jpg" in page
    # An accepted new photo replaces it (one file allowed).
    assert (
        _post(hanako_client, url, "f-photo", upload("second.jpg", jpeg(600, 800))).status_code
        == 302
    )
    (photo,) = Application.objects.get(pk=application_id).answers["photo"]
    assert photo["name"] == "second.jpg"


def test_removing_the_photo(hanako_client, photo_page):
    application_id, url = photo_page
    _post(hanako_client, url, "f-photo", upload("first.jpg", jpeg()))
    (photo,) = Application.objects.get(pk=application_id).answers["photo"]
    response = hanako_client.post(url, {"action": f"remove_file:photo:{photo['id']}"})
    assert response.status_code == 200
    assert Application.objects.get(pk=application_id).answers["photo"] is None
    assert "first.jpg" not in response.content.decode()
    response = hanako_client.post(url, {"action": "continue"})
    _refused(response, "顔写真のファイルを選択してください。")


# --- the evidence of the parking permit (images or PDF, 10MB, up to 3 files) --------------


def test_pdf_with_active_content_is_refused(hanako_client, evidence_page):
    application_id, url = evidence_page
    for name, data in (
        ("script.pdf", pdf_with_javascript()),
        ("escaped.pdf", pdf_with_hex_escaped_javascript()),
        ("compressed.pdf", pdf_with_compressed_javascript()),
    ):
        response = _post(hanako_client, url, "f-evidence_files", upload(name, data))
        _refused(
            response,
            f"{name}: スクリプトや埋め込みファイルを含むPDFは受け付けられません。印刷用に保存し直したPDFを添付してください。",
        )
    truncated = pdf()[:-20]
    _refused(
        _post(hanako_client, url, "f-evidence_files", upload("cut.pdf", truncated)),
        "PDFファイルが壊れているか、途中で切れています。",
    )
    assert Application.objects.get(pk=application_id).answers.get("evidence_files") is None
    assert _post(hanako_client, url, "f-evidence_files", upload("ok.pdf", pdf())).status_code == 302


def test_at_most_three_evidence_files_and_bad_ones_do_not_cost_good_ones(
    hanako_client, evidence_page
):
    application_id, url = evidence_page
    files = [
        upload("1.png", png(100, 100)),
        upload("2.pdf", pdf_with_javascript()),
        upload("3.jpg", jpeg(100, 100)),
    ]
    response = _post(hanako_client, url, "f-evidence_files", files)
    body = _refused(response, "2.pdf: スクリプトや埋め込みファイル")
    assert "1.png" in body and "3.jpg" in body
    kept = Application.objects.get(pk=application_id).answers["evidence_files"]
    assert [f["name"] for f in kept] == ["1.png", "3.jpg"]
    response = _post(
        hanako_client,
        url,
        "f-evidence_files",
        [upload("4.png", png(100, 100)), upload("5.png", png(100, 100))],
    )
    _refused(response, "ファイルは3個までです。")
    kept = Application.objects.get(pk=application_id).answers["evidence_files"]
    assert [f["name"] for f in kept] == ["1.png", "3.jpg", "4.png"]


def test_file_names_are_cleaned(hanako_client, evidence_page):
    application_id, url = evidence_page
    names = [
        "..\\..\\Windows\\System32\\手帳.png",
        "invoice\u202egnp.exe.png",
        "nul\x00byte.png",
        "あ" * 300 + ".png",
    ]
    # Django's test client itself drops a "/" path; backslashes reach the server.
    response = _post(
        hanako_client, url, "f-evidence_files", [upload(name, png(10, 10)) for name in names[:3]]
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hanako_client.post(url, {"action": f"remove_file:evidence_files:{_ids(application_id)[0]}"})
    response = _post(hanako_client, url, "f-evidence_files", upload(names[3], png(10, 10)))
    assert response.status_code == 302
    stored = sorted(StoredFile.objects.values_list("original_name", flat=True), key=len)
    assert stored[:3] == sorted(["手帳.png", "invoicegnp.exe.png", "nulbyte.png"], key=len)
    long_name = stored[3]
    assert len(long_name) <= 100 and long_name.endswith(".png") and long_name.startswith("あああ")
    for name in stored:
        assert not any(ch in name for ch in "/\\\x00\u202e")
    # Stored files are named by id on disk, never by what the uploader chose.
    for stored_file in StoredFile.objects.all():
        assert stored_file.file.name.endswith(stored_file.id.hex)


def _ids(application_id):
    return [f["id"] for f in Application.objects.get(pk=application_id).answers["evidence_files"]]


def test_markup_in_a_file_name_is_shown_as_text(hanako_client, evidence_page):
    _application_id, url = evidence_page
    _post(hanako_client, url, "f-evidence_files", upload("<img src=x onerror=alert(1)>.png", png()))
    body = hanako_client.get(url).content.decode()
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in body


def test_downloads_use_the_detected_type_and_a_sandbox(hanako_client, evidence_page):
    application_id, url = evidence_page
    # Declared as HTML by the browser, but the bytes are a PNG.
    _post(hanako_client, url, "f-evidence_files", upload("photo.png", png(), "text/html"))
    (file_id,) = _ids(application_id)
    response = hanako_client.get(reverse("counter:file", args=[application_id, file_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    assert ApplicationFile.objects.get(stored_file_id=file_id).field_id == "evidence_files"


# --- the service and the name cleaning on their own ----------------------------------------


class _Upload:
    """What store_upload reads of an upload: its name, size and bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.size = len(data)
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\hanako\\写真.jpg", "写真.jpg"),
        ("abc\u202egpj.exe", "abcgpj.exe"),
        ("a\x00b.pdf", "ab.pdf"),
        ("\u200b\u200b", "file"),
        ("...", "file"),
        ("", "file"),
        ("ｶﾞｲﾄﾞ.pdf", "ｶﾞｲﾄﾞ.pdf"),
    ],
)
def test_clean_filename(name, expected):
    assert clean_filename(name) == expected


def test_clean_filename_keeps_the_extension_of_a_long_name():
    cleaned = clean_filename("x" * 300 + ".pdf")
    assert len(cleaned) <= 100 and cleaned.endswith("….pdf")


@pytest.mark.parametrize(
    ("data", "accept", "code"),
    [
        (png(), ["pdf"], "type"),
        (b"plain text, not a document" * 10, ["image", "pdf"], "type"),
        (b"", ["image"], "empty"),
        (pdf_with_javascript(), ["pdf"], "pdf_active_content"),
        (pdf_with_hex_escaped_javascript(), ["pdf"], "pdf_active_content"),
        (pdf_with_compressed_javascript(), ["pdf"], "pdf_active_content"),
        (
            pdf(
                extra_objects=[b"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>"],
                catalog_extra=b"/Names << /EmbeddedFiles << /Names [(a.exe) 5 0 R] >> >> ",
            ),
            ["pdf"],
            "pdf_active_content",
        ),
        (
            pdf(
                extra_objects=[b"<< /S /Launch /F (calc.exe) >>"],
                catalog_extra=b"/OpenAction 5 0 R ",
            ),
            ["pdf"],
            "pdf_active_content",
        ),
    ],
)
def test_store_upload_refuses(hanako, data, accept, code):
    with pytest.raises(UploadRejected) as refused:
        store_upload(_Upload("x", data), owner=hanako, accept=accept)
    assert refused.value.code == code
    assert refused.value.ja  # a Japanese message for the resident
    assert not StoredFile.objects.exists()


def test_store_upload_accepts_and_records_the_content(hanako):
    stored = store_upload(_Upload("..\\a/b\\書類.pdf", pdf()), owner=hanako, accept=["pdf"])
    assert stored.content_type == "application/pdf"
    assert stored.original_name == "書類.pdf"
    assert stored.size == len(pdf())
    with stored.file.open("rb") as handle:
        assert handle.read() == pdf()


def test_the_global_upload_limit_applies_below_a_field_limit(hanako, settings):
    settings.MADOGUCHI_UPLOAD_MAX_BYTES = 2 * MB
    with pytest.raises(UploadRejected) as refused:
        store_upload(
            _Upload("a.pdf", pdf() + b"%" * (3 * MB)),
            owner=hanako,
            accept=["pdf"],
            max_bytes=10 * MB,
        )
    assert "2MB以下" in refused.value.ja
