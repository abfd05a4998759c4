"""Fees, payment providers and appointments (docs/payments.md, docs/appointments.md)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .core import DEBUG
from .env import env_int, env_list, env_str

# Which providers residents may use, in order of preference per method. "counter" and
# "bank_transfer" are the embedded default; "stripe" is offered once its keys are set.
MADOGUCHI_PAYMENT_PROVIDERS = env_list(
    "MADOGUCHI_PAYMENT_PROVIDERS", ["counter", "bank_transfer", "stripe"]
)

MADOGUCHI_STRIPE = {
    "secret_key": env_str("STRIPE_SECRET_KEY", ""),
    "webhook_secret": env_str("STRIPE_WEBHOOK_SECRET", ""),
    # Only ever changed to reach a test double of Stripe's API.
    "api_base": env_str("STRIPE_API_BASE", "https://api.stripe.com"),
    "timeout": env_int("STRIPE_TIMEOUT_SECONDS", 10),
    "webhook_tolerance": env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300),
    # card; QR wallets where the account has them enabled (e.g. paypay)
    "payment_method_types": env_list("STRIPE_PAYMENT_METHOD_TYPES", ["card"]),
}
if MADOGUCHI_STRIPE["secret_key"] and not MADOGUCHI_STRIPE["webhook_secret"] and not DEBUG:
    raise ImproperlyConfigured(
        "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: without it no payment "
        "notification can be verified; see docs/payments.md."
    )

# Reconciliation: a payment at the provider with no news for this long is looked up.
MADOGUCHI_PAYMENT_STALE_MINUTES = env_int("MADOGUCHI_PAYMENT_STALE_MINUTES", 10)

# Appointments: reminders for tomorrow's bookings go out from this hour (JST) on.
MADOGUCHI_APPOINTMENT_REMINDER_HOUR = env_int("MADOGUCHI_APPOINTMENT_REMINDER_HOUR", 9)
