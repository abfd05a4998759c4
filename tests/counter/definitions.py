"""Procedure definitions written for the tests, loaded from a temporary folder."""

from __future__ import annotations

from pathlib import Path

EVERY_FIELD_TYPE = """
schema_version: 1
id: every-field-type
body: "992011"
name: すべての項目の見本
name_kana: すべてのこうもくのみほん
department: somuka
category: 見本
channel: online
identity_level: account
retention_class: 1年
fee: {amount: 500, note: 見本の手数料}
pages:
  - id: basics
    title: 基本の項目
    fields:
      - {id: nickname, type: text, label: 呼び名, max_length: 10}
      - {id: code, type: text, label: 整理番号, pattern: "^[A-Z]{2}[0-9]{4}$", pattern_message: 整理番号は英大文字2文字と数字4桁で入力してください。}
      - {id: story, type: long_text, label: 経緯, max_length: 20}
      - {id: count, type: number, label: 人数, min: 1, max: 5, unit: 人}
      - {id: email, type: email, label: メールアドレス}
      - {id: phone, type: phone, label: 電話番号}
      - {id: day, type: date, label: 届出日, not_future: true}
      - {id: person, type: name, label: 氏名}
      - {id: postal, type: postal_code, label: 郵便番号}
      - {id: place, type: address, label: 住所}
      - id: colour
        type: choice
        label: 色
        options: [{value: red, label: 赤}, {value: blue, label: 青}]
      - id: fruits
        type: multiple_choice
        label: 果物
        max_selected: 2
        options: [りんご, みかん, ぶどう]
      - {id: my_number, type: my_number, label: 個人番号}
      - {id: corporate, type: corporate_number, label: 法人番号}
      - {id: consent, type: agreement, label: 規約に同意します}
      - {id: document, type: file, label: 書類, accept: [pdf], max_size_mb: 1}
  - id: family
    title: 家族
    fields:
      - id: members
        type: group
        label: 家族
        item_label: 家族
        min_items: 1
        max_items: 3
        fields:
          - {id: member_name, type: text, label: 名前, max_length: 20}
          - {id: member_birth, type: date, label: 生年月日, not_future: true}
  - id: blue_page
    title: 青を選んだ方へ
    show_if: {field: colour, equals: blue}
    fields:
      - {id: blue_reason, type: text, label: 青を選んだ理由}
  - id: last
    title: 最後に
    fields:
      - {id: last_notice, type: notice, label: お知らせ, text: 見本の手続です。}
      - {id: remarks, type: long_text, label: 備考, required: false}
"""

CLOSED = """
schema_version: 1
id: closed-procedure
body: "992011"
name: 受付を終えた手続
name_kana: うけつけをおえたてつづき
department: seikatsu-kankyo
category: 見本
channel: online
identity_level: account
retention_class: 1年
availability:
  opens: "{opens}"
  closes: "{closes}"
  closed_message: 次回の受付をお待ちください。
pages:
  - id: only
    title: ただ一つのページ
    fields:
      - {{id: nickname, type: text, label: 呼び名}}
"""


def write(folder: Path, body: str, identifier: str, text: str) -> Path:
    target = folder / body
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{identifier}.yaml"
    path.write_text(text, encoding="utf-8")
    return path
