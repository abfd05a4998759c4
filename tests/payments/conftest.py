"""Fixtures of the payment tests: a procedure with a fee table, and a Stripe test double."""

from __future__ import annotations

import pytest

from .definitions import CERTIFICATE_YAML, with_payment
from .stripe_double import SECRET_KEY, WEBHOOK_SECRET, StripeDouble


def load_procedure(tmp_path, text: str) -> None:
    from madoguchi.catalogue.services import load_catalogue

    folder = tmp_path / "catalogue"
    folder.mkdir(exist_ok=True)
    (folder / "procedure.yaml").write_text(text, encoding="utf-8")
    load_catalogue(folder)


@pytest.fixture
def bank_settings(sample):
    from madoguchi.organisation.models import Body
    from madoguchi.payments.models import BodyPaymentSettings

    body = Body.objects.get(code="992011")
    BodyPaymentSettings.objects.update_or_create(
        body=body,
        defaults={
            "bank_account": "あおば銀行 本店 普通 1234567 アオバシ",
            "counter_location": "本庁舎1階 会計窓口",
            "receipt_issuer": "あおば市長 青葉 太郎",
            "accounting_code": "14-01-01",
        },
    )
    return body


@pytest.fixture
def certificate(sample, bank_settings, tmp_path):
    """所得証明書: 300円/通, 速達 300円, 減免 rules, paid before review (card, transfer,
    counter)."""
    load_procedure(tmp_path, CERTIFICATE_YAML)
    from madoguchi.catalogue.selectors import procedure_by_identifier

    return procedure_by_identifier("992011", "tax-certificate")


@pytest.fixture
def certificate_before_issuance(sample, bank_settings, tmp_path):
    load_procedure(
        tmp_path,
        with_payment(
            CERTIFICATE_YAML,
            timing="before_issuance",
            methods=["card", "bank_transfer", "counter"],
        ),
    )
    from madoguchi.catalogue.selectors import procedure_by_identifier

    return procedure_by_identifier("992011", "tax-certificate")


@pytest.fixture
def stripe(settings):
    double = StripeDouble()
    double.start()
    settings.MADOGUCHI_STRIPE = {
        "secret_key": SECRET_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        "api_base": double.base_url,
        "timeout": 2,
        "webhook_tolerance": 300,
        "payment_method_types": ["card"],
    }
    settings.MADOGUCHI_BASE_URL = "http://testserver"
    yield double
    double.stop()


@pytest.fixture
def no_card(settings):
    settings.MADOGUCHI_STRIPE = {
        **settings.MADOGUCHI_STRIPE,
        "secret_key": "",
        "webhook_secret": "",
    }
