"""Stripe as a payment provider: Checkout Sessions with `capture_method=manual`.

The resident pays on Stripe's hosted page (card, or the QR wallets the account enables in
STRIPE_PAYMENT_METHOD_TYPES). The payment is only authorised there; it is captured once
the application it pays for is submitted, so that a refused submission costs nothing
(the authorisation is cancelled instead). Objects are looked up again at Stripe before
any change: a notification says *that* something happened, the API says *what*.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from django.conf import settings

from madoguchi.payments.registry import (
    Provider,
    ProviderError,
    ProviderState,
    RefundState,
    WebhookMessage,
    WebhookRejected,
    register,
)

from . import signature
from .client import StripeClient

# PaymentIntent status → ours (https://docs.stripe.com/payments/paymentintents/lifecycle).
INTENT_STATUS = {
    "requires_payment_method": "pending",
    "requires_confirmation": "pending",
    "requires_action": "pending",
    "processing": "pending",
    "requires_capture": "authorised",
    "succeeded": "paid",
    "canceled": "cancelled",
}
REFUND_STATUS = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
}
# Stripe accepts 30 minutes to 24 hours; a retry within half an hour stays valid.
SESSION_SECONDS = 60 * 60


@register
class StripeProvider(Provider):
    identifier = "stripe"
    method = "card"
    label = "クレジットカード・QRコード決済"
    online = True

    @property
    def config(self) -> Mapping[str, object]:
        return settings.MADOGUCHI_STRIPE

    def is_configured(self) -> bool:
        return bool(self.config.get("secret_key") and self.config.get("webhook_secret"))

    def client(self) -> StripeClient:
        return StripeClient(
            api_base=str(self.config["api_base"]),
            secret_key=str(self.config["secret_key"]),
            timeout=float(self.config["timeout"]),
        )

    # --- payments -------------------------------------------------------------------

    def start(self, payment, *, return_url: str, cancel_url: str) -> str:
        fee = payment.fee
        session = self.client().request(
            "POST",
            "/v1/checkout/sessions",
            idempotency_key=f"madoguchi-start-{payment.id}",
            params={
                "mode": "payment",
                "locale": "ja",
                "client_reference_id": str(payment.id),
                "success_url": return_url + "?session_id={CHECKOUT_SESSION_ID}",
                "cancel_url": cancel_url,
                # From the payment's creation, so that a retry sends the same parameters.
                "expires_at": int(payment.created_at.timestamp()) + SESSION_SECONDS,
                "payment_method_types": list(self.config["payment_method_types"]),
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "jpy",
                            "unit_amount": payment.amount,
                            "product_data": {"name": f"手数料 {fee.procedure.identifier}"},
                        },
                    }
                ],
                "metadata": {"payment_id": str(payment.id)},
                "payment_intent_data": {
                    "capture_method": "manual",
                    "metadata": {"payment_id": str(payment.id)},
                },
            },
        )
        if session.get("metadata", {}).get("payment_id") != str(payment.id):
            raise ProviderError("the session is not ours", transient=False, code="foreign")
        payment.provider_reference = session["id"]
        payment.redirect_url = session.get("url") or ""
        return payment.redirect_url

    def fetch(self, payment) -> ProviderState:
        if not payment.provider_reference:
            return ProviderState(status="pending", detail="not started at the provider")
        session = self.client().request(
            "GET",
            f"/v1/checkout/sessions/{payment.provider_reference}",
            params={"expand": ["payment_intent"]},
        )
        return self._session_state(payment, session)

    def _session_state(self, payment, session: Mapping) -> ProviderState:
        metadata = session.get("metadata") or {}
        if metadata.get("payment_id") != str(payment.id):
            raise ProviderError("the session is not ours", transient=False, code="foreign")
        intent = session.get("payment_intent")
        if isinstance(intent, Mapping):
            return self._intent_state(intent)
        if session.get("status") == "expired":
            return ProviderState(status="failed", detail="expired")
        return ProviderState(
            status="pending",
            amount=session.get("amount_total"),
            currency=str(session.get("currency") or "").upper(),
        )

    @staticmethod
    def _intent_state(intent: Mapping) -> ProviderState:
        status = INTENT_STATUS.get(str(intent.get("status")), "pending")
        amount = intent.get("amount")
        if status == "paid" and intent.get("amount_received") is not None:
            amount = intent["amount_received"]
        return ProviderState(
            status=status,
            amount=amount,
            currency=str(intent.get("currency") or "").upper(),
            payment_id=str(intent.get("id") or ""),
        )

    def capture(self, payment) -> ProviderState:
        try:
            intent = self.client().request(
                "POST",
                f"/v1/payment_intents/{payment.provider_payment_id}/capture",
                idempotency_key=f"madoguchi-capture-{payment.id}",
            )
        except ProviderError as exc:
            if exc.code != "payment_intent_unexpected_state":
                raise
            # Already captured (or cancelled) by an earlier request: the truth is at Stripe.
            return self.fetch(payment)
        return self._intent_state(intent)

    def cancel(self, payment) -> ProviderState:
        if payment.provider_payment_id:
            try:
                intent = self.client().request(
                    "POST",
                    f"/v1/payment_intents/{payment.provider_payment_id}/cancel",
                    idempotency_key=f"madoguchi-cancel-{payment.id}",
                )
                return self._intent_state(intent)
            except ProviderError as exc:
                if exc.transient:
                    raise
                return self.fetch(payment)
        if payment.provider_reference:
            try:
                self.client().request(
                    "POST",
                    f"/v1/checkout/sessions/{payment.provider_reference}/expire",
                    idempotency_key=f"madoguchi-expire-{payment.id}",
                )
            except ProviderError as exc:
                if exc.transient:
                    raise
            # Expired, or completed meanwhile: either way the session now says which.
            state = self.fetch(payment)
            return ProviderState(status="cancelled") if state.status == "failed" else state
        return ProviderState(status="cancelled")

    def refund(self, payment, refund) -> RefundState:
        result = self.client().request(
            "POST",
            "/v1/refunds",
            idempotency_key=f"madoguchi-refund-{refund.id}",
            params={
                "payment_intent": payment.provider_payment_id,
                "amount": refund.amount,
                "reason": "requested_by_customer",
                "metadata": {"refund_id": str(refund.id), "payment_id": str(payment.id)},
            },
        )
        return RefundState(
            status=REFUND_STATUS.get(str(result.get("status")), "pending"),
            reference=str(result["id"]),
            amount=result.get("amount"),
        )

    def fetch_refund(self, refund) -> RefundState:
        result = self.client().request("GET", f"/v1/refunds/{refund.provider_reference}")
        return RefundState(
            status=REFUND_STATUS.get(str(result.get("status")), "pending"),
            reference=str(result["id"]),
            amount=result.get("amount"),
        )

    # --- notifications --------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookMessage:
        signature.verify(
            body,
            headers.get("Stripe-Signature"),
            str(self.config["webhook_secret"]),
            tolerance=int(self.config["webhook_tolerance"]),
            now=time.time(),
        )
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("not JSON") from None
        if not isinstance(event, dict) or event.get("object") != "event" or "id" not in event:
            raise WebhookRejected("not an event")
        obj = (event.get("data") or {}).get("object") or {}
        metadata = obj.get("metadata") or {}
        return WebhookMessage(
            event_id=str(event["id"]),
            event_type=str(event.get("type", "")),
            payment_reference=str(
                metadata.get("payment_id") or obj.get("client_reference_id") or ""
            ),
            refund_reference=str(metadata.get("refund_id") or ""),
            objects=obj,
        )
