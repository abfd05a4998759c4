"""Real files for upload tests: images made with Pillow and PDFs written by hand."""

from __future__ import annotations

import io
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(width: int, height: int, fmt: str = "PNG", colour=(180, 200, 220)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format=fmt)
    return buffer.getvalue()


def png(width: int = 300, height: int = 400) -> bytes:
    return image_bytes(width, height, "PNG")


def jpeg(width: int = 300, height: int = 400) -> bytes:
    return image_bytes(width, height, "JPEG")


def pdf(*, extra_objects: list[bytes] | None = None, catalog_extra: bytes = b"") -> bytes:
    """A small valid one-page PDF with a correct cross-reference table.

    `extra_objects` are appended as objects 5, 6, ...; `catalog_extra` goes into the
    document catalogue (e.g. b"/OpenAction 5 0 R").
    """
    content = b"BT /F1 12 Tf 72 720 Td (madoguchi test) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        *(extra_objects or []),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def pdf_with_javascript() -> bytes:
    return pdf(
        extra_objects=[b"<< /Type /Action /S /JavaScript /JS (app.alert('x');) >>"],
        catalog_extra=b"/OpenAction 5 0 R ",
    )


def pdf_with_hex_escaped_javascript() -> bytes:
    """/J#61vaScript is the same PDF name as /JavaScript (ISO 32000-1, 7.3.5)."""
    return pdf(
        extra_objects=[b"<< /Type /Action /S /J#61vaScript /J#53 (app.alert('x');) >>"],
        catalog_extra=b"/OpenAction 5 0 R ",
    )


def pdf_with_compressed_javascript() -> bytes:
    """The action hidden in a compressed object stream, as PDF 1.5+ writers do."""
    inner = b"6 0 << /Type /Action /S /JavaScript /JS (app.alert('x');) >>"
    packed = zlib.compress(inner)
    return pdf(
        extra_objects=[
            b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(packed)
            + packed
            + b"\nendstream"
        ],
        catalog_extra=b"/OpenAction 6 0 R ",
    )


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)
