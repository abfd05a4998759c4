"""Stripe's webhook signatures (https://docs.stripe.com/webhooks#verify-manually).

`Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…]` where each v1 is
HMAC-SHA256(endpoint secret, "<t>.<raw body>"). A signature older than the tolerance is
refused, so that a captured notification cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from madoguchi.payments.registry import WebhookRejected

DEFAULT_TOLERANCE = 300


def compute(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def header_for(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute(payload, secret, timestamp)}"


def verify(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Returns the signature's timestamp; raises WebhookRejected otherwise."""
    if not header:
        raise WebhookRejected("no Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("malformed Stripe-Signature header")
    expected = compute(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookRejected("signature does not match")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise WebhookRejected("signature timestamp outside the tolerance")
    return timestamp
