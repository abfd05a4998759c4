"""領収書 as PDF, rendered with the issuance capability's document renderer (WeasyPrint,
the configured TrueType fonts by file path, characters no font has shown as 〓)."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation

from madoguchi.catalogue.japanese import format_wareki

from .models import Method, Receipt


def receipt_context(receipt: Receipt) -> dict:
    from madoguchi.issuance.rendering import visible_text

    payment = receipt.payment
    fee = payment.fee
    application = fee.application
    breakdown = payment.breakdown or fee.breakdown
    payer = application.applicant.display_name or application.applicant.email
    return {
        "receipt": receipt,
        "number": receipt.number,
        "issued_on": format_wareki(timezone.localdate(receipt.issued_at)),
        "paid_on": format_wareki(payment.paid_on) if payment.paid_on else "",
        "payer": visible_text(payer),
        "amount": payment.amount,
        "refunded": payment.refunded_amount,
        "procedure": visible_text(application.procedure_version.name),
        "receipt_number": application.receipt_number or "",
        "reference_number": payment.reference_number or "",
        "method": str(Method(payment.method).label),
        "lines": breakdown.get("lines", []),
        "reduction": breakdown.get("reduction"),
        "legal_basis": breakdown.get("legal_basis", ""),
        "issuer": visible_text(receipt.issuer),
        "body": fee.body,
    }


def render_pdf(receipt: Receipt) -> bytes:
    from madoguchi.issuance.rendering import html_to_pdf

    with translation.override("ja"):
        html = render_to_string("payments/receipt.html", receipt_context(receipt))
    return html_to_pdf(html)


def pdf_response(receipt: Receipt) -> HttpResponse:
    response = HttpResponse(render_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{receipt.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
