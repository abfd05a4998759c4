"""The site's languages (settings.LANGUAGES), for what no request decides: the language of
an e-mail, of a guest's booking, of a file downloaded later."""

from __future__ import annotations

from django.conf import settings


def is_site_language(code: str | None) -> bool:
    return code in {language for language, _name in settings.LANGUAGES}


def site_language(code: str | None) -> str:
    """`code` when the site offers it, else Japanese."""
    return code if code is not None and is_site_language(code) else "ja"


def name_in(language: str, name: str, name_en: str) -> str:
    """A name in `language`: the English one in English when there is one."""
    return name_en if name_en and language.startswith("en") else name
