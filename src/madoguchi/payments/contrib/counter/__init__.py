"""窓口払い: the resident pays at the counter (cash or the counter's own terminal) and staff
record the payment. The embedded default, with bank transfer."""

from __future__ import annotations

from madoguchi.payments.registry import Provider, register


@register
class CounterProvider(Provider):
    identifier = "counter"
    method = "counter"
    label = "窓口で支払う"
    online = False
