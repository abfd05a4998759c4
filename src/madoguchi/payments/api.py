"""JSON API of fees: what an application owes and how it is being paid; starting a payment."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Header, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from madoguchi.core.api_auth import API_AUTH
from madoguchi.counter import selectors as counter_selectors

from . import services
from .models import Payment

router = Router(tags=["payments"])


class PaymentOut(Schema):
    id: uuid.UUID
    method: str
    status: str
    amount: int
    refunded_amount: int
    reference_number: str | None
    paid_on: dt.date | None
    redirect_url: str


class FeeOut(Schema):
    amount: int
    state: str
    timing: str
    due_date: dt.date | None
    breakdown: dict
    methods: list[str]
    payments: list[PaymentOut]


class PaymentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    method: str


def _application(request: HttpRequest, application_id: uuid.UUID):
    application = counter_selectors.application_for_resident(request.user, application_id)
    if application is None or application.applicant_id != request.user.pk:
        raise HttpError(404, "No such application / 申請が見つかりません")
    return application


def _payment(payment: Payment) -> dict:
    return {
        "id": payment.pk,
        "method": payment.method,
        "status": payment.status,
        "amount": payment.amount,
        "refunded_amount": payment.refunded_amount,
        "reference_number": payment.reference_number,
        "paid_on": payment.paid_on,
        "redirect_url": payment.redirect_url if payment.status == "pending" else "",
    }


@router.get(
    "/applications/{application_id}/fee",
    response=FeeOut,
    auth=API_AUTH,
    summary="The fee of one of my applications and its payments",
)
def fee(request: HttpRequest, application_id: uuid.UUID):
    application = _application(request, application_id)
    record = services.ensure_fee(application=application)
    if record is None:
        raise HttpError(404, "This procedure has no fee / この手続に手数料はありません")
    return {
        "amount": record.amount,
        "state": record.state,
        "timing": record.timing,
        "due_date": record.due_date,
        "breakdown": record.breakdown,
        "methods": [method for method, _provider in services.available_methods(application)],
        "payments": [_payment(p) for p in record.payments.order_by("-created_at")],
    }


@router.post(
    "/applications/{application_id}/payments",
    response={200: PaymentOut, 201: PaymentOut},
    auth=API_AUTH,
    summary="Start paying the fee (bank_transfer, counter, or card: redirect_url)",
    description="The same Idempotency-Key again returns the payment it started.",
)
def start(
    request: HttpRequest,
    application_id: uuid.UUID,
    payload: PaymentIn,
    idempotency_key: uuid.UUID = Header(..., alias="Idempotency-Key"),
):
    application = _application(request, application_id)
    existed = Payment.objects.filter(idempotency_key=idempotency_key).exists()
    payment = services.start_payment(
        application=application,
        actor=request.user,
        method=payload.method[:40],
        idempotency_key=idempotency_key,
        identity_level=getattr(request, "api_identity_level", None),
    )
    if payment.status == "pending":
        base = settings.MADOGUCHI_BASE_URL.rstrip("/")
        services.open_at_provider(
            payment=payment,
            return_url=base + reverse("payments:returned", args=[payment.pk]),
            cancel_url=base + reverse("payments:abandoned", args=[payment.pk]),
        )
        payment.refresh_from_db()
    return Status(200 if existed else 201, _payment(payment))
