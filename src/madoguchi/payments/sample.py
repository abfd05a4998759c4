"""The sample bodies' payment settings, and (with the sample applications) two fees: one
paid at the counter with its receipt, one waiting for a bank transfer."""

from __future__ import annotations

import uuid

from madoguchi.organisation.models import Body

from .models import BodyPaymentSettings, Payment

SETTINGS = {
    "990001": {
        "bank_account": "さくら銀行 県庁支店 普通 7654321 サクラケン カイケイカンリシャ",
        "counter_location": "さくら県庁 本館1階 会計窓口",
        "receipt_issuer": "さくら県知事",
        "accounting_code": "13-01-01",
    },
    "992011": {
        "bank_account": "あおば銀行 本店 普通 1234567 アオバシ カイケイカンリシャ",
        "counter_location": "あおば市役所 本庁舎1階 会計窓口（平日 8:30〜17:15）",
        "receipt_issuer": "あおば市長",
        "accounting_code": "14-01-01",
    },
    "993417": {
        "bank_account": "みなと信用金庫 役場前支店 普通 0001234 ミナトマチ",
        "counter_location": "みなと町役場 1階 会計窓口",
        "receipt_issuer": "みなと町長",
        "accounting_code": "14-01-01",
    },
}


def load_sample(*, with_applications: bool = True) -> None:
    for code, values in SETTINGS.items():
        body = Body.objects.filter(code=code).first()
        if body is not None:
            BodyPaymentSettings.objects.update_or_create(body=body, defaults=values)
    if with_applications:
        _sample_fees()


ANSWERS = {
    "kind": "income",
    "fiscal_year": "令和8年度",
    "copies": 2,
    "purpose": "保育所の入所",
    "delivery": "counter",
    "declaration": True,
}


def _sample_fees() -> None:
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.identity import levels
    from madoguchi.identity.models import User

    from . import services

    procedure = procedure_by_identifier("992011", "income-certificate")
    if procedure is None or Payment.objects.exists():
        return
    hanako = User.objects.get(email="hanako@example.jp")
    staff = User.objects.get(email="shimin.tanto@aoba.example.jp")
    waiting, _created = counter.create_and_submit(
        procedure=procedure,
        applicant=hanako,
        answers=ANSWERS,
        idempotency_key=uuid.UUID(int=201),
        identity_level=levels.ACCOUNT,
    )
    services.start_payment(
        application=waiting,
        actor=hanako,
        method="bank_transfer",
        idempotency_key=uuid.UUID(int=202),
    )
    paid, _created = counter.create_and_submit(
        procedure=procedure,
        applicant=hanako,
        answers={**ANSWERS, "kind": "tax", "copies": 1, "delivery": "mail"},
        idempotency_key=uuid.UUID(int=203),
        identity_level=levels.ACCOUNT,
    )
    services.record_counter_payment(application=paid, staff=staff, amount=paid.fee_amount)
