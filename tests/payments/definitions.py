"""A procedure with a fee table, 減免 rules and payment settings, for the payment tests."""

from __future__ import annotations

CERTIFICATE_YAML = """\
schema_version: 1
id: tax-certificate
body: "992011"
name: 所得証明書の交付請求
name_kana: しょとくしょうめいしょのこうふせいきゅう
department: shiminka
category: 証明書
channel: online_and_in_person
identity_level: account
retention_class: 1年
fee:
  amount: 0
  legal_basis: あおば市手数料条例第2条別表第1
  note: 郵送料は市が負担します。
  items:
    - id: income
      label: 所得証明書
      amount: 300
      unit: 通
      quantity_field: copies
      when: {field: kind, equals: income}
    - id: tax_paid
      label: 納税証明書
      amount: 400
      unit: 通
      quantity_field: copies
      when: {field: kind, equals: tax_paid}
    - id: express
      label: 速達
      amount: 300
      when: {field: express, equals: "yes"}
  reductions:
    - id: welfare
      label: 生活保護の受給者
      when: {field: welfare, equals: "yes"}
      exempt: true
      legal_basis: あおば市手数料条例第5条第1号
    - id: disability
      label: 障害者手帳をお持ちの方
      when: {field: disability, equals: "yes"}
      percent: 50
      legal_basis: あおば市手数料条例第5条第2号
    - id: student
      label: 学生
      when: {field: student, equals: "yes"}
      amount_off: 100
      legal_basis: あおば市手数料条例第5条第3号
  payment:
    timing: before_review
    methods: [card, bank_transfer, counter]
    due_days: 10
appointment:
  counter: shimin-madoguchi
  slot_minutes: 30
  note: 本人確認書類をお持ちください。
pages:
  - id: request
    title: 請求の内容
    fields:
      - id: kind
        type: choice
        label: 証明書の種類
        options:
          - {value: income, label: 所得証明書}
          - {value: tax_paid, label: 納税証明書}
      - id: copies
        type: number
        label: 通数
        min: 1
        max: 10
        unit: 通
      - id: express
        type: choice
        label: 速達で送る
        options:
          - {value: "yes", label: はい}
          - {value: "no", label: いいえ}
  - id: reductions
    title: 手数料の減免
    fields:
      - id: welfare
        type: choice
        label: 生活保護を受けていますか
        options:
          - {value: "yes", label: はい}
          - {value: "no", label: いいえ}
      - id: disability
        type: choice
        label: 障害者手帳をお持ちですか
        options:
          - {value: "yes", label: はい}
          - {value: "no", label: いいえ}
      - id: student
        type: choice
        label: 学生ですか
        options:
          - {value: "yes", label: はい}
          - {value: "no", label: いいえ}
"""

ANSWERS = {
    "kind": "income",
    "copies": 2,
    "express": "no",
    "welfare": "no",
    "disability": "no",
    "student": "no",
}

PAGES = {
    "request": {"f-kind": "income", "f-copies": "2", "f-express": "no"},
    "reductions": {"f-welfare": "no", "f-disability": "no", "f-student": "no"},
}


def with_payment(text: str, *, timing: str, methods: list[str]) -> str:
    """The definition with other payment settings."""
    old = "    timing: before_review\n    methods: [card, bank_transfer, counter]\n"
    assert old in text
    return text.replace(old, f"    timing: {timing}\n    methods: [{', '.join(methods)}]\n")
