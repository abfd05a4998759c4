from __future__ import annotations

from django import template

from madoguchi.identity import oidc

register = template.Library()


@register.simple_tag
def resident_providers() -> list:
    return oidc.providers("residents")


@register.simple_tag
def staff_providers() -> list:
    return oidc.providers("staff")
