"""The site's languages, for e-mails and files no request decides the language of."""

from __future__ import annotations

import pytest

from madoguchi.core.languages import is_site_language, name_in, site_language


@pytest.mark.parametrize("code", ["ja", "en"])
def test_the_sites_languages(code):
    assert is_site_language(code) and site_language(code) == code


@pytest.mark.parametrize("code", ["fr", "", None, "EN", "en-us", "ja\n"])
def test_anything_else_is_japanese(code):
    assert not is_site_language(code) and site_language(code) == "ja"


def test_names_in_a_language():
    assert name_in("en", "あおば市", "Aoba City") == "Aoba City"
    assert name_in("ja", "あおば市", "Aoba City") == "あおば市"
    assert name_in("en", "あおば市", "") == "あおば市"
