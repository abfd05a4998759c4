"""Variants of an issued PDF for the verification tests, made with real tools."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer


def tampered(data: bytes) -> bytes:
    """One byte changed inside a stream of the signed revision (the length stays)."""
    position = data.index(b"stream\n", 200) + len(b"stream\n") + 10
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def resaved_incrementally(data: bytes) -> bytes:
    """What a viewer's "save" does: an incremental update after the signature."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def rewritten(data: bytes) -> bytes:
    """What "save as" of another program does: the whole file written anew."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    writer = copy_into_new_writer(reader)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def pdfsig(data: bytes, ca_pem: Path) -> str:
    """poppler's pdfsig with the given CA imported into a fresh NSS database."""
    with tempfile.TemporaryDirectory() as directory:
        nss = Path(directory) / "nss"
        nss.mkdir()
        subprocess.run(
            ["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "certutil",
                "-A",
                "-d",
                f"sql:{nss}",
                "-n",
                "madoguchi-demo",
                "-t",
                "CT,C,C",
                "-i",
                str(ca_pem),
            ],
            check=True,
            capture_output=True,
        )
        path = Path(directory) / "document.pdf"
        path.write_bytes(data)
        result = subprocess.run(
            ["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True
        )
        return result.stdout + result.stderr
