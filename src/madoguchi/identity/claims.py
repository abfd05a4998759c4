"""From a provider's claims to the values of a resident's profile (基本4情報).

Two shapes: the Digital Agency's authentication app gives the four items as read from the
My Number Card (氏名 as one string, 住所 as one string); a generic provider gives the
standard claims of OpenID Connect Core 5.1 (family_name, given_name, an address object).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from madoguchi.catalogue.fieldtypes import prefecture_choices

# What each requested scope should bring, to tell the person what did not come.
EXPECTED = {
    "name": ("family_name", "given_name"),
    "address": ("prefecture", "city", "street"),
    "birthdate": ("birth_date",),
    "gender": ("sex",),
}
LABELS = {"name": "氏名", "address": "住所", "birthdate": "生年月日", "gender": "性別"}

_SEX = {
    "male": "male",
    "m": "male",
    "1": "male",
    "男": "male",
    "男性": "male",
    "female": "female",
    "f": "female",
    "2": "female",
    "女": "female",
    "女性": "female",
}
_CITY = re.compile(r"^(.+?郡.+?[町村]|.+?市.+?区(?=.)|.+?[市区町村])(.*)$")


@dataclass
class Mapped:
    values: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # scope names whose values did not come
    email: str = ""
    email_verified: bool = False


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    value = unicodedata.normalize("NFKC", value).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return ""
    return value[:limit]


def split_name(full: str) -> tuple[str, str] | None:
    parts = full.replace("\u3000", " ").split()
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def parse_address(formatted: str) -> dict[str, str]:
    text = formatted.replace("\u3000", "").replace(" ", "")
    for prefecture in sorted(prefecture_choices(), key=len, reverse=True):
        if text.startswith(prefecture):
            rest = text[len(prefecture) :]
            match = _CITY.match(rest)
            if match and match.group(2):
                return {"prefecture": prefecture, "city": match.group(1), "street": match.group(2)}
            return {"prefecture": prefecture, "city": "", "street": rest}
    return {}


def _birth_date(value: Any) -> dt.date | None:
    text = _text(value, 20).replace("/", "-")
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if dt.date(1880, 1, 1) <= day <= dt.date.today() else None


def _postal_code(value: Any) -> str:
    digits = re.sub(r"\D", "", _text(value, 20))
    return digits if len(digits) == 7 else ""


def map_claims(kind: str, claims: dict[str, Any], scopes: str) -> Mapped:
    mapped = Mapped()
    values = mapped.values
    if kind == "standard" and (claims.get("family_name") or claims.get("given_name")):
        family, given = _text(claims.get("family_name"), 50), _text(claims.get("given_name"), 50)
        if family and given:
            values["family_name"], values["given_name"] = family, given
    else:
        full = _text(claims.get("name"), 101)
        names = split_name(full) if full else None
        if names and all(len(part) <= 50 for part in names):
            values["family_name"], values["given_name"] = names
    address = claims.get("address")
    parts: dict[str, str] = {}
    if isinstance(address, dict):
        region = _text(address.get("region"), 10)
        locality = _text(address.get("locality"), 100)
        street = _text(address.get("street_address"), 200)
        if region and locality and street:
            parts = {"prefecture": region, "city": locality, "street": street}
        elif address.get("formatted"):
            parts = parse_address(_text(address.get("formatted"), 300))
        postal = _postal_code(address.get("postal_code"))
        if postal:
            values["postal_code"] = postal
    elif isinstance(address, str):
        parts = parse_address(_text(address, 300))
    if parts.get("prefecture") in prefecture_choices() and parts.get("city"):
        values.update(parts)
        values.setdefault("building", "")
    birth = _birth_date(claims.get("birthdate"))
    if birth:
        values["birth_date"] = birth
    sex = _SEX.get(_text(claims.get("gender"), 10).lower())
    if sex:
        values["sex"] = sex
    asked = set(scopes.split())
    for scope, keys in EXPECTED.items():
        # The standard `profile` scope brings the name, birth date and gender together.
        wanted = scope in asked or (scope != "address" and "profile" in asked)
        if wanted and not all(values.get(key) for key in keys):
            mapped.missing.append(scope)
    email = _text(claims.get("email"), 254)
    if email and "@" in email:
        mapped.email = email.lower()
        mapped.email_verified = claims.get("email_verified") is True
    return mapped
