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
