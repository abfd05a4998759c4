"""受付番号: date, random digits and a Luhn check digit, e.g. 261123-48291735.

Random rather than sequential: no lock or counter row is shared between submissions,
and a number reveals nothing about other applications. Uniqueness is enforced by the
database; a collision is retried.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

_RECEIPT_RE = re.compile(r"^(\d{6})-(\d{8})$")


def luhn_digit(digits: str) -> int:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def new_receipt_number(day: dt.date) -> str:
    prefix = day.strftime("%y%m%d")
    body = f"{secrets.randbelow(10**7):07d}"
    return f"{prefix}-{body}{luhn_digit(prefix + body)}"


def is_valid_receipt_number(text: str) -> bool:
    match = _RECEIPT_RE.match(text)
    if not match:
        return False
    digits = match[1] + match[2]
    return luhn_digit(digits[:-1]) == int(digits[-1])
