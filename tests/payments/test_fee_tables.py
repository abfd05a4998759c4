"""Fee tables (条例の手数料), 減免 rules with their legal basis, and the checks of the format."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.catalogue.definition import Definition
from madoguchi.catalogue.validation import check_path, check_text

from .definitions import ANSWERS, CERTIFICATE_YAML

SAMPLE = Path(__file__).parents[2] / "src" / "madoguchi" / "sample" / "catalogue"


def definition(text: str = CERTIFICATE_YAML) -> Definition:
    data, problems = check_text(text, "t.yaml")
    assert problems == [], [p.format() for p in problems]
    return Definition(data)


def test_amount_per_copy_from_the_answers():
    breakdown = definition().fee_breakdown(ANSWERS)
    assert [(line.id, line.amount, line.quantity, line.subtotal) for line in breakdown.lines] == [
        ("income", 300, 2, 600)
    ]
    assert breakdown.total == 600
    assert breakdown.reduction is None
    assert breakdown.legal_basis == "あおば市手数料条例第2条別表第1"


def test_lines_are_added_when_their_condition_holds():
    breakdown = definition().fee_breakdown({**ANSWERS, "kind": "tax_paid", "express": "yes"})
    assert [line.id for line in breakdown.lines] == ["tax_paid", "express"]
    assert breakdown.total == 2 * 400 + 300


def test_exemption_gives_the_zero_fee_path_with_its_legal_basis():
    breakdown = definition().fee_breakdown({**ANSWERS, "welfare": "yes"})
    assert breakdown.subtotal == 600
    assert breakdown.total == 0
    assert breakdown.reduction.id == "welfare"
    assert breakdown.reduction.legal_basis == "あおば市手数料条例第5条第1号"
    assert definition().fee({**ANSWERS, "welfare": "yes"}) == 0


def test_percent_reduction_rounds_in_the_residents_favour():
    # 3 copies of 納税証明書 = 1,200円 + 速達 300円 = 1,500円; half off = 750円.
    answers = {**ANSWERS, "kind": "tax_paid", "copies": 3, "express": "yes", "disability": "yes"}
    assert definition().fee(answers) == 750
    # An odd amount: 1 copy of 所得証明書 + 速達 = 600円 → 300円; 1 copy alone: 300 → 150.
    assert definition().fee({**ANSWERS, "copies": 1, "disability": "yes"}) == 150


def test_the_most_favourable_reduction_applies():
    answers = {**ANSWERS, "student": "yes", "disability": "yes"}
    breakdown = definition().fee_breakdown(answers)
    assert breakdown.reduction.id == "disability"  # 300 off beats 100 off
    assert breakdown.total == 300
    assert definition().fee({**answers, "welfare": "yes"}) == 0


def test_amount_off_never_goes_below_zero():
    answers = {**ANSWERS, "copies": 0, "express": "yes", "student": "yes"}
    assert definition().fee(answers) == 200
    # Without copies and 速達 nothing is charged, and no reduction is shown.
    breakdown = definition().fee_breakdown({**ANSWERS, "copies": 0, "student": "yes"})
    assert breakdown.total == 0 and breakdown.reduction is None


def test_no_fee_is_none_and_existing_simple_fees_are_unchanged():
    text = CERTIFICATE_YAML.split("fee:\n")[0] + "pages:" + CERTIFICATE_YAML.split("pages:")[1]
    assert definition(text).fee(ANSWERS) is None
    assert definition(text).fee_breakdown(ANSWERS) is None
    [(_path, data)], problems = check_path(SAMPLE / "992011" / "juminhyo-copy.yaml")
    assert problems == []
    juminhyo = Definition(data)
    assert juminhyo.fee({"copies": 3}) == 900
    (line,) = juminhyo.fee_breakdown({"copies": 3}).lines
    assert (line.label, line.unit, line.quantity) == ("手数料", "通", 3)


def test_snapshot_is_json():
    import json

    snapshot = definition().fee_breakdown({**ANSWERS, "disability": "yes"}).as_dict()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["reduction"]["legal_basis"] == "あおば市手数料条例第5条第2号"
    assert snapshot["total"] == 300


def test_every_sample_definition_still_checks():
    loaded, problems = check_path(SAMPLE)
    assert problems == [], [p.format() for p in problems]
    assert len(loaded) >= 6


@pytest.mark.parametrize(
    ("change", "path", "ja"),
    [
        (
            ("      exempt: true\n", "      exempt: true\n      percent: 10\n"),
            "fee.reductions[0]",
            "減免には exempt、percent、amount_off のどれか一つを指定してください。",
        ),
        (
            ("      exempt: true\n", ""),
            "fee.reductions[0]",
            "減免には exempt、percent、amount_off のどれか一つを指定してください。",
        ),
        (
            ('{field: welfare, equals: "yes"}', '{field: welfar, equals: "yes"}'),
            "fee.reductions[0].when",
            "条件が参照する項目「welfar」がありません。",
        ),
        (
            ("{field: kind, equals: income}", "{field: kind, equals: incom}"),
            "fee.items[0].when",
            "「kind」の選択肢にない値です: incom",
        ),
        (
            (
                "      quantity_field: copies\n      when: {field: kind, equals: tax_paid}",
                "      quantity_field: kind\n      when: {field: kind, equals: tax_paid}",
            ),
            "fee.items[1].quantity_field",
            "手数料の数量には、グループ外の数値項目（type: number）を指定してください。",
        ),
        (
            ("    - id: tax_paid\n", "    - id: income\n"),
            "fee.items[1].id",
            "「income」が重複しています。",
        ),
        (
            ("      legal_basis: あおば市手数料条例第5条第1号\n", ""),
            "fee.reductions[0]",
            "必須の項目「legal_basis」がありません。",
        ),
        (
            ("      percent: 50\n", "      percent: 150\n"),
            "fee.reductions[1].percent",
            None,
        ),
        (
            ("    timing: before_review\n", "    timing: before_submission\n"),
            "fee.payment.timing",
            None,
        ),
        (
            ("    methods: [card, bank_transfer, counter]\n", "    methods: [cash]\n"),
            "fee.payment.methods[0]",
            None,
        ),
        (
            ("  slot_minutes: 30\n", "  slot_minutes: 0\n"),
            "appointment.slot_minutes",
            None,
        ),
        (
            ("  counter: shimin-madoguchi\n", ""),
            "appointment",
            "必須の項目「counter」がありません。",
        ),
    ],
)
def test_mistakes_in_fee_tables_are_named(change, path, ja):
    old, new = change
    assert old in CERTIFICATE_YAML
    _data, problems = check_text(CERTIFICATE_YAML.replace(old, new, 1), "t.yaml")
    assert [p.path for p in problems] == [path], [p.format() for p in problems]
    if ja:
        assert problems[0].ja == ja
    assert problems[0].line is not None


reduction_rules = st.lists(
    st.one_of(
        st.fixed_dictionaries({"exempt": st.just(True)}),
        st.fixed_dictionaries({"percent": st.integers(1, 100)}),
        st.fixed_dictionaries({"amount_off": st.integers(1, 100_000)}),
    ),
    max_size=4,
)


@given(
    amounts=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=4),
    copies=st.integers(0, 10),
    rules=reduction_rules,
    holds=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_property_the_total_is_between_zero_and_the_subtotal(amounts, copies, rules, holds):
    data = {
        "pages": [{"id": "p", "title": "p", "fields": []}],
        "fee": {
            "amount": amounts[0],
            "quantity_field": "copies",
            "items": [{"id": f"i{n}", "label": "x", "amount": a} for n, a in enumerate(amounts)],
            "reductions": [
                {
                    "id": f"r{n}",
                    "label": "r",
                    "legal_basis": "条例",
                    "when": {"field": f"h{n}", "equals": True},
                    **rule,
                }
                for n, rule in enumerate(rules)
            ],
        },
    }
    answers = {"copies": copies, **{f"h{n}": hold for n, hold in enumerate(holds)}}
    breakdown = Definition(data).fee_breakdown(answers)
    expected_subtotal = amounts[0] * copies + sum(amounts)
    assert breakdown.subtotal == expected_subtotal
    assert 0 <= breakdown.total <= breakdown.subtotal
    applicable = [rule for n, rule in enumerate(rules) if holds[n]]
    if any(rule.get("exempt") or rule.get("percent") == 100 for rule in applicable):
        assert breakdown.total == 0
    if not applicable:
        assert breakdown.total == breakdown.subtotal and breakdown.reduction is None
    for rule in applicable:
        # No applicable rule would have left the resident paying less.
        if "amount_off" in rule:
            assert breakdown.total <= max(expected_subtotal - rule["amount_off"], 0)
        if "percent" in rule:
            assert breakdown.total <= expected_subtotal * (100 - rule["percent"]) // 100 + 1
