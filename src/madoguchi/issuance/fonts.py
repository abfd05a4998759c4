"""The fonts embedded in issued documents, referenced by file path.

A document must look the same on every node and in ten years: it never takes a font from
the host's fontconfig. BIZ UDゴシック (TrueType, the universal-design face) sets the text;
IPAmj明朝 (the 文字情報基盤 MJ glyphs made for names in administrative records) follows it
in every font-family, so that 𠮷, 髙 and 﨑 are drawn rather than left as empty boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

GOTHIC = "madoguchi-gothic"
MINCHO = "madoguchi-mincho"


class FontsMissing(Exception):
    """A font file the documents need is not installed."""


@dataclass(frozen=True)
class FontFile:
    family: str
    weight: str
    path: Path
    setting: str


def font_files() -> list[FontFile]:
    return [
        FontFile(GOTHIC, "normal", Path(settings.MADOGUCHI_FONT_GOTHIC), "MADOGUCHI_FONT_GOTHIC"),
        FontFile(
            GOTHIC, "bold", Path(settings.MADOGUCHI_FONT_GOTHIC_BOLD), "MADOGUCHI_FONT_GOTHIC_BOLD"
        ),
        FontFile(MINCHO, "normal", Path(settings.MADOGUCHI_FONT_MINCHO), "MADOGUCHI_FONT_MINCHO"),
    ]


def missing_fonts() -> list[FontFile]:
    return [font for font in font_files() if not font.path.is_file()]


def check_fonts() -> None:
    missing = missing_fonts()
    if missing:
        names = ", ".join(f"{font.path} ({font.setting})" for font in missing)
        raise FontsMissing(
            f"Fonts for issued documents are missing: {names}. Install Debian's "
            "fonts-morisawa-bizud-gothic and fonts-ipamj-mincho (make system-deps) or set "
            "the variables to TrueType files."
        )


def font_face_css() -> str:
    """@font-face rules for every font, by absolute file URL."""
    rules = []
    for font in font_files():
        rules.append(
            f"@font-face {{ font-family: {font.family}; font-weight: {font.weight}; "
            f"src: url({font.path.resolve().as_uri()}); }}"
        )
    # The mincho face has no bold: a bold 外字 is drawn from the regular glyphs.
    mincho = Path(settings.MADOGUCHI_FONT_MINCHO).resolve().as_uri()
    rules.append(f"@font-face {{ font-family: {MINCHO}; font-weight: bold; src: url({mincho}); }}")
    return "\n".join(rules)


@lru_cache(maxsize=8)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or {})


def uncovered_characters(text: str) -> list[str]:
    """Characters of `text` that none of the document fonts can draw."""
    fonts = [str(font.path) for font in font_files() if font.path.is_file()]
    covered = [_cmap(path) for path in fonts]
    result = []
    for char in dict.fromkeys(text):
        if char.isspace() or ord(char) < 0x20:
            continue
        if not any(ord(char) in cmap for cmap in covered):
            result.append(char)
    return result
