"""Leaf bytes: the fast path writes exactly the RFC 8785 bytes, for any details."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.ledger import jcs, leaves

from .test_jcs import json_values


def _fields(details, when):
    return {
        "origin": "example.jp/ledger/992011",
        "index": 7,
        "event_id": 42,
        "occurred_at": when,
        "event_type": "application.submitted",
        "body_code": "992011",
        "actor_kind": "resident",
        "actor_id": "12",
        "subject_type": "application",
        "subject_id": "3f0c",
        "content_sha256": "a" * 64,
        "details": details,
        "pseudonymise": lambda kind, identifier: f"{kind}-{identifier}",
    }


@settings(max_examples=200, deadline=None)
@given(
    details=st.dictionaries(st.text(), json_values, max_size=6),
    when=st.datetimes(timezones=st.just(dt.UTC)),
)
def test_leaf_bytes_are_the_canonical_form_of_the_leaf(details, when):
    fields = _fields(details, when)
    try:
        expected = jcs._general(leaves.leaf_document(**fields)).encode("utf-8")
    except (jcs.CanonicalizationError, UnicodeEncodeError):
        return
    data = leaves.leaf_bytes(**fields)
    if len(expected) <= leaves.MAX_LEAF_BYTES:
        assert data == expected
    document = json.loads(data)
    assert document["time"].endswith("Z") and len(document["time"]) == 27
    assert document["index"] == 7 and document["actor"]["ref"] == "resident-12"


def test_times_are_utc_with_microseconds_whatever_the_zone():
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert (
        leaves.format_time(dt.datetime(2026, 12, 1, 9, 0, tzinfo=tokyo))
        == "2026-12-01T00:00:00.000000Z"
    )


def _pseudonym(kind, identifier):
    return f"{kind}-{identifier}"


def test_people_named_in_the_details_are_published_as_pseudonyms():
    details = {
        "assignee": {"person": "staff", "id": "31"},
        "reviewers": [{"person": "staff", "id": "32"}, "not a person"],
        "on_behalf_of": {"person": "resident", "id": "12"},
        "claimed": True,
        "unit": "kankyo",
    }
    document = json.loads(leaves.leaf_bytes(**_fields(details, dt.datetime.now(dt.UTC))))
    assert document["details"] == {
        "assignee": {"kind": "staff", "ref": "staff-31"},
        "reviewers": [{"kind": "staff", "ref": "staff-32"}, "not a person"],
        "on_behalf_of": {"kind": "resident", "ref": "resident-12"},
        "claimed": True,
        "unit": "kankyo",
    }
    # The event row is not changed: the platform reads the account ids back from it.
    assert details["assignee"] == {"person": "staff", "id": "31"}


@settings(max_examples=200, deadline=None)
@given(
    details=st.dictionaries(st.text(), json_values, max_size=6),
    key=st.text(min_size=1),
    kind=st.sampled_from(sorted(leaves.PERSON_KINDS)),
    identifier=st.text(alphabet="0123456789", min_size=1, max_size=12),
)
def test_a_person_anywhere_in_the_details_never_reaches_the_leaf_as_an_id(
    details, key, kind, identifier
):
    details = {**details, key: {"person": kind, "id": identifier}}
    published = leaves.publishable_details(details, _pseudonym)
    assert published[key] == {"kind": kind, "ref": f"{kind}-{identifier}"}
    # Everything that is not a person reference is published as written.
    for name, value in details.items():
        if name != key and not leaves.is_person_reference(value):
            if isinstance(value, list):
                assert [v for v in published[name] if not isinstance(v, dict)] == [
                    v for v in value if not isinstance(v, dict)
                ]
            else:
                assert published[name] == value


def test_only_the_exact_form_is_a_person_reference():
    for value in (
        {"person": "staff", "id": 31},  # the id must be a string: person() writes one
        {"person": "alien", "id": "31"},
        {"person": "staff", "id": "31", "name": "x"},
        {"kind": "staff", "ref": "abc"},
    ):
        assert not leaves.is_person_reference(value)
        assert leaves.publishable_details({"x": value}, _pseudonym) == {"x": value}
