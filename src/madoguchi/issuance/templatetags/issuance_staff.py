"""`{% staff_issuance application as data %}`: the applicant's signature and the issued
documents of an application, for the staff application page (which checks access)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def staff_issuance(application) -> dict:
    from madoguchi.esign.selectors import signature_summary

    from .. import selectors

    return {
        "signature": signature_summary(application),
        "documents": list(selectors.documents_of_application(application)),
    }
