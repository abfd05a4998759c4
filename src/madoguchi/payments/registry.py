"""Payment providers behind one interface: a registry of plugins.

Each provider lives in `payments/contrib/<name>/` and registers itself; adding one touches
that folder only (Open Forms' pattern). The services speak to providers only through
`Provider`; what a provider reports is normalised into `ProviderState`.

Two kinds:
- manual providers (`counter`, `bank_transfer`): the money reaches the body outside the
  platform and staff record it; nothing to call.
- online providers (`stripe`): the resident is sent to the provider's payment page and the
  provider tells us the outcome (the return page, signed webhooks, and polling by
  `madoguchi payments reconcile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class ProviderError(Exception):
    """A provider call did not succeed. `transient`: try again later with the same
    idempotency key (a timeout, a 5xx); otherwise the provider refused the request."""

    def __init__(self, message: str, *, transient: bool, code: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code


class WebhookRejected(Exception):
    """Not a genuine, fresh notification of the provider (bad or missing signature, too
    old, not JSON)."""


@dataclass(frozen=True)
class ProviderState:
    """What the provider says about a payment, in our words."""

    status: str  # pending, authorised, paid, failed, cancelled
    amount: int | None = None
    currency: str = ""
    payment_id: str = ""
    detail: str = ""


@dataclass(frozen=True)
class RefundState:
    status: str  # pending, succeeded, failed
    reference: str = ""
    amount: int | None = None


@dataclass(frozen=True)
class WebhookMessage:
    event_id: str
    event_type: str
    payment_reference: str = ""  # our payment id, as the provider echoes it back
    refund_reference: str = ""
    objects: Mapping = field(default_factory=dict)


class Provider:
    identifier: str = ""
    method: str = ""
    label: str = ""
    online: bool = False

    def is_configured(self) -> bool:
        return True

    def start(self, payment, *, return_url: str, cancel_url: str) -> str:
        """Creates the payment at the provider; returns the URL to send the resident to
        (empty for manual providers). Called again with the same payment after a
        timeout: must not create a second charge."""
        return ""

    def fetch(self, payment) -> ProviderState:
        raise NotImplementedError

    def capture(self, payment) -> ProviderState:
        raise NotImplementedError

    def cancel(self, payment) -> ProviderState:
        return ProviderState(status="cancelled")

    def refund(self, payment, refund) -> RefundState:
        """Manual providers: the money goes back outside the platform (財務 pays it)."""
        return RefundState(status="pending")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookMessage:
        raise WebhookRejected("this provider sends no notifications")


_providers: dict[str, Provider] = {}


def register(provider_class: type[Provider]) -> type[Provider]:
    provider = provider_class()
    if not provider.identifier:
        raise ValueError("a provider needs an identifier")
    _providers[provider.identifier] = provider
    return provider_class


def get(identifier: str) -> Provider:
    try:
        return _providers[identifier]
    except KeyError:
        raise LookupError(f"no payment provider {identifier!r}") from None


def all_providers() -> list[Provider]:
    return list(_providers.values())


def for_method(method: str) -> Provider | None:
    """The enabled, configured provider that takes this method (settings decide which)."""
    from django.conf import settings

    for identifier in settings.MADOGUCHI_PAYMENT_PROVIDERS:
        provider = _providers.get(identifier)
        if provider and provider.method == method and provider.is_configured():
            return provider
    return None
