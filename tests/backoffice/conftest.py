"""Fixtures of the back-office tests: submitted applications made quickly through the
counter's services, and the sample's staff by role."""

from __future__ import annotations

import uuid

import pytest

from madoguchi.identity import levels

DOG = {
    "owner_name": {
        "family": "山田",
        "given": "花子",
        "family_kana": "やまだ",
        "given_kana": "はなこ",
    },
    "owner_address": {
        "postal_code": "9990001",
        "prefecture": "さくら県",
        "city": "あおば市",
        "street": "中央一丁目2番3号",
        "building": "",
    },
    "owner_phone": "090-1234-5678",
    "dog_location": "same",
    "dog_name": "ポチ",
    "breed": "柴犬",
    "coat_colour": "赤",
    "dog_sex": "オス",
    "has_microchip": "yes",
    "microchip_number": "392140000123456",
    "vaccinated": "no",
    "delivery": "mail",
}


def submit_dog(applicant, *, body: str = "992011", **changes):
    """A submitted 犬の登録 (あおば市 生活環境課 by default)."""
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services

    application, _created = services.create_and_submit(
        procedure=procedure_by_identifier(body, "dog-registration"),
        applicant=applicant,
        answers={**DOG, **changes},
        idempotency_key=uuid.uuid4(),
        identity_level=levels.ACCOUNT,
    )
    return application


def user(email: str):
    from madoguchi.identity.models import User

    return User.objects.get(email=email)


@pytest.fixture
def kankyo_kacho(sample):
    """生活環境課長: the approver of the dog registration's route."""
    return user("kankyo.kacho@aoba.example.jp")


@pytest.fixture
def dog(hanako):
    return submit_dog(hanako)


# A procedure without an approval route: decided directly by an approver of the unit. It
# defines its 教示 and one e-mail text of its own.
SIMPLE = """
schema_version: 1
id: noise-notice
body: "992011"
name: 特定建設作業の届出（見本）
name_kana: とくていけんせつさぎょうのとどけで
department: seikatsu-kankyo
category: 生活・環境
channel: online
identity_level: account
retention_class: 5年
processing_days: 5
instruction: |
  この決定に不服がある場合は、あおば市長に対して審査請求をすることができます（見本の教示）。
notifications:
  decision_made:
    subject: "【{{ state_label }}】{{ procedure_name }}（{{ receipt_number }}）"
    body: |
      {{ body_name }} 生活環境課です。届出（受付番号 {{ receipt_number }}）の結果: {{ state_label }}
      {{ base_url }}{{ status_url }}
pages:
  - id: work
    title: 作業の内容
    fields:
      - {id: site, type: text, label: 作業の場所, max_length: 100}
      - {id: starts_on, type: date, label: 開始日}
      - {id: plan, type: file, label: 作業計画書, accept: [pdf, image], required: false}
      - {id: owner_number, type: my_number, label: 届出者の個人番号, required: false}
"""


def submit_simple(applicant, **changes):
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services

    application, _created = services.create_and_submit(
        procedure=procedure_by_identifier("992011", "noise-notice"),
        applicant=applicant,
        answers={"site": "中央一丁目", "starts_on": "2027-01-20", **changes},
        idempotency_key=uuid.uuid4(),
        identity_level=levels.ACCOUNT,
    )
    return application


@pytest.fixture
def simple_procedure(sample, tmp_path):
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.catalogue.services import load_catalogue

    (tmp_path / "noise-notice.yaml").write_text(SIMPLE, encoding="utf-8")
    assert load_catalogue(tmp_path).created == ["992011/noise-notice"]
    return procedure_by_identifier("992011", "noise-notice")


@pytest.fixture
def kankyo_staff(sample):
    return user("kankyo.tanto@aoba.example.jp")
