"""Japanese search over the catalogue.

Text is folded (NFKC, katakana to hiragana, lower case) and each definition also keeps
its reading in hiragana from SudachiPy, so that 「じゅうみんひょう」 finds 住民票 and
「住民票 写し」 or 「住民票の写し」 find 住民票の写し等の交付請求. The index lives in the
database rows, so every web process answers the same.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from .japanese import to_search_kana

_CONTENT_POS = {
    "名詞",
    "動詞",
    "形容詞",
    "形状詞",
    "副詞",
    "接頭辞",
    "接尾辞",
    "代名詞",
    "連体詞",
    "記号",
}
_SKIP_POS = {"助詞", "助動詞", "補助記号", "空白"}


@lru_cache(maxsize=1)
def _dictionary():
    from sudachipy import Dictionary

    return Dictionary(dict="core")


_local = threading.local()


def _tokenizer():
    # A Sudachi tokenizer must not be shared between threads; the dictionary can be.
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        from sudachipy import SplitMode

        tokenizer = _local.tokenizer = _dictionary().tokenizer(mode=SplitMode.C)
    return tokenizer


@dataclass(frozen=True)
class Token:
    surface: str
    reading: str


def tokens(text: str) -> list[Token]:
    result = []
    for chunk in re.split(r"[\s\u3000、。,.・/／]+", text):
        if not chunk:
            continue
        for morpheme in _tokenizer().tokenize(chunk):
            pos = morpheme.part_of_speech()[0]
            if pos in _SKIP_POS:
                continue
            surface = to_search_kana(morpheme.surface())
            reading = to_search_kana(morpheme.reading_form())
            if surface:
                result.append(Token(surface, reading))
    return result


def reading_of(text: str) -> str:
    """The hiragana reading of a text (punctuation dropped)."""
    parts = []
    for chunk in re.split(r"\s+", text):
        if chunk:
            for morpheme in _tokenizer().tokenize(chunk):
                if morpheme.part_of_speech()[0] in ("補助記号", "空白"):
                    continue
                parts.append(to_search_kana(morpheme.reading_form()))
    return "".join(parts)


def index_texts(*texts: str) -> tuple[str, str]:
    """(folded text, reading) to store with a procedure version."""
    joined = " ".join(t for t in texts if t)
    return to_search_kana(joined), " ".join(reading_of(t) for t in texts if t)


@dataclass
class Match:
    score: float


def score(
    query_tokens: list[Token], *, name: str, name_kana: str, text: str, reading: str
) -> float:
    """0 when some token is absent; otherwise higher for matches in the name."""
    if not query_tokens:
        return 0.0
    folded_name = to_search_kana(name)
    total = 0.0
    for token in query_tokens:
        if token.surface in folded_name:
            total += 3
        elif token.surface in name_kana or (token.reading and token.reading in name_kana):
            total += 2.5
        elif token.surface in text:
            total += 1
        elif len(token.reading) >= 2 and token.reading in reading:
            total += 0.8
        else:
            return 0.0
    return total
