"""銀行振込: the resident transfers the fee to the body's account, writing the 納付番号
before their name; staff import the bank statement (or enter a line) and each line is
matched to its payment by that number and the amount. See docs/payments.md."""

from __future__ import annotations

from madoguchi.payments.registry import Provider, register


@register
class BankTransferProvider(Provider):
    identifier = "bank_transfer"
    method = "bank_transfer"
    label = "銀行振込"
    online = False
