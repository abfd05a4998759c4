"""`{% counter_panels "check" application as panels %}`: the panels registered in
counter.hooks for one of the resident's pages."""

from __future__ import annotations

from django import template

from madoguchi.counter import hooks

register = template.Library()


class PanelList(list):
    @property
    def replaces_submit(self) -> bool:
        return any(panel.replaces_submit for panel in self)


@register.simple_tag(takes_context=True)
def counter_panels(context, page: str, application) -> PanelList:
    request = context.get("request")
    if request is None or application is None:
        return PanelList()
    return PanelList(hooks.panels(page, request, application))
