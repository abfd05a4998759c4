"""{% ledger_entries "application" application.pk %}: where a subject's events are in the
ledger, with a link to each entry's inclusion proof, for any page that shows a record to
its owner (the resident's application, an issued document)."""

from __future__ import annotations

from django import template

from madoguchi.ledger.selectors import subject_entries

register = template.Library()


@register.inclusion_tag("ledger/_subject_entries.html")
def ledger_entries(subject_type: str, subject_id, event_type: str = "") -> dict:
    return subject_entries(subject_type=subject_type, subject_id=subject_id, event_type=event_type)
