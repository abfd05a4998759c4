"""Answers of `sensitive` fields are sealed (encrypted) as they are parsed; conditions,
requirements and the resident's display work on the clear value, staff displays mask it."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.catalogue.definition import Definition
from madoguchi.catalogue.fieldtypes import DisplayContext, is_sealed, seal, unseal, unseal_all
from madoguchi.catalogue.validation import check_text

from .test_definition import LOGIC_YAML, form

SENSITIVE_YAML = LOGIC_YAML.replace(
    "      - id: kind\n        type: choice\n",
    "      - id: kind\n        type: choice\n        sensitive: true\n",
).replace(
    "      - id: pets\n        type: group\n",
    "      - id: pets\n        type: group\n        sensitive: true\n",
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@cache
def definition() -> Definition:
    assert SENSITIVE_YAML != LOGIC_YAML
    data, problems = check_text(SENSITIVE_YAML, "sensitive.yaml")
    assert problems == [], [p.format() for p in problems]
    return Definition(data)


@given(JSON)
def test_sealing_round_trips_any_answer(value):
    sealed = seal(value)
    assert is_sealed(sealed) and set(sealed) == {"sealed", "ciphertext"}
    assert unseal(sealed) == value
    assert unseal_all({"a": [sealed]}) == {"a": [value]}


def test_a_sealed_answer_drives_conditions_and_requirements():
    d = definition()
    result = d.parse_page(
        d.page("about"),
        form(**{"f-kind": "person", "f-extras": ["pet"], "f-person_name-given": "花子"}),
        {},
    )
    assert is_sealed(result.values["kind"]) and "person" not in str(result.values["kind"])
    # The name is shown (and required) because the sealed answer says "person".
    assert "person_name.family" in [error.path for error in result.errors]
    assert result.values["company_number"] is None
    answers = {**result.values, "note": "x"}
    assert d.field_visible(d.fields["person_name"], answers)
    assert not d.field_visible(d.fields["company_number"], answers)


def test_a_sensitive_group_seals_each_item_and_its_conditions_hold():
    d = definition()
    result = d.parse_page(
        d.page("pets"),
        form(
            **{
                "f-pets-count": "1",
                "f-pets-0-pet_name": "ポチ",
                "f-pets-0-pet_kind": "dog",
                "f-pets-0-pet_chip": "",
            }
        ),
        {"extras": ["pet"]},
    )
    item = result.values["pets"][0]
    assert is_sealed(item["pet_name"]) and unseal(item["pet_name"]) == "ポチ"
    # The chip number is asked for because the (sealed) kind is a dog.
    assert "pets.0.pet_chip" in [error.path for error in result.errors]


@pytest.mark.parametrize(
    ("reveal", "shown"), [(False, "（特別な個人情報のため非表示）"), (True, "個人")]
)
def test_display_masks_unless_the_context_may_reveal(reveal, shown):
    d = definition()
    answers = {"kind": seal("person"), "note": "x"}
    row = d.display_row("kind", answers, DisplayContext(reveal_sensitive=reveal))
    assert row["value"] == shown and row["sensitive"] is True


def test_an_invalid_sensitive_answer_is_reported_not_sealed():
    d = definition()
    result = d.parse_page(d.page("about"), form(**{"f-kind": "nobody"}), {})
    assert result.values["kind"] is None
    assert "kind" in [error.path for error in result.errors]
    assert result.raw["f-kind"] == "nobody"  # what was typed is kept for the form


def test_the_resident_form_is_prefilled_with_the_clear_answer():
    from madoguchi.catalogue.fieldtypes import field_type

    spec = definition().fields["kind"]
    assert field_type(spec).raw_from_value(spec, seal("company"), "f-kind") == {"f-kind": "company"}


def test_an_answer_sealed_under_a_removed_key_is_masked_not_an_error(settings):
    from cryptography.fernet import Fernet

    d = definition()
    answers = {"kind": seal("person"), "note": "x"}
    settings.MADOGUCHI_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # restored after
    row = d.display_row("kind", answers, DisplayContext(reveal_sensitive=True))
    assert row["value"] == "（特別な個人情報のため非表示）"
    # The condition that needs the value treats it as unanswered.
    assert not d.field_visible(d.fields["person_name"], answers)
