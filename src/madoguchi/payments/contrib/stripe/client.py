"""A small client for Stripe's HTTP API (form-encoded requests, JSON answers).

Every request that creates or changes something carries an Idempotency-Key derived from
our own row, so that retrying after a timeout returns the first answer instead of
charging again (https://docs.stripe.com/api/idempotent_requests).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from madoguchi.payments.registry import ProviderError

logger = logging.getLogger(__name__)

API_VERSION = "2024-06-20"


def encode(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested keys as a[b][c], lists as a[0], booleans as true."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs.extend(encode(value, name))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    pairs.extend(encode(item, f"{name}[{index}]"))
                else:
                    pairs.append((f"{name}[{index}]", _scalar(item)))
        else:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class StripeClient:
    def __init__(self, *, api_base: str, secret_key: str, timeout: float) -> None:
        self.api_base = api_base.rstrip("/")
        self.secret_key = secret_key
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.secret_key}",
            "Stripe-Version": API_VERSION,
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = encode(params or {})
        url = self.api_base + "/".join(quote(part, safe="") for part in path.split("/"))
        try:
            if method == "GET":
                response = requests.get(url, params=data, headers=headers, timeout=self.timeout)
            else:
                response = requests.post(url, data=data, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            logger.warning("stripe %s %s timed out", method, path.split("/")[2:3])
            raise ProviderError(
                "the payment service did not answer in time", transient=True, code="timeout"
            ) from None
        except requests.RequestException as exc:
            logger.warning("stripe %s unreachable: %s", method, type(exc).__name__)
            raise ProviderError(
                "the payment service is unreachable", transient=True, code="unreachable"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderError(
                f"the payment service failed ({response.status_code})",
                transient=True,
                code=str(response.status_code),
            )
        if response.status_code >= 400:
            error = body.get("error") or {}
            raise ProviderError(
                str(error.get("message") or f"refused ({response.status_code})")[:300],
                transient=False,
                code=str(error.get("code") or error.get("type") or response.status_code),
            )
        if not isinstance(body, dict) or "id" not in body:
            raise ProviderError(
                "unexpected answer from the payment service", transient=True, code="bad_answer"
            )
        return body
