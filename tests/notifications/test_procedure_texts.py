"""A procedure's own e-mail texts: placeholders only, checked when the definition is
loaded (an unknown placeholder or a template tag is refused with its line)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from madoguchi.catalogue.validation import check_text
from madoguchi.notifications import templating

from ..backoffice.conftest import SIMPLE


def test_the_sample_text_is_valid():
    data, problems = check_text(SIMPLE, "noise.yaml")
    assert problems == [] and "decision_made" in data["notifications"]


def test_unknown_placeholders_and_tags_are_refused_with_their_line():
    text = SIMPLE.replace("{{ state_label }}", "{{ owner_name }}", 1).replace(
        "生活環境課です", "{% load static %}"
    )
    _data, problems = check_text(text, "noise.yaml")
    assert [(p.path, p.line) for p in problems] == [
        ("notifications.decision_made.subject", 17),
        ("notifications.decision_made.body", 18),
    ]
    assert "owner_name" in problems[0].ja and "使えるもの" in problems[0].ja
    assert "{% %}" in problems[1].ja


def test_an_unknown_message_is_refused():
    text = SIMPLE.replace("  decision_made:", "  decision_mad:")
    _data, problems = check_text(text, "noise.yaml")
    assert problems and problems[0].path.startswith("notifications")


def test_rendering():
    context = {"receipt_number": "261201-12345678", "reply_by": dt.date(2026, 12, 18)}
    assert (
        templating.render("受付番号 {{receipt_number}}、期限 {{ reply_by }}", context)
        == "受付番号 261201-12345678、期限 2026年12月18日"
    )
    assert templating.render("{{ missing }}!", {}) == "!"


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=50))
def test_text_without_placeholders_is_left_as_it_is(text):
    assert templating.render(text, {"receipt_number": "1"}) == text
