"""Card and QR payments with Stripe (https://docs.stripe.com/api): Checkout Sessions with
manual capture, signed webhooks, idempotent requests and refunds."""

from .provider import StripeProvider  # noqa: F401 - registers itself
