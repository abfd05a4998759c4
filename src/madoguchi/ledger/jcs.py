"""JSON Canonicalization Scheme (RFC 8785): the exact bytes of a ledger leaf.

Standard library only: the offline verifier (verifier.py) uses it without Django.
Keys are sorted by their UTF-16 code units, strings are escaped as ECMAScript's
JSON.stringify does, and numbers are written as ECMAScript writes an IEEE 754 double.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Integers beyond 2**53 are accepted only in the form ECMAScript writes a double: any
# other would mean different things to different verifiers.
MAX_SAFE_INTEGER = 2**53

_dumps = json.dumps


class CanonicalizationError(ValueError):
    """A value that has no RFC 8785 form (NaN, a lone surrogate, a set, …)."""


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    if _plain(value):
        # Without floats and with ASCII keys, RFC 8785 is exactly what the C encoder
        # writes with sorted keys: the same bytes, an order of magnitude faster.
        text = _dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    else:
        text = _general(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError("lone surrogates cannot be canonicalized") from exc


def _plain(value: Any) -> bool:
    """Strings, safe integers, booleans, None, lists and ASCII-keyed objects only."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE_INTEGER
    if isinstance(value, dict):
        return all(
            type(key) is str and key.isascii() and _plain(item) for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return False


def _general(value: Any) -> str:
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        if abs(value) <= MAX_SAFE_INTEGER:
            out.append(str(value))
        elif abs(value) < 10**21 and format_number(float(value)) == str(value):
            # A large double as a JSON reader gives it back (ECMAScript writes such
            # doubles as integers): the same text again.
            out.append(str(value))
        else:
            raise CanonicalizationError(f"integer {value} has no exact IEEE 754 form")
    elif isinstance(value, float):
        out.append(format_number(value))
    elif isinstance(value, dict):
        items = []
        for key in value:
            if not isinstance(key, str):
                raise CanonicalizationError(
                    f"object keys must be strings, not {type(key).__name__}"
                )
            items.append((key.encode("utf-16-be", "surrogatepass"), key))
        items.sort()
        out.append("{")
        for position, (_sort_key, key) in enumerate(items):
            if position:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def _string(text: str) -> str:
    # json.dumps escapes exactly as RFC 8785 (ECMAScript) does: \" \\ \b \f \n \r \t,
    # other control characters as lower-case \u00xx, everything else as is. A lone
    # surrogate passes here and fails the UTF-8 encoding in canonicalize().
    return _dumps(text, ensure_ascii=False)


def format_number(number: float) -> str:
    """ECMAScript's Number.prototype.toString for a finite double (RFC 8785 §3.2.2.3)."""
    if math.isnan(number) or math.isinf(number):
        raise CanonicalizationError("NaN and Infinity have no JSON form")
    if number == 0:
        return "0"  # -0 as well
    if number < 0:
        return "-" + format_number(-number)
    # repr() gives the shortest digits that read back as the same double, as ECMAScript
    # requires; only the placement of the decimal point and the exponent differ.
    mantissa, _, exponent_text = repr(number).partition("e")
    integer_part, _, fraction = mantissa.partition(".")
    digits = integer_part + fraction
    point = len(integer_part) + (int(exponent_text) if exponent_text else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    exponent = n - 1
    sign = "+" if exponent > 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(exponent)}"
