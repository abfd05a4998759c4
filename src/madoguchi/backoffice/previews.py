"""Pages of PDF attachments as images, so that staff read them inline on the application's
page with no plug-in and under the site's CSP (poppler's pdftoppm, a Debian package)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from django.core.cache import cache

MAX_PAGES = 10
_TIMEOUT = 20


def _tool(name: str) -> str | None:
    return shutil.which(name)


def _local_copy(stored, directory: str) -> Path:
    path = Path(directory) / "input.pdf"
    from madoguchi.files.services import open_stored

    with open_stored(stored) as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path


def page_count(stored) -> int:
    """Pages of the PDF (0 when it cannot be read or poppler is missing)."""
    key = f"pdf-pages:{stored.sha256}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    tool = _tool("pdfinfo")
    if tool is None:
        return 0
    with tempfile.TemporaryDirectory(prefix="madoguchi-pdf-") as directory:
        path = _local_copy(stored, directory)
        try:
            result = subprocess.run(  # noqa: S603 - fixed tool, our own temporary file  # nosec B603
                [tool, str(path)], capture_output=True, text=True, timeout=_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return 0
    pages = 0
    for line in result.stdout.splitlines():
        if line.startswith("Pages:"):
            text = line.split(":", 1)[1].strip()
            pages = int(text) if text.isdigit() else 0
    cache.set(key, pages, 3600)
    return pages


def page_numbers(stored) -> list[int]:
    if stored.content_type != "application/pdf":
        return []
    return list(range(1, min(page_count(stored), MAX_PAGES) + 1))


def page_png(stored, page: int) -> bytes | None:
    """One page rendered at 100 dpi, or None (no such page, poppler missing)."""
    if page < 1 or page > min(page_count(stored), MAX_PAGES):
        return None
    tool = _tool("pdftoppm")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory(prefix="madoguchi-pdf-") as directory:
        path = _local_copy(stored, directory)
        target = Path(directory) / "page"
        try:
            subprocess.run(  # noqa: S603 - fixed tool, our own temporary files  # nosec B603
                [
                    tool,
                    "-png",
                    "-r",
                    "100",
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-singlefile",
                    str(path),
                    str(target),
                ],
                capture_output=True,
                timeout=_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None
        image = target.with_suffix(".png")
        return image.read_bytes() if image.exists() else None
