"""Hostile uploads, one case each: refused with a Japanese message naming the problem, or
stored under a name of the platform's own, never outside the storage root."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.files.services import UploadRejected, store_upload

from ..counter.uploads import pdf, pdf_with_javascript, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(email="uploader@example.jp", password="x")


def _store(owner, data: bytes, name: str, accept=("pdf", "image"), **options):
    return store_upload(SimpleUploadedFile(name, data), owner=owner, accept=list(accept), **options)


def _refused(owner, data: bytes, name: str, code: str, **options) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        _store(owner, data, name, **options)
    assert caught.value.code == code, caught.value.code
    assert caught.value.ja and caught.value.ja.endswith("。"), caught.value.ja
    return caught.value


def _png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims huge dimensions (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def test_an_oversized_file_is_refused(owner):
    error = _refused(owner, pdf() + b"%" * 2048, "big.pdf", "too_large", max_bytes=1024)
    assert "大きすぎます" in error.ja


def test_an_image_with_huge_dimensions_is_refused(owner):
    error = _refused(owner, _png_claiming(100_000, 100_000), "bomb.png", "image_pixels")
    assert "画素数" in error.ja


def test_a_zip_bomb_is_not_accepted_at_all(owner):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\x00" * 10_000_000)
    # Under any name: the content decides, and no upload field accepts archives.
    for name in ("bomb.zip", "bomb.pdf", "bomb.png"):
        error = _refused(owner, buffer.getvalue(), name, "type")
        assert "形式は受け付けられません" in error.ja


@pytest.mark.parametrize(
    "data, name",
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "invoice.pdf"),  # a Windows executable
        (b"<html><script>alert(1)</script></html>", "photo.png"),
        (b"#!/bin/sh\nrm -rf /\n", "scan.pdf"),
    ],
)
def test_content_that_does_not_match_its_extension_is_refused(owner, data, name):
    _refused(owner, data, name, "type")


def test_an_image_named_pdf_is_stored_as_the_image_it_is(owner):
    stored = _store(owner, png(), "scan.pdf")
    assert stored.content_type == "image/png"


@pytest.mark.parametrize(
    "data",
    [
        pdf_with_javascript(),
        pdf(extra_objects=[b"<< /S /JavaScript /JS (app.alert(1)) >>"]),
        pdf(
            catalog_extra=b"/Names << /EmbeddedFiles << /Names [(x.exe) 5 0 R] >> >> ",
            extra_objects=[b"<< /Type /Filespec /F (x.exe) /EF << /F 6 0 R >> >>"],
        ),
        pdf(extra_objects=[b"<< /Type /EmbeddedFile /Length 1 >>\nstream\nx\nendstream"]),
        pdf(extra_objects=[b"<< /S /Launch /F (cmd.exe) >>"]),
    ],
)
def test_pdfs_with_javascript_or_embedded_files_are_refused(owner, data):
    with pytest.raises(UploadRejected) as caught:
        _store(owner, data, "form.pdf")
    assert caught.value.ja.endswith("。")


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd.pdf",
        "..\\..\\windows\\system32\\evil.pdf",
        "/absolute/path.pdf",
        "nul\x00byte.pdf",
        "invoice\u202efdp.exe",
        "あ" * 300 + ".pdf",
        "...",
        "\u200b\u200e.pdf",
    ],
)
def test_hostile_names_are_neutralised_and_nothing_leaves_the_storage_root(owner, name):
    stored = _store(owner, pdf(), name)
    shown = stored.original_name
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown
    assert "\u202e" not in shown and "\u200b" not in shown and "\u200e" not in shown
    assert ".." not in shown and 0 < len(shown) <= 100
    # The stored path is the platform's own (the file's id), never from the user's name.
    root = Path(settings.MEDIA_ROOT).resolve()
    path = Path(stored.file.path).resolve()
    assert path.is_relative_to(root), path
    assert name.split("/")[-1][:20] not in stored.file.name
    assert stored.file.name.startswith("uploads/")
    assert path.read_bytes() == pdf()


def test_a_long_name_keeps_its_extension(owner):
    stored = _store(owner, pdf(), "申請書" * 100 + ".pdf")
    assert stored.original_name.endswith(".pdf") and len(stored.original_name) <= 100
