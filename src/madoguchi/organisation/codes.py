"""全国地方公共団体コード (local government codes): five digits and a check digit."""

from __future__ import annotations

import re

_CODE = re.compile(r"^\d{6}$")


def check_digit(first_five: str) -> int:
    """The check digit of JIS X 0401/0402 local government codes (weights 6..2, modulus 11)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_five, (6, 5, 4, 3, 2), strict=True)
    )
    return (11 - total % 11) % 10


def is_valid_local_government_code(code: str) -> bool:
    return bool(_CODE.match(code)) and int(code[5]) == check_digit(code[:5])
