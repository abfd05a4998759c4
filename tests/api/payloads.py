"""Complete JSON answers for the sample procedures, and helpers to call the API."""

from __future__ import annotations

import json
import uuid

from stdnum.jp import in_ as individual_number

# A My Number with a valid check digit (made up; it belongs to nobody).
MY_NUMBER = "31415926535" + str(individual_number.calc_check_digit("31415926535"))

NAME = {"family": "山田", "given": "花子", "family_kana": "やまだ", "given_kana": "はなこ"}
ADDRESS = {
    "postal_code": "1000001",
    "prefecture": "東京都",
    "city": "千代田区",
    "street": "千代田1-1",
}
PHONE = "090-1234-5678"

DOG = {
    "owner_name": NAME,
    "owner_address": ADDRESS,
    "owner_phone": PHONE,
    "dog_location": "same",
    "dog_name": "ポチ",
    "breed": "柴犬",
    "coat_colour": "赤",
    "dog_sex": "オス",
    "dog_birth_date": "2023-04-01",
    "has_microchip": "yes",
    "microchip_number": "392140000123456",
    "vaccinated": "no",
    "delivery": "mail",
}

JUMINHYO = {
    "requester_name": NAME,
    "requester_birth_date": "1985-04-01",
    "requester_address": ADDRESS,
    "requester_phone": PHONE,
    "relationship": "self",
    "target_address": ADDRESS,
    "scope": "whole",
    "certificate_kind": "copy",
    "copies": 2,
    "purpose": "年金の手続",
    "declaration": True,
}

CHILD_ALLOWANCE = {
    "claimant_name": {
        "family": "鈴木",
        "given": "一二三",
        "family_kana": "すずき",
        "given_kana": "ひふみ",
    },
    "claimant_birth_date": "1987-07-07",
    "claimant_address": ADDRESS,
    "claimant_phone": "080-2468-1357",
    "claimant_my_number": MY_NUMBER,
    "public_servant": "no",
    "has_spouse": "no",
    "children": [
        {
            "child_name": {
                "family": "鈴木",
                "given": "葵",
                "family_kana": "すずき",
                "given_kana": "あおい",
            },
            "child_birth_date": "2020-02-02",
            "child_relationship": "子",
            "child_living": "together",
        }
    ],
    "older_siblings": 0,
    "bank_name": "あおば銀行",
    "branch_name": "本店",
    "account_type": "普通",
    "account_number": "7654321",
    "account_holder_kana": "スズキ ヒフミ",
    "declaration": True,
}


def highschool(photo_ids: list[str]) -> dict:
    return {
        "applicant_name": {
            "family": "山田",
            "given": "太郎",
            "family_kana": "やまだ",
            "given_kana": "たろう",
        },
        "applicant_birth_date": "2011-06-01",
        "applicant_address": ADDRESS,
        "middle_school": "あおば市立第一中学校",
        "graduation": "expected",
        "first_choice": "aoba-futsu",
        "photo": photo_ids,
        "guardian_name": NAME,
        "guardian_relationship": "母",
        "guardian_phone": PHONE,
        "guardian_same_address": "same",
        "declaration": True,
    }


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def post_application(
    client,
    *,
    token: str | None = None,
    body: str = "992011",
    procedure: str = "dog-registration",
    answers: dict | None = None,
    submit: bool | None = None,
    key: str | None = None,
    extra: dict | None = None,
    headers: dict | None = None,
):
    payload: dict = {"body": body, "procedure": procedure, "answers": answers or {}}
    if submit is not None:
        payload["submit"] = submit
    payload.update(extra or {})
    all_headers = {"Idempotency-Key": key or str(uuid.uuid4())}
    if token:
        all_headers.update(bearer(token))
    all_headers.update(headers or {})
    return client.post(
        "/api/applications",
        data=json.dumps(payload),
        content_type="application/json",
        headers=all_headers,
    )


def error_paths(response) -> set[str]:
    return {error["path"] for error in response.json()["errors"]}
