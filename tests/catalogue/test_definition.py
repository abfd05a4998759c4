"""The runtime logic of a definition: conditions, visibility, requirements, parsing, fees."""

from __future__ import annotations

import datetime as dt
from functools import cache

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.catalogue import conditions
from madoguchi.catalogue.definition import Definition, input_name
from madoguchi.catalogue.errors import FieldError
from madoguchi.catalogue.validation import check_text

from .test_validation import SAMPLE_CATALOGUE

LOGIC_YAML = """\
schema_version: 1
id: logic-test
body: "992011"
name: 論理のテスト
name_kana: ろんりのてすと
department: shiminka
category: テスト
channel: online
identity_level: account
retention_class: 1年
fee:
  amount: 300
  unit: 通
  quantity_field: count
pages:
  - id: about
    title: あなたについて
    fields:
      - id: kind
        type: choice
        label: 区分
        options:
          - {value: person, label: 個人}
          - {value: company, label: 法人}
      - id: extras
        type: multiple_choice
        label: 追加
        required: false
        options:
          - {value: pet, label: ペット}
          - {value: car, label: 車}
      - id: count
        type: number
        label: 通数
        required: false
        min: 0
        max: 10
        unit: 通
      - id: person_name
        type: name
        label: 氏名
        show_if: {field: kind, equals: person}
      - id: company_number
        type: corporate_number
        label: 法人番号
        show_if: {field: kind, equals: company}
      - id: note
        type: text
        label: 備考
        required_if:
          any:
            - {field: extras, contains: car}
            - {field: count, greater_than: 5}
      - id: info
        type: notice
        label: お知らせ
        text: 読んでください。
  - id: pets
    title: ペット
    show_if: {field: extras, contains: pet}
    fields:
      - id: pets
        type: group
        label: ペット
        item_label: ペット
        min_items: 1
        max_items: 3
        fields:
          - id: pet_name
            type: text
            label: 名前
          - id: pet_kind
            type: choice
            label: 種類
            options: [dog, cat]
          - id: pet_chip
            type: text
            label: チップ番号
            show_if: {field: pet_kind, equals: dog}
          - id: pet_info
            type: notice
            label: 注意
  - id: final
    title: 確認
    fields:
      - id: visit_date
        type: date
        label: 来庁日
        required: false
      - id: individual_only
        type: text
        label: 個人だけ
        required: false
        show_if: {not: {field: kind, in: [company]}}
      - id: agree
        type: agreement
        label: 同意します
"""


@cache
def logic() -> Definition:
    data, problems = check_text(LOGIC_YAML, "logic.yaml")
    assert problems == [], [p.format() for p in problems]
    return Definition(data)


@cache
def sample(name: str) -> Definition:
    file = next(SAMPLE_CATALOGUE.glob(f"*/{name}.yaml"))
    data, problems = check_text(file.read_text(encoding="utf-8"), str(file))
    assert problems == []
    return Definition(data)


def form(**values) -> QueryDict:
    """Posted form data; keys use _ for -, list values become repeated inputs."""
    data = QueryDict(mutable=True)
    for key, value in values.items():
        name = key.replace("__", "-")
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


def paths(errors: list[FieldError]) -> list[str]:
    return [error.path for error in errors]


NAME = {"family": "山田", "given": "花子", "family_kana": "やまだ", "given_kana": "はなこ"}


# --- conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "answers", "expected"),
    [
        ({"field": "a", "equals": "x"}, {"a": "x"}, True),
        ({"field": "a", "equals": "x"}, {"a": "y"}, False),
        ({"field": "a", "equals": "x"}, {}, False),
        ({"field": "a", "equals": True}, {"a": True}, True),
        ({"field": "a", "not_equals": "x"}, {"a": "y"}, True),
        ({"field": "a", "not_equals": "x"}, {"a": "x"}, False),
        ({"field": "a", "not_equals": "x"}, {}, True),
        ({"field": "a", "in": ["x", "y"]}, {"a": "y"}, True),
        ({"field": "a", "in": ["x", "y"]}, {"a": "z"}, False),
        ({"field": "a", "in": ["x", "y"]}, {}, False),
        ({"field": "a", "contains": "x"}, {"a": ["w", "x"]}, True),
        ({"field": "a", "contains": "x"}, {"a": ["w"]}, False),
        ({"field": "a", "contains": "x"}, {"a": "x"}, False),
        ({"field": "a", "contains": "x"}, {}, False),
        ({"field": "a", "is_set": True}, {"a": "x"}, True),
        ({"field": "a", "is_set": True}, {"a": 0}, True),
        ({"field": "a", "is_set": True}, {"a": ""}, False),
        ({"field": "a", "is_set": True}, {"a": []}, False),
        ({"field": "a", "is_set": True}, {"a": {}}, False),
        ({"field": "a", "is_set": True}, {"a": False}, False),
        ({"field": "a", "is_set": True}, {}, False),
        ({"field": "a", "is_set": False}, {}, True),
        ({"field": "a", "is_set": False}, {"a": "x"}, False),
        ({"field": "a", "greater_than": 5}, {"a": 6}, True),
        ({"field": "a", "greater_than": 5}, {"a": 5}, False),
        ({"field": "a", "greater_than": 5}, {"a": 5.5}, True),
        ({"field": "a", "greater_than": 0}, {"a": True}, False),
        ({"field": "a", "greater_than": 5}, {"a": "6"}, False),
        ({"field": "a", "greater_than": 5}, {}, False),
        ({"field": "a", "less_than": 5}, {"a": 4}, True),
        ({"field": "a", "less_than": 5}, {"a": 5}, False),
        ({"field": "a", "less_than": 5}, {}, False),
        (
            {"all": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]},
            {"a": 1, "b": 2},
            True,
        ),
        (
            {"all": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]},
            {"a": 1, "b": 3},
            False,
        ),
        (
            {"any": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]},
            {"a": 0, "b": 2},
            True,
        ),
        (
            {"any": [{"field": "a", "equals": 1}, {"field": "b", "equals": 2}]},
            {"a": 0, "b": 0},
            False,
        ),
        ({"not": {"field": "a", "equals": 1}}, {"a": 1}, False),
        ({"not": {"field": "a", "equals": 1}}, {"a": 2}, True),
        (
            {
                "all": [
                    {"not": {"field": "a", "in": [1, 2]}},
                    {"any": [{"field": "b", "is_set": True}]},
                ]
            },
            {"a": 3, "b": "x"},
            True,
        ),
        (None, {}, True),
    ],
)
def test_condition_operators(condition, answers, expected):
    assert conditions.evaluate(condition, answers) is expected


def test_unknown_operator_raises():
    with pytest.raises(ValueError, match="unknown condition"):
        conditions.evaluate({"field": "a", "like": "x"}, {"a": "x"})


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["x", "y", ""]),
    st.lists(st.sampled_from(["x", "y"]), max_size=2),
)
leaves = st.one_of(
    st.builds(lambda v: {"field": "a", "equals": v}, st.sampled_from(["x", 1, True])),
    st.builds(
        lambda v: {"field": "b", "in": v}, st.lists(st.sampled_from(["x", "y", 1]), min_size=1)
    ),
    st.builds(lambda v: {"field": "a", "contains": v}, st.sampled_from(["x", "y"])),
    st.builds(lambda v: {"field": "b", "is_set": v}, st.booleans()),
    st.builds(lambda v: {"field": "a", "greater_than": v}, st.integers(-2, 2)),
    st.builds(lambda v: {"field": "b", "less_than": v}, st.integers(-2, 2)),
)
condition_trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda c: {"not": c}, children),
        st.builds(lambda cs: {"all": cs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda cs: {"any": cs}, st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=8,
)


@given(condition_trees, st.fixed_dictionaries({"a": values, "b": values}))
def test_condition_combinators_follow_boolean_logic(condition, answers):
    result = conditions.evaluate(condition, answers)
    assert isinstance(result, bool)
    assert conditions.evaluate({"not": condition}, answers) is (not result)
    assert conditions.evaluate({"all": [condition, {"not": condition}]}, answers) is False
    assert conditions.evaluate({"any": [condition, {"not": condition}]}, answers) is True
    referenced = {field for field, _leaf in conditions.referenced_fields(condition)}
    assert referenced <= {"a", "b"} and referenced


def test_referenced_fields_walks_nested_conditions():
    condition = {
        "all": [
            {"field": "a", "equals": 1},
            {"not": {"any": [{"field": "b", "is_set": True}, {"field": "c", "in": [1]}]}},
        ]
    }
    assert [field for field, _leaf in conditions.referenced_fields(condition)] == ["a", "b", "c"]
    assert list(conditions.referenced_fields(None)) == []


# --- pages and visibility -------------------------------------------------------------------


def test_pages_shown_by_answers_and_navigation():
    definition = logic()
    without_pets = {"kind": "person"}
    with_pets = {"kind": "person", "extras": ["pet"]}
    assert [p.id for p in definition.visible_pages(without_pets)] == ["about", "final"]
    assert [p.id for p in definition.visible_pages(with_pets)] == ["about", "pets", "final"]
    assert definition.next_page(None, without_pets).id == "about"
    assert definition.next_page("about", without_pets).id == "final"
    assert definition.next_page("about", with_pets).id == "pets"
    assert definition.next_page("final", with_pets) is None
    assert definition.previous_page("final", without_pets).id == "about"
    assert definition.previous_page("final", with_pets).id == "pets"
    assert definition.previous_page("about", with_pets) is None
    assert definition.page("pets").title == "ペット"
    assert definition.page("nope") is None


def test_relevant_answers_drop_hidden_pages_fields_and_sub_fields():
    definition = logic()
    answers = {
        "kind": "person",
        "extras": ["car"],
        "person_name": NAME,
        "company_number": "5835678256246",  # hidden: kind is person
        "note": "駐車場を使います",
        "info": "a notice has no answer",
        "pets": [{"pet_name": "ポチ", "pet_kind": "dog"}],  # hidden page: no pet
        "visit_date": None,
        "individual_only": "はい",
        "agree": True,
    }
    assert definition.relevant_answers(answers) == {
        "kind": "person",
        "extras": ["car"],
        "person_name": NAME,
        "note": "駐車場を使います",
        "individual_only": "はい",
        "agree": True,
    }
    company = {
        **answers,
        "kind": "company",
        "extras": ["pet"],
        "pets": [
            {"pet_name": "ポチ", "pet_kind": "dog", "pet_chip": "123", "pet_info": "x"},
            {"pet_name": "タマ", "pet_kind": "cat", "pet_chip": "999"},
        ],
    }
    kept = definition.relevant_answers(company)
    assert "person_name" not in kept and "individual_only" not in kept
    assert kept["company_number"] == "5835678256246"
    assert kept["pets"] == [
        {"pet_name": "ポチ", "pet_kind": "dog", "pet_chip": "123"},
        {"pet_name": "タマ", "pet_kind": "cat"},
    ]


def test_required_if():
    definition = logic()
    note = definition.fields["note"]
    assert not definition.field_required(note, {})
    assert not definition.field_required(note, {"extras": ["pet"], "count": 5})
    assert definition.field_required(note, {"extras": ["pet", "car"]})
    assert definition.field_required(note, {"count": 6})
    assert not definition.field_required(definition.fields["info"], {})
    assert definition.field_required(definition.fields["kind"], {})
    assert not definition.field_required(definition.fields["count"], {})

    juminhyo = sample("juminhyo-copy")
    detail = juminhyo.fields["purpose_detail"]
    assert juminhyo.field_required(detail, {"purpose": "その他"})
    assert not juminhyo.field_required(detail, {"purpose": "相続"})


def missing(definition: Definition, answers) -> list[tuple[str, str, str]]:
    return [
        (page.id, error.path, error.code) for page, error in definition.missing_answers(answers)
    ]


def test_missing_answers():
    definition = logic()
    assert missing(definition, {}) == [
        ("about", "kind", "required"),
        ("final", "agree", "required"),
    ]
    assert missing(definition, {"kind": "person", "extras": ["car", "pet"], "agree": True}) == [
        ("about", "person_name.family", "required"),
        ("about", "note", "required"),
        ("pets", "pets", "required"),
    ]
    answers = {
        "kind": "company",
        "company_number": "5835678256246",
        "extras": ["pet"],
        "pets": [{"pet_name": "", "pet_kind": "dog"}, {"pet_name": "タマ", "pet_kind": "cat"}],
        "agree": True,
    }
    assert missing(definition, answers) == [
        ("pets", "pets.0.pet_name", "required"),
        ("pets", "pets.0.pet_chip", "required"),
    ]
    complete = {**answers, "pets": [{"pet_name": "ポチ", "pet_kind": "dog", "pet_chip": "1"}]}
    assert missing(definition, complete) == []
    # A hidden page's missing answers do not count.
    assert missing(definition, {**complete, "extras": [], "pets": []}) == []


def test_missing_answers_messages_name_the_field():
    [(page, error)] = logic().missing_answers({"kind": "company", "agree": True})
    assert page.id == "about"
    assert (error.path, error.ja, error.en) == (
        "company_number",
        "法人番号を入力してください。",
        "Enter 法人番号.",
    )
    [(_page, error)] = logic().missing_answers({"kind": "person", "person_name": NAME})
    assert (error.path, error.ja) == (
        "agree",
        "「同意します」のチェックボックスにチェックを入れてください。",
    )


def test_missing_answers_with_min_items():
    juminhyo = sample("juminhyo-copy")
    problems = missing(juminhyo, {"relationship": "self", "scope": "part", "members": []})
    assert ("target", "members", "required") in problems
    children = sample("child-allowance")
    problems = missing(children, {"children": [{"child_name": NAME}]})
    assert ("children", "children.0.child_birth_date.year", "required") in problems
    assert ("children", "children.0.child_apart_address", "required") not in problems


# --- parsing a page ----------------------------------------------------------------------------


def test_parse_page_keeps_raw_input_and_reports_each_input():
    definition = logic()
    data = form(
        **{
            "f-kind": "person",
            "f-extras": ["pet", "car"],
            "f-count": "abc",
            "f-person_name-family": "",
            "f-person_name-given": "花子",
            "f-person_name-family_kana": "ヤマダ",
            "f-person_name-given_kana": "",
            "f-company_number": "123",  # hidden, so not checked
            "f-note": "",
        }
    )
    result = definition.parse_page(definition.page("about"), data, {})
    assert paths(result.errors) == [
        "count",
        "person_name.family",
        "person_name.given_kana",
        "note",
    ]
    by_path = {error.path: error for error in result.errors}
    assert by_path["count"].ja == "半角または全角の数字で入力してください。"
    assert by_path["person_name.family"].ja == "姓を入力してください。"
    assert by_path["note"].ja == "備考を入力してください。"
    assert by_path["person_name.family"].input_id == "f-person_name-family"
    assert result.raw["f-person_name-given"] == "花子"
    assert result.raw["f-person_name-family_kana"] == "ヤマダ"
    assert result.raw["f-count"] == "abc"
    assert result.raw["f-extras"] == ["pet", "car"]
    assert result.values["kind"] == "person"
    assert result.values["extras"] == ["pet", "car"]
    assert result.values["person_name"] is None
    assert result.values["company_number"] is None
    assert "info" not in result.values


def test_parse_page_with_good_input():
    definition = logic()
    data = form(
        **{
            "f-kind": "company",
            "f-extras": ["car"],
            "f-count": "３",
            "f-company_number": "5-8356-7825-6246",
            "f-note": " 社用車 ",
        }
    )
    result = definition.parse_page(definition.page("about"), data, {})
    assert result.errors == []
    assert result.values == {
        "kind": "company",
        "extras": ["car"],
        "count": 3,
        "person_name": None,
        "company_number": "5835678256246",
        "note": "社用車",
    }
    assert definition.fee(result.values) == 900


def test_parse_page_checks_values_against_the_definition():
    definition = logic()
    data = form(**{"f-kind": "robot", "f-extras": ["pet", "boat"], "f-count": "11"})
    result = definition.parse_page(definition.page("about"), data, {})
    by_path = {error.path: error.code for error in result.errors}
    assert by_path == {"kind": "choice", "extras": "choice", "count": "max"}


def test_parse_page_of_a_group_reports_item_paths():
    definition = sample("child-allowance")
    data = form(
        **{
            "f-children-count": "2",
            "f-children-0-child_name-family": "",
            "f-children-0-child_name-given": "一郎",
            "f-children-0-child_name-family_kana": "やまだ",
            "f-children-0-child_name-given_kana": "いちろう",
            "f-children-0-child_birth_date-year": "令和2",
            "f-children-0-child_birth_date-month": "4",
            "f-children-0-child_birth_date-day": "1",
            "f-children-0-child_relationship": "子",
            "f-children-0-child_living": "together",
            "f-children-1-child_name-family": "山田",
            "f-children-1-child_name-given": "二郎",
            "f-children-1-child_name-family_kana": "やまだ",
            "f-children-1-child_name-given_kana": "じろう",
            "f-children-1-child_birth_date-year": "平成32",
            "f-children-1-child_birth_date-month": "4",
            "f-children-1-child_birth_date-day": "1",
            "f-children-1-child_relationship": "子",
            "f-children-1-child_living": "apart",
            "f-older_siblings": "0",
        }
    )
    result = definition.parse_page(definition.page("children"), data, {})
    assert paths(result.errors) == [
        "children.0.child_name.family",
        "children.1.child_birth_date.year",
        "children.1.child_apart_address",
    ]
    year_error = result.errors[1]
    assert year_error.code == "year_out_of_era"
    assert year_error.input_id == "f-children-1-child_birth_date-year"
    assert result.raw["f-children-count"] == "2"
    assert result.raw["f-children-0-child_name-given"] == "一郎"
    assert result.raw["f-children-1-child_birth_date-year"] == "平成32"
    first = result.values["children"][0]
    assert first["child_birth_date"] == "2020-04-01"
    assert first["child_apart_address"] is None  # hidden: living together
    assert result.values["older_siblings"] == 0


def test_group_min_items_and_max_items():
    definition = logic()
    page = definition.page("pets")
    result = definition.parse_page(page, form(**{"f-pets-count": "0"}), {})
    assert [(e.path, e.code, e.ja) for e in result.errors] == [
        ("pets", "min_items", "1件以上入力してください。")
    ]
    result = definition.parse_page(page, form(**{"f-pets-count": "9"}), {})
    assert result.raw["f-pets-count"] == "3"
    assert paths(result.errors) == [
        "pets.0.pet_name",
        "pets.0.pet_kind",
        "pets.1.pet_name",
        "pets.1.pet_kind",
        "pets.2.pet_name",
        "pets.2.pet_kind",
    ]
    # Without a count, the number of stored items (at least min_items) is shown.
    stored = {"pets": [{"pet_name": "a"}, {"pet_name": "b"}]}
    result = definition.parse_page(page, form(), stored)
    assert result.raw["f-pets-count"] == "2"
    result = definition.parse_page(page, form(), stored, group_counts={"pets": 1})
    assert result.raw["f-pets-count"] == "1"


def test_group_item_sub_field_visibility():
    definition = logic()
    data = form(
        **{
            "f-pets-count": "2",
            "f-pets-0-pet_name": "ポチ",
            "f-pets-0-pet_kind": "dog",
            "f-pets-0-pet_chip": "",
            "f-pets-1-pet_name": "タマ",
            "f-pets-1-pet_kind": "cat",
            "f-pets-1-pet_chip": "should be dropped",
        }
    )
    result = definition.parse_page(definition.page("pets"), data, {})
    assert paths(result.errors) == ["pets.0.pet_chip"]
    assert result.values["pets"][1] == {"pet_name": "タマ", "pet_kind": "cat", "pet_chip": None}
    assert "pet_info" not in result.values["pets"][0]


def test_empty_my_number_box_keeps_the_stored_number():
    definition = sample("child-allowance")
    stored = {"claimant_my_number": {"ciphertext": "x", "last4": "0257"}}
    result = definition.parse_page(definition.page("claimant"), form(), stored)
    assert result.values["claimant_my_number"] == stored["claimant_my_number"]
    assert result.raw["f-claimant_my_number"] == ""
    data = form(**{"f-claimant_my_number": "6214 9832 0258"})
    result = definition.parse_page(definition.page("claimant"), data, stored)
    assert "claimant_my_number" in paths(result.errors)
    assert result.raw["f-claimant_my_number"] == ""  # never echoed back


# --- fees --------------------------------------------------------------------------------------


def test_fee_with_quantity_field():
    juminhyo = sample("juminhyo-copy")
    assert juminhyo.fee({"copies": 1}) == 300
    assert juminhyo.fee({"copies": 3}) == 900
    assert juminhyo.fee({"copies": 10}) == 3000
    assert juminhyo.fee({}) == 0
    assert juminhyo.fee({"copies": True}) == 0
    assert juminhyo.fee({"copies": "3"}) == 0
    assert sample("dog-registration").fee({}) == 3000
    assert sample("dog-registration").fee({"copies": 5}) == 3000
    assert sample("child-allowance").fee({"children": [{}]}) is None


def test_copies_are_parsed_into_the_fee():
    juminhyo = sample("juminhyo-copy")
    data = form(**{"f-certificate_kind": "copy", "f-copies": "２"})
    result = juminhyo.parse_page(juminhyo.page("certificate"), data, {})
    assert result.errors == []
    assert juminhyo.fee(result.values) == 600


# --- JSON answers (the API) ----------------------------------------------------------------------


def test_parse_json_answers_accepts_good_answers():
    definition = logic()
    answers, errors = definition.parse_json_answers(
        {
            "kind": "person",
            "extras": ["car", "pet"],
            "count": 2,
            "person_name": {
                "family": "山田",
                "given": "花子",
                "family_kana": "ヤマダ",
                "given_kana": "ﾊﾅｺ",
            },
            "note": "車",
            "pets": [{"pet_name": "ポチ", "pet_kind": "dog", "pet_chip": "1"}],
            "visit_date": "令和8年4月1日",
            "agree": True,
            "info": "ignored",
        }
    )
    assert errors == []
    assert answers == {
        "kind": "person",
        "extras": ["pet", "car"],
        "count": 2,
        "person_name": NAME,
        "note": "車",
        "pets": [{"pet_name": "ポチ", "pet_kind": "dog", "pet_chip": "1"}],
        "visit_date": "2026-04-01",
        "agree": True,
    }


def test_parse_json_answers_rejects_unknown_fields_and_wrong_types():
    definition = logic()
    answers, errors = definition.parse_json_answers(
        {
            "kind": ["person"],
            "extras": "pet",
            "count": True,
            "person_name": "山田花子",
            "note": {"text": "x"},
            "pets": [{"pet_name": "ポチ", "colour": "白", "pet_kind": "bird"}],
            "agree": "yes",
            "nope": 1,
        }
    )
    assert sorted((error.path, error.code) for error in errors) == [
        ("agree", "type"),
        ("answers.nope", "unknown_field"),
        ("count", "type"),
        ("extras", "type"),
        ("kind", "type"),
        ("note", "type"),
        ("person_name", "type"),
        ("pets.0.colour", "unknown_field"),
        ("pets.0.pet_kind", "choice"),
    ]
    assert "kind" not in answers and "count" not in answers


def test_parse_json_answers_with_a_non_object():
    for given_value in ([], "answers", None, 3):
        answers, errors = logic().parse_json_answers(given_value)
        assert answers == {}
        assert [(e.path, e.code) for e in errors] == [("answers", "type")]


def test_parse_json_group_errors():
    definition = logic()
    _answers, errors = definition.parse_json_answers({"pets": {"pet_name": "ポチ"}})
    assert [(e.path, e.code) for e in errors] == [("pets", "type")]
    _answers, errors = definition.parse_json_answers({"pets": [{"pet_name": "x"}] * 4})
    assert [(e.path, e.code) for e in errors] == [("pets", "max_items")]
    _answers, errors = definition.parse_json_answers(
        {"person_name": {"family": "山田", "middle": "x"}}
    )
    assert [(e.path, e.code) for e in errors] == [("person_name", "unknown_keys")]
    _answers, errors = definition.parse_json_answers(
        {
            "person_name": {
                "family": "山田",
                "given": "花子",
                "family_kana": "山田",
                "given_kana": "はなこ",
            }
        }
    )
    assert [(e.path, e.code) for e in errors] == [("person_name.family_kana", "kana")]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["令和8年4月1日", "090-1234-5678", "1000001", "dog", "pet", "5835678256246"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["family", "given", "family_kana", "given_kana", "pet_name", "pet_kind", "x"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)


@pytest.mark.parametrize("name", ["juminhyo-copy", "child-allowance", "dog-registration", "logic"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parse_json_answers_never_raises(name, data):
    definition = logic() if name == "logic" else sample(name)
    keys = st.sampled_from([*definition.fields, "unknown_field"])
    given_answers = data.draw(st.dictionaries(keys, json_values, max_size=8))
    answers, errors = definition.parse_json_answers(given_answers)
    assert isinstance(answers, dict)
    for error in errors:
        assert isinstance(error, FieldError)
        assert error.ja and error.en
        top = error.path.split(".")[0]
        assert top in definition.fields or error.path.startswith("answers.")
    assert set(answers) <= set(definition.fields)
    # Whatever was accepted is accepted again unchanged (the stored form is canonical),
    # except my_number, whose value is stored encrypted.
    plain = {k: v for k, v in answers.items() if definition.fields[k]["type"] != "my_number"}
    again, again_errors = definition.parse_json_answers(plain)
    assert again_errors == []
    assert again == plain


# --- display --------------------------------------------------------------------------------------


def test_display_rows():
    definition = logic()
    answers = {
        "kind": "person",
        "extras": ["pet", "car"],
        "count": 1234,
        "person_name": NAME,
        "note": "メモ",
        "pets": [
            {"pet_name": "ポチ", "pet_kind": "dog", "pet_chip": "42"},
            {"pet_name": "タマ", "pet_kind": "cat"},
        ],
        "visit_date": "2026-04-01",
        "agree": True,
    }
    sections = definition.display_rows(answers)
    assert [section["page"].id for section in sections] == ["about", "pets", "final"]
    rows = {row["id"]: row for section in sections for row in section["rows"]}
    assert rows["kind"]["value"] == "個人"
    assert rows["extras"]["value"] == "ペット、車"
    assert rows["count"]["value"] == "1,234通"
    assert rows["person_name"]["value"] == "山田 花子（やまだ はなこ）"
    assert rows["visit_date"]["value"] == "令和8年4月1日"
    assert rows["agree"]["value"] == "同意する"
    assert "company_number" not in rows and "info" not in rows
    items = rows["pets"]["items"]
    assert [item["label"] for item in items] == ["ペット 1", "ペット 2"]
    assert [r["id"] for r in items[0]["rows"]] == ["pet_name", "pet_kind", "pet_chip"]
    assert [r["id"] for r in items[1]["rows"]] == ["pet_name", "pet_kind"]


def test_input_names_and_iter_fields():
    assert input_name("children.0.child_name") == "f-children-0-child_name"
    ids = [field_id for field_id, _spec in logic().iter_fields()]
    assert "pets.*.pet_chip" in ids and "kind" in ids
    assert logic().options("kind") == [
        {"value": "person", "label": "個人", "label_en": "", "hint": "", "hint_en": ""},
        {"value": "company", "label": "法人", "label_en": "", "hint": "", "hint_en": ""},
    ]


def test_dates_relative_to_today(settings):
    """not_future is checked against the local date."""
    definition = sample("juminhyo-copy")
    today = dt.date.today()
    tomorrow = today + dt.timedelta(days=2)
    data = form(
        **{
            "f-requester_birth_date-year": str(tomorrow.year),
            "f-requester_birth_date-month": str(tomorrow.month),
            "f-requester_birth_date-day": str(tomorrow.day),
        }
    )
    result = definition.parse_page(definition.page("requester"), data, {})
    codes = {error.path: error.code for error in result.errors}
    assert codes["requester_birth_date.year"] == "not_future"


def test_api_dates_before_1868_are_refused_like_typed_years():
    from madoguchi.catalogue.fieldtypes import FIELD_TYPES

    date_type = FIELD_TYPES["date"]
    refused = date_type.parse_json({}, "0001-01-01", "birth")
    assert refused.value is None
    assert refused.errors[0].code == "year_range"
    assert "1868" in refused.errors[0].ja
    accepted = date_type.parse_json({}, "1868-10-23", "birth")
    assert accepted.value == "1868-10-23" and not accepted.errors
