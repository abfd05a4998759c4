"""Blocks this capability adds to the counter's resident pages (counter.hooks)."""

from __future__ import annotations

from . import selectors


def documents_panel(request, application):
    """The documents issued on the application, on its status page."""
    from madoguchi.counter.hooks import Panel

    documents = list(selectors.documents_of_application(application))
    if not documents:
        return None
    return Panel(
        template="issuance/panels/documents.html",
        context={"documents": documents, "application": application},
    )
