"""The canonical bytes an applicant signs: documented, stable, and exact."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.esign import canonical
from madoguchi.ledger.jcs import canonicalize


@pytest.fixture
def allowance(hanako):
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.identity import levels
    from tests.api.payloads import CHILD_ALLOWANCE

    application, _ = counter.create_and_submit(
        procedure=procedure_by_identifier("992011", "child-allowance"),
        applicant=hanako,
        answers=CHILD_ALLOWANCE,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.MYNUMBER_CARD,
        submit=False,
    )
    return application


def test_the_documented_fields_in_rfc_8785_form(allowance):
    data = canonical.canonical_bytes(allowance)
    payload = json.loads(data)
    assert sorted(payload) == [
        "answers",
        "applicant_role",
        "application",
        "body",
        "format",
        "procedure",
        "procedure_version",
        "subject_person",
    ]
    assert payload["format"] == "madoguchi.application/1"
    assert payload["body"] == "992011" and payload["procedure"] == "child-allowance"
    assert data == canonicalize(payload)
    # No whitespace, keys sorted, UTF-8 without escapes: what a verifier rebuilds.
    assert b": " not in data and b", " not in data
    assert "鈴木".encode() in data
    assert canonical.canonical_sha256(allowance) == hashlib.sha256(data).hexdigest()


def test_the_my_number_is_bound_by_its_ciphertext_hash_not_carried(allowance):
    from tests.api.payloads import MY_NUMBER

    data = canonical.canonical_bytes(allowance)
    assert MY_NUMBER.encode() not in data
    stored = allowance.answers["claimant_my_number"]
    assert stored["ciphertext"].encode() not in data
    value = json.loads(data)["answers"]["claimant_my_number"]
    assert value == {
        "last4": MY_NUMBER[-4:],
        "ciphertext_sha256": hashlib.sha256(stored["ciphertext"].encode()).hexdigest(),
    }


def test_any_change_of_an_answer_changes_the_digest(allowance):
    before = canonical.canonical_sha256(allowance)
    allowance.answers = dict(allowance.answers, bank_name="みなと銀行")
    assert canonical.canonical_sha256(allowance) != before


def test_hidden_answers_are_not_part_of_what_is_signed(allowance):
    before = canonical.canonical_bytes(allowance)
    # has_spouse is "no": an answer about the spouse is not submitted, nor signed.
    allowance.answers = dict(allowance.answers, spouse_name={"family": "x", "given": "y"})
    assert canonical.canonical_bytes(allowance) == before


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
        st.one_of(st.text(max_size=20), st.integers(-(2**53), 2**53), st.booleans(), st.none()),
        max_size=8,
    )
)
def test_the_form_does_not_depend_on_key_order(mapping):
    shuffled = dict(reversed(list(mapping.items())))
    assert canonicalize(mapping) == canonicalize(shuffled)
    assert json.loads(canonicalize(mapping)) == mapping
