"""The Digital Agency's design tokens: vendored, linked from every page before the site's
own CSS, and the only source of the design values the site's CSS uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

STATIC = Path(__file__).parents[2] / "src/madoguchi/core/static"
TOKENS = STATIC / "vendor/digital-go-jp-design-tokens/tokens.css"
SITE = STATIC / "madoguchi/css/site.css"
DEFINED = re.compile(r"(--[A-Za-z0-9-]+)\s*:")
USED = re.compile(r"var\((--[A-Za-z0-9-]+)")


def test_the_vendored_tokens_are_the_package_with_its_licence_and_version():
    assert "@digital-go-jp/design-tokens" in (TOKENS.parent / "VENDORED.md").read_text()
    assert "MIT" in (TOKENS.parent / "LICENSE").read_text()
    assert len(set(DEFINED.findall(TOKENS.read_text()))) > 100


def test_every_custom_property_the_site_uses_comes_from_the_tokens_or_the_site():
    tokens = set(DEFINED.findall(TOKENS.read_text()))
    site_text = SITE.read_text()
    site_defined = set(DEFINED.findall(site_text))
    missing = set(USED.findall(site_text)) - tokens - site_defined
    assert missing == set()
    # The site's own names (--c-…) refer to tokens or to each other.
    for name in site_defined:
        value = re.search(re.escape(name) + r"\s*:\s*([^;]+);", site_text).group(1)
        assert set(USED.findall(value)) <= tokens | site_defined, (name, value)
    assert any(USED.findall(v) for v in re.findall(r"--c-[a-z-]+\s*:\s*([^;]+);", site_text))


@pytest.mark.django_db
def test_pages_link_the_tokens_before_the_site_css():
    page = Client().get("/procedures/").content.decode()
    tokens = page.index("vendor/digital-go-jp-design-tokens/tokens")
    site = page.index("madoguchi/css/site")
    assert tokens < site
