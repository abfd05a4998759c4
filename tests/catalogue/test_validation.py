"""Checking definitions: every mistake is named by file, line and path, in Japanese and
English. The expected lines are counted in the texts below."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from madoguchi.catalogue import validation
from madoguchi.catalogue.validation import Problem, check_path, check_text

SAMPLE_CATALOGUE = Path(validation.__file__).parents[1] / "sample" / "catalogue"
JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龯]")
FILE = "procs/test.yaml"

BASE = """\
schema_version: 1
id: test-procedure
body: "992011"
name: テスト手続
name_kana: てすとてつづき
department: shiminka
category: テスト
channel: online
identity_level: account
retention_class: 1年
fee:
  amount: 300
  quantity_field: copies
availability:
  opens: 2026-04-01T09:00:00+09:00
  closes: 2026-05-01T17:00:00+09:00
pages:
  - id: first
    title: 最初
    fields:
      - id: kind
        type: choice
        label: 種類
        options: [a, b]
      - id: extras
        type: multiple_choice
        label: 追加
        required: false
        options: [x, y]
      - id: copies
        type: number
        label: 通数
        min: 1
        max: 10
      - id: note
        type: text
        label: メモ
        pattern: "^[0-9]+$"
  - id: second
    title: 次
    fields:
      - id: detail
        type: text
        label: 詳細
        show_if: {field: kind, equals: a}
      - id: children
        type: group
        label: 子
        min_items: 1
        fields:
          - id: child_name
            type: text
            label: 名前
          - id: child_note
            type: text
            label: 備考
            show_if: {field: child_name, is_set: true}
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing `needle`."""
    lines = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def changed(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def only_problem(text: str) -> Problem:
    data, problems = check_text(text, FILE)
    assert data is None
    assert len(problems) == 1, [p.format() for p in problems]
    problem = problems[0]
    assert problem.file == FILE
    assert JAPANESE.search(problem.ja), problem.ja
    assert problem.en and problem.en != problem.ja
    location = f"{FILE}:{problem.line}" if problem.line else FILE
    path = f" {problem.path}:" if problem.path else ""
    assert problem.format() == f"{location}:{path} {problem.ja} / {problem.en}"
    return problem


def test_the_base_definition_is_valid():
    data, problems = check_text(BASE, FILE)
    assert problems == []
    assert data["id"] == "test-procedure"
    # Timestamps stay strings, so that the logic checks can name the mistake.
    assert data["availability"]["opens"] == "2026-04-01T09:00:00+09:00"


def test_sample_catalogue_has_no_problem():
    valid, problems = check_path(SAMPLE_CATALOGUE)
    assert problems == []
    assert sorted((data["body"], data["id"]) for _file, data in valid) == [
        ("990001", "highschool-web-application"),
        ("990001", "omoiyari-parking"),
        ("992011", "child-allowance"),
        ("992011", "dog-registration"),
        ("992011", "income-certificate"),
        ("992011", "juminhyo-copy"),
        ("993417", "dog-registration"),
    ]


# --- YAML -------------------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line():
    text = changed("  - id: second\n", "  - id: second\n   bad: [\n")
    problem = only_problem(text)
    assert problem.line == line_of(text, "bad: [") == 40
    assert problem.path == ""
    assert problem.ja.startswith("YAMLとして読めません")
    assert problem.en.startswith("Not valid YAML")


def test_unclosed_quote_and_tab():
    problem = only_problem(changed("name: テスト手続", "name: 'テスト手続"))
    assert problem.ja.startswith("YAMLとして読めません")
    tabbed = changed("        label: メモ\n", "\tlabel: メモ\n")
    problem = only_problem(tabbed)
    assert problem.line == line_of(tabbed, "\tlabel")
    assert "\\t" in problem.ja


def test_duplicate_key():
    text = changed("category: テスト\n", "category: テスト\ncategory: 別\n")
    problem = only_problem(text)
    assert problem == Problem(
        FILE, 8, "category", "キー「category」が重複しています。", "Duplicate key 'category'."
    )


def test_duplicate_key_inside_a_field():
    text = changed("        label: 通数\n", "        label: 通数\n        label: 枚数\n")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (
        line_of(text, "label: 枚数"),
        "pages[0].fields[2].label",
    )


def test_empty_file():
    for text in ("", "# only a comment\n", "\n\n"):
        problem = only_problem(text)
        assert (problem.line, problem.path, problem.ja, problem.en) == (
            1,
            "",
            "ファイルが空です。",
            "The file is empty.",
        )


def test_not_a_mapping():
    problem = only_problem("- a\n- b\n")
    assert (problem.line, problem.path) == (1, "")
    assert problem.ja == "項目の集まり（キー: 値）で指定してください。"


def test_alias_containing_itself_is_refused_not_a_crash():
    problem = only_problem("a: &x [*x]\n")
    assert problem.line == 1
    assert "エイリアス" in problem.ja


def test_aliases_are_otherwise_allowed():
    text = changed("        options: [a, b]\n", "        options: &opts [a, b]\n")
    text = changed("        options: [x, y]\n", "        options: *opts\n", text)
    data, problems = check_text(text, FILE)
    assert problems == []
    assert data["pages"][0]["fields"][1]["options"] == ["a", "b"]


# --- the JSON Schema ---------------------------------------------------------------------


def test_unknown_top_level_key():
    text = changed("category: テスト\n", "category: テスト\ncolour: red\n")
    assert only_problem(text) == Problem(
        FILE,
        8,
        "colour",
        "「colour」はここでは使えない項目です（綴りをご確認ください）。",
        "'colour' is not allowed here (check the spelling).",
    )


def test_unknown_field_property():
    text = changed("        label: メモ\n", "        label: メモ\n        colour: red\n")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (38, "pages[0].fields[3].colour")
    assert problem.ja == "「colour」はここでは使えない項目です（綴りをご確認ください）。"


def test_property_of_another_field_type_is_unknown():
    # `options` belongs to choice fields, not to text fields.
    text = changed("        label: メモ\n", "        label: メモ\n        options: [a]\n")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (38, "pages[0].fields[3].options")


def test_unknown_property_of_a_field_inside_a_group():
    text = changed(
        "            label: 名前\n", "            label: 名前\n            colour: red\n"
    )
    problem = only_problem(text)
    assert (problem.line, problem.path) == (
        line_of(text, "colour: red"),
        "pages[1].fields[1].fields[0].colour",
    )


def test_wrong_type_is_the_only_problem_reported():
    """A wrong `min` used to report its valid sibling `max` as "not allowed" too."""
    text = changed("        min: 1\n", "        min: one\n")
    assert only_problem(text) == Problem(
        FILE, 33, "pages[0].fields[2].min", "整数で指定してください。", "Expected an integer."
    )


def test_wrong_type_inside_a_group_is_not_blamed_on_the_group():
    text = changed(
        "            label: 名前\n", "            label: 名前\n            max_length: many\n"
    )
    problem = only_problem(text)
    assert (problem.line, problem.path, problem.en) == (
        line_of(text, "max_length: many"),
        "pages[1].fields[1].fields[0].max_length",
        "Expected an integer.",
    )


def test_wrong_type_of_top_level_values():
    problem = only_problem(changed("channel: online", "channel: [online]"))
    assert (problem.line, problem.path) == (8, "channel")
    assert problem.ja.startswith("次のいずれかを指定してください")
    problem = only_problem(changed("schema_version: 1", "schema_version: 2"))
    assert (problem.line, problem.path, problem.ja) == (
        1,
        "schema_version",
        "1 を指定してください。",
    )


def test_the_english_category_is_optional_text():
    data, problems = check_text(
        changed("category: テスト\n", "category: テスト\ncategory_en: Tests\n"), FILE
    )
    assert problems == [] and data["category_en"] == "Tests"
    text = changed("category: テスト\n", "category: テスト\ncategory_en: [Tests]\n")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (line_of(text, "category_en:"), "category_en")
    assert problem.ja and problem.en


# The English variants a definition may give, each where it goes: (after this line, the
# key with its indentation, its path in the definition).
ENGLISH_KEYS = [
    ("category: テスト\n", "who_can_apply_en", "who_can_apply_en"),
    ("category: テスト\n", "contact_en", "contact_en"),
    ("  amount: 300\n", "  note_en", "fee.note_en"),
    ("  amount: 300\n", "  unit_en", "fee.unit_en"),
    (
        "  closes: 2026-05-01T17:00:00+09:00\n",
        "  closed_message_en",
        "availability.closed_message_en",
    ),
    ("    title: 最初\n", "    intro_en", "pages[0].intro_en"),
    ("        max: 10\n", "        unit_en", "pages[0].fields[2].unit_en"),
]


@pytest.mark.parametrize(("after", "key", "path"), ENGLISH_KEYS)
def test_english_variants_are_optional_text(after, key, path):
    """Each is accepted as text, and refused at its line and path as anything else."""
    data, problems = check_text(changed(after, f"{after}{key}: English\n"), FILE)
    assert problems == [], [problem.format() for problem in problems]
    assert data is not None
    text = changed(after, f"{after}{key}: [English]\n")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (line_of(text, f"{key.strip()}:"), path)


def test_an_agreements_english_text_and_an_options_english_hint_are_accepted():
    text = changed(
        "        options: [a, b]\n",
        "        options:\n          - {value: a, label: あ, hint: ヒント, hint_en: A hint}\n"
        "          - b\n"
        "      - id: consent\n        type: agreement\n        label: 同意\n"
        "        text: 同意します。\n        text_en: I agree.\n",
    )
    data, problems = check_text(text, FILE)
    assert problems == [], [problem.format() for problem in problems]
    assert data["pages"][0]["fields"][1]["text_en"] == "I agree."
    problem = only_problem(text.replace("text_en: I agree.", "text_en: [I agree.]"))
    assert problem.path == "pages[0].fields[1].text_en"
    problem = only_problem(text.replace("hint_en: A hint", "hint_en: 3"))
    assert problem.path == "pages[0].fields[0].options[0].hint_en"


def test_wrong_type_of_the_fee_amount_is_named():
    """fee is `null` or an object: the mistake is in the object, not "expected null"."""
    problem = only_problem(changed("amount: 300", "amount: '300'"))
    assert problem == Problem(
        FILE, 12, "fee.amount", "整数で指定してください。", "Expected an integer."
    )


def test_bad_enum_for_the_field_type():
    text = changed(
        "        type: text\n        label: メモ", "        type: textarea\n        label: メモ"
    )
    problem = only_problem(text)
    assert (problem.line, problem.path) == (36, "pages[0].fields[3].type")
    assert problem.ja.startswith('次のいずれかを指定してください: "text", "long_text"')
    assert problem.en.startswith('Must be one of: "text"')


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "hint"),
    [
        ("id: test-procedure", "id: Test_Procedure", 2, "id", "英小文字で始まる3〜80文字"),
        ("id: test-procedure", "id: ab", 2, "id", "英小文字で始まる3〜80文字"),
        ("- id: note", "- id: Note", 35, "pages[0].fields[3].id", "アンダースコア"),
        ("- id: second", "- id: 2nd", 39, "pages[1].id", "アンダースコア"),
        ('body: "992011"', 'body: "99201"', 3, "body", "6桁の数字"),
        ("name_kana: てすとてつづき", "name_kana: テストテツヅキ", 5, "name_kana", "ひらがな"),
    ],
)
def test_bad_id_patterns(old, new, line, path, hint):
    problem = only_problem(changed(old, new))
    assert (problem.line, problem.path) == (line, path)
    assert problem.ja.startswith("形式が正しくありません。")
    assert hint in problem.ja


def test_missing_required_keys_are_each_named():
    """Each missing key used to be reported with the name of the first one."""
    text = changed("channel: online\n", "", changed("category: テスト\n", ""))
    data, problems = check_text(text, FILE)
    assert data is None
    assert [(p.line, p.path, p.ja, p.en) for p in problems] == [
        (1, "", "必須の項目「category」がありません。", "Required key 'category' is missing."),
        (1, "", "必須の項目「channel」がありません。", "Required key 'channel' is missing."),
    ]


def test_missing_label_of_a_field():
    problem = only_problem(changed("        label: メモ\n", ""))
    assert problem == Problem(
        FILE,
        35,
        "pages[0].fields[3]",
        "必須の項目「label」がありません。",
        "Required key 'label' is missing.",
    )


def test_missing_type_does_not_demand_every_type_s_keys():
    """Without `type`, every `if` of the schema matched: options, accept and fields were
    all reported missing."""
    _data, problems = check_text(
        changed("        type: text\n        label: メモ\n", "        label: メモ\n"), FILE
    )
    assert [(p.line, p.path, p.ja) for p in problems] == [
        (35, "pages[0].fields[3]", "必須の項目「type」がありません。")
    ]


def test_choice_without_options_and_option_without_label():
    problem = only_problem(changed("        options: [a, b]\n", ""))
    assert (problem.line, problem.path, problem.ja) == (
        21,
        "pages[0].fields[0]",
        "必須の項目「options」がありません。",
    )
    problem = only_problem(changed("        options: [a, b]\n", "        options: [{value: a}]\n"))
    assert (problem.line, problem.path, problem.ja) == (
        24,
        "pages[0].fields[0].options[0]",
        "必須の項目「label」がありません。",
    )


def test_condition_with_two_comparisons():
    text = changed(
        "show_if: {field: kind, equals: a}", "show_if: {field: kind, equals: a, in: [a]}"
    )
    assert only_problem(text) == Problem(
        FILE,
        45,
        "pages[1].fields[0].show_if",
        "条件は「field」と比較（equals など）1つの組で書いてください。",
        "A condition is 'field' plus exactly one comparison.",
    )


def test_condition_with_an_unknown_operator():
    text = changed("show_if: {field: kind, equals: a}", "show_if: {field: kind, equal: a}")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (45, "pages[1].fields[0].show_if.equal")
    assert problem.ja == "「equal」はここでは使えない項目です（綴りをご確認ください）。"


def test_several_problems_are_all_reported_in_path_order():
    text = changed("        min: 1\n", "        min: one\n")
    text = changed("category: テスト\n", "category: テスト\ncolour: red\n", text)
    text = changed("      - id: detail\n", "      - id: Detail\n", text)
    data, problems = check_text(text, FILE)
    assert data is None
    assert [(p.line, p.path) for p in problems] == [
        (8, "colour"),
        (34, "pages[0].fields[2].min"),
        (43, "pages[1].fields[0].id"),
    ]


# --- the logic -----------------------------------------------------------------------------


def test_duplicate_field_id():
    text = changed("      - id: detail\n", "      - id: note\n")
    assert only_problem(text) == Problem(
        FILE,
        42,
        "pages[1].fields[0].id",
        "項目ID「note」が重複しています。",
        "Duplicate field id 'note'.",
    )


def test_duplicate_field_id_inside_a_group():
    text = changed("          - id: child_note\n", "          - id: kind\n")
    problem = only_problem(
        text.replace("show_if: {field: child_name, is_set: true}", "required: false")
    )
    assert (problem.line, problem.path, problem.ja) == (
        54,
        "pages[1].fields[1].fields[1].id",
        "項目ID「kind」が重複しています。",
    )


def test_duplicate_page_id():
    assert only_problem(changed("  - id: second\n", "  - id: first\n")) == Problem(
        FILE, 39, "pages[1].id", "ページID「first」が重複しています。", "Duplicate page id 'first'."
    )


def test_condition_referring_to_an_unknown_field():
    text = changed("show_if: {field: kind, equals: a}", "show_if: {field: knd, equals: a}")
    assert only_problem(text) == Problem(
        FILE,
        45,
        "pages[1].fields[0].show_if",
        "条件が参照する項目「knd」がありません。",
        "The condition refers to unknown field 'knd'.",
    )


def test_condition_inside_all_any_not_referring_to_an_unknown_field():
    text = changed(
        "show_if: {field: kind, equals: a}",
        "show_if: {all: [{field: kind, equals: a}, {not: {any: [{field: nope, is_set: true}]}}]}",
    )
    problem = only_problem(text)
    assert (problem.line, problem.path) == (45, "pages[1].fields[0].show_if")
    assert "「nope」" in problem.ja


def test_condition_referring_to_a_later_page():
    text = changed(
        '        pattern: "^[0-9]+$"\n',
        '        pattern: "^[0-9]+$"\n        show_if: {field: detail, is_set: true}\n',
    )
    assert only_problem(text) == Problem(
        FILE,
        39,
        "pages[0].fields[3].show_if",
        "条件は前のページの項目しか参照できません（「detail」）。",
        "A condition may only refer to earlier pages ('detail').",
    )


def test_page_condition_cannot_refer_to_its_own_page():
    text = changed("    title: 次\n", "    title: 次\n    show_if: {field: detail, is_set: true}\n")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (41, "pages[1].show_if")
    assert "前のページの項目しか参照できません" in problem.ja


def test_page_condition_on_an_earlier_page_is_fine():
    text = changed("    title: 次\n", "    title: 次\n    show_if: {field: kind, equals: b}\n")
    assert check_text(text, FILE)[1] == []


def test_condition_referring_to_a_field_in_a_group():
    text = changed(
        "show_if: {field: kind, equals: a}", "show_if: {field: child_name, is_set: true}"
    )
    assert only_problem(text) == Problem(
        FILE,
        45,
        "pages[1].fields[0].show_if",
        "「child_name」は別の繰り返しグループの中の項目なので参照できません。",
        "'child_name' is inside another group.",
    )


def test_field_in_a_group_may_refer_to_its_sibling_and_to_earlier_pages():
    text = changed(
        "show_if: {field: child_name, is_set: true}",
        "show_if: {all: [{field: child_name, is_set: true}, {field: kind, equals: a}]}",
    )
    assert check_text(text, FILE)[1] == []


def test_field_cannot_depend_on_itself():
    text = changed(
        "        label: メモ\n",
        "        label: メモ\n        required_if: {field: note, is_set: true}\n",
    )
    problem = only_problem(text)
    assert (problem.line, problem.path, problem.ja) == (
        38,
        "pages[0].fields[3].required_if",
        "項目が自分自身を条件にしています。",
    )


@pytest.mark.parametrize(
    "condition",
    ["{field: kind, equals: c}", "{field: kind, not_equals: c}", "{field: kind, in: [a, c]}"],
)
def test_condition_value_not_among_the_options(condition):
    text = changed("show_if: {field: kind, equals: a}", f"show_if: {condition}")
    assert only_problem(text) == Problem(
        FILE,
        45,
        "pages[1].fields[0].show_if",
        "「kind」の選択肢にない値です: c",
        "Not an option of 'kind': c",
    )


def test_contains_on_a_single_choice():
    text = changed("show_if: {field: kind, equals: a}", "show_if: {field: kind, contains: a}")
    assert only_problem(text) == Problem(
        FILE,
        45,
        "pages[1].fields[0].show_if",
        "contains は複数選択の項目にだけ使えます。",
        "'contains' applies to multiple_choice fields only.",
    )


def test_contains_on_a_multiple_choice():
    ok = changed("show_if: {field: kind, equals: a}", "show_if: {field: extras, contains: x}")
    assert check_text(ok, FILE)[1] == []
    wrong = changed("show_if: {field: kind, equals: a}", "show_if: {field: extras, contains: z}")
    assert only_problem(wrong).ja == "「extras」の選択肢にない値です: z"


def test_greater_than_on_a_choice():
    text = changed("show_if: {field: kind, equals: a}", "show_if: {field: kind, greater_than: 1}")
    assert only_problem(text).ja == "greater_than は数値項目にだけ使えます。"
    ok = changed("show_if: {field: kind, equals: a}", "show_if: {field: copies, greater_than: 1}")
    assert check_text(ok, FILE)[1] == []


@pytest.mark.parametrize("target", ["note", "nothing", "child_name", "kind"])
def test_fee_quantity_field_must_be_a_number_field_outside_groups(target):
    assert only_problem(changed("quantity_field: copies", f"quantity_field: {target}")) == Problem(
        FILE,
        13,
        "fee.quantity_field",
        "手数料の数量には、グループ外の数値項目（type: number）を指定してください。",
        "quantity_field must name a number field outside groups.",
    )


def test_fee_quantity_field_inside_a_group():
    text = changed(
        "          - id: child_note\n",
        "          - id: child_copies\n            type: number\n            label: 通数\n"
        "          - id: child_note\n",
    )
    assert check_text(text, FILE)[1] == []
    problem = only_problem(changed("quantity_field: copies", "quantity_field: child_copies", text))
    assert (problem.line, problem.path) == (13, "fee.quantity_field")


def test_availability_with_an_impossible_date_time():
    text = changed("opens: 2026-04-01T09:00:00+09:00", "opens: 2026-04-31T09:00:00+09:00")
    assert only_problem(text) == Problem(
        FILE,
        15,
        "availability.opens",
        "日時は 2026-11-01T09:00:00+09:00 の形式で書いてください。",
        "Use an ISO 8601 date-time like 2026-11-01T09:00:00+09:00.",
    )
    text = changed("closes: 2026-05-01T17:00:00+09:00", "closes: 五月一日")
    assert (only_problem(text).line, only_problem(text).path) == (16, "availability.closes")


def test_availability_without_offset():
    text = changed("opens: 2026-04-01T09:00:00+09:00", "opens: 2026-04-01T09:00:00")
    assert only_problem(text) == Problem(
        FILE,
        15,
        "availability.opens",
        "日時には時差（+09:00）を付けてください。",
        "Add the UTC offset (+09:00).",
    )
    text = changed("closes: 2026-05-01T17:00:00+09:00", "closes: 2026-05-01")
    assert only_problem(text).path == "availability.closes"


@pytest.mark.parametrize(
    "closes", ["2026-03-01T17:00:00+09:00", "2026-04-01T09:00:00+09:00", "2026-04-01T00:00:00Z"]
)
def test_availability_closing_before_opening(closes):
    text = changed("closes: 2026-05-01T17:00:00+09:00", f"closes: {closes}")
    assert only_problem(text) == Problem(
        FILE,
        16,
        "availability.closes",
        "受付終了は受付開始より後にしてください。",
        "closes must be after opens.",
    )


def test_availability_compares_instants_across_offsets():
    # 2026-04-01T01:00Z is 10:00 in Japan: after opening at 09:00+09:00.
    text = changed("closes: 2026-05-01T17:00:00+09:00", "closes: 2026-04-01T01:00:00Z")
    assert check_text(text, FILE)[1] == []


def test_number_min_greater_than_max():
    text = changed("        min: 1\n        max: 10\n", "        min: 11\n        max: 10\n")
    assert only_problem(text) == Problem(
        FILE,
        33,
        "pages[0].fields[2].min",
        "min は max 以下にしてください。",
        "min must not exceed max.",
    )


def test_other_minimums_above_maximums():
    text = changed(
        '        pattern: "^[0-9]+$"\n', "        min_length: 5\n        max_length: 4\n"
    )
    problem = only_problem(text)
    assert (problem.line, problem.path) == (38, "pages[0].fields[3].min_length")
    text = changed("        min_items: 1\n", "        min_items: 3\n        max_items: 2\n")
    problem = only_problem(text)
    assert (problem.line, problem.path) == (
        line_of(text, "min_items: 3"),
        "pages[1].fields[1].min_items",
    )
    text = changed(
        "        options: [x, y]\n", "        options: [x, y]\n        max_selected: 3\n"
    )
    assert only_problem(text).path == "pages[0].fields[1].max_selected"
    text = changed(
        "        options: [x, y]\n",
        "        options: [x, y]\n        min_selected: 2\n        max_selected: 1\n",
    )
    assert only_problem(text).path == "pages[0].fields[1].min_selected"


def test_bad_regular_expression():
    problem = only_problem(changed('pattern: "^[0-9]+$"', 'pattern: "^[0-9+$"'))
    assert (problem.line, problem.path) == (38, "pages[0].fields[3].pattern")
    assert problem.ja.startswith("正規表現として読めません: ")
    assert problem.en.startswith("Not a valid regular expression: ")


def test_bad_date_bounds_of_a_date_field():
    text = changed(
        "      - id: detail\n",
        "      - id: when\n        type: date\n        label: 日付\n        min: 2026-02-30\n      - id: detail\n",
    )
    problem = only_problem(text)
    assert (problem.line, problem.path, problem.ja) == (
        line_of(text, "min: 2026-02-30"),
        "pages[1].fields[0].min",
        "日付は 2026-04-01 の形式で書いてください。",
    )


def test_duplicate_option_values():
    problem = only_problem(changed("options: [a, b]", "options: [a, b, a]"))
    assert (problem.line, problem.path, problem.ja) == (
        24,
        "pages[0].fields[0].options",
        "選択肢の値が重複しています: a",
    )


def test_group_inside_a_group():
    text = changed(
        "          - id: child_note\n",
        "          - id: inner\n            type: group\n            label: 内\n"
        "            fields:\n              - id: inner_x\n                type: text\n"
        "                label: x\n          - id: child_note\n",
    )
    assert only_problem(text) == Problem(
        FILE,
        55,
        "pages[1].fields[1].fields[1].type",
        "繰り返しグループの中にグループやファイルは置けません。",
        "Groups cannot contain groups or files.",
    )


def test_file_inside_a_group():
    text = changed(
        "          - id: child_note\n",
        "          - id: photo\n            type: file\n            label: 写真\n"
        "            accept: [image]\n          - id: child_note\n",
    )
    problem = only_problem(text)
    assert (problem.line, problem.path) == (
        line_of(text, "type: file"),
        "pages[1].fields[1].fields[1].type",
    )


def test_in_person_procedure_cannot_require_a_signature():
    text = changed("channel: online", "channel: in_person\nsignature_required: true")
    assert only_problem(text) == Problem(
        FILE,
        9,
        "signature_required",
        "窓口のみの手続には電子署名を求められません。",
        "An in-person-only procedure cannot require an e-signature.",
    )


def test_required_false_with_required_if():
    text = changed(
        "        label: 詳細\n",
        "        label: 詳細\n        required: false\n        required_if: {field: kind, equals: b}\n",
    )
    problem = only_problem(text)
    assert problem.path == "pages[1].fields[0].required_if"
    assert problem.ja == "required: false と required_if は同時に書けません。"


# --- files and folders ---------------------------------------------------------------------


def test_file_that_is_not_utf8(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    bad = tmp_path / "sjis.yaml"
    bad.write_bytes(changed("id: test-procedure", "id: other-procedure").encode("cp932"))
    valid, problems = check_path(tmp_path)
    assert [file for file, _data in valid] == [good]
    assert len(problems) == 1
    problem = problems[0]
    assert problem.file == str(bad)
    # The first non-UTF-8 byte is the first Japanese character: テ of line 4.
    content = bad.read_bytes()
    first = next(index for index, byte in enumerate(content) if byte >= 0x80)
    assert content[first:].startswith("テ".encode("cp932"))
    assert problem.line == 4
    assert problem.ja == (
        f"UTF-8 で保存してください（{first + 1}バイト目が読めません。Shift_JIS/CP932 ではありませんか）。"
    )
    assert (
        problem.en
        == f"Save the file as UTF-8 (byte {first + 1} is not UTF-8; is it Shift_JIS/CP932?)."
    )
    assert problem.format().startswith(f"{bad}:4: UTF-8 で保存してください")


def test_byte_order_mark_is_accepted(tmp_path):
    file = tmp_path / "bom.yaml"
    file.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    valid, problems = check_path(file)
    assert problems == [] and len(valid) == 1


def test_two_files_defining_the_same_procedure(tmp_path):
    (tmp_path / "a.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(
        changed("name: テスト手続", "name: 写し"), encoding="utf-8"
    )
    valid, problems = check_path(tmp_path)
    assert [file.name for file, _data in valid] == ["a.yaml"]
    assert problems == [
        Problem(
            str(tmp_path / "sub" / "b.yml"),
            1,
            "id",
            f"手続「test-procedure」は {tmp_path / 'a.yaml'} でも定義されています。",
            f"Procedure 'test-procedure' is also defined in {tmp_path / 'a.yaml'}.",
        )
    ]


def test_same_id_for_two_bodies_is_fine(tmp_path):
    (tmp_path / "a.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(changed('body: "992011"', 'body: "993417"'), encoding="utf-8")
    valid, problems = check_path(tmp_path)
    assert problems == [] and len(valid) == 2


def test_one_bad_file_among_good_ones_is_named(tmp_path):
    shutil.copytree(SAMPLE_CATALOGUE, tmp_path / "catalogue")
    bad = tmp_path / "catalogue" / "992011" / "broken.yaml"
    bad.write_text(changed("        min: 1\n", "        min: one\n"), encoding="utf-8")
    valid, problems = check_path(tmp_path / "catalogue")
    assert len(valid) == 7
    assert [(p.file, p.line, p.path) for p in problems] == [
        (str(bad), 33, "pages[0].fields[2].min")
    ]


def test_missing_path_and_folder_without_definitions(tmp_path):
    valid, problems = check_path(tmp_path / "nope")
    assert valid == []
    assert [(p.file, p.ja) for p in problems] == [
        (str(tmp_path / "nope"), "ファイルまたはフォルダがありません。")
    ]
    (tmp_path / "readme.txt").write_text("not a definition")
    valid, problems = check_path(tmp_path)
    assert [(p.file, p.en) for p in problems] == [
        (str(tmp_path), "No definition files (.yaml/.yml) found.")
    ]


def test_problem_format_without_line_or_path():
    assert Problem("a.yaml", None, "", "日本語", "English").format() == "a.yaml: 日本語 / English"
    assert Problem("a.yaml", 3, "", "日本語", "English").format() == "a.yaml:3: 日本語 / English"
    assert (
        Problem("a.yaml", 3, "pages[0].id", "日本語", "English").format()
        == "a.yaml:3: pages[0].id: 日本語 / English"
    )
