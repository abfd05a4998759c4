"""Route definition files: every bad definition refused with its file, line and path in
Japanese and English; loading is all or nothing and versioned; `madoguchi routes`."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.approvals import services, validation
from madoguchi.approvals.models import Route, RouteVersion
from madoguchi.ledger.models import Event

pytestmark = pytest.mark.django_db

SAMPLE_ROUTES = Path(services.__file__).parents[1] / "sample" / "routes"

GOOD = """\
schema_version: 1
id: finance
body: "992011"
name: 財務会計
subjects: [internal_document]
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief}
  - id: gogi
    label: 財政課合議
    when: {field: amount, greater_than: 500000}
    consult:
      - {position: director, unit: zaisei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""


def check(text: str, file: str = "routes/finance.yaml"):
    return validation.check_text(textwrap.dedent(text), file, require_body=True)


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    data, problems = check(text)
    assert data is None
    return [(p.line, p.path, p.ja) for p in problems]


def test_the_sample_routes_are_valid(sample):
    valid, problems = validation.check_path(SAMPLE_ROUTES)
    assert problems == []
    identifiers = {(data["body"], data["id"]) for _file, data in valid}
    assert {("992011", "internal-finance"), ("992011", "certificate-standard")} <= identifiers
    out = io.StringIO()
    call_command("routes", "check", str(SAMPLE_ROUTES), stdout=out)
    assert f"OK: {len(valid)} route(s)" in out.getvalue()


def test_every_procedure_of_the_sample_names_a_loaded_route(sample):
    from madoguchi.approvals.selectors import route_for
    from madoguchi.catalogue.models import Procedure

    for procedure in Procedure.objects.select_related("current_version", "body"):
        name = procedure.current_version.definition.get("approval_route")
        assert name and route_for(procedure.body, name) is not None, procedure.identifier


def test_a_good_definition_passes(sample):
    data, problems = check(GOOD)
    assert problems == [] and data["id"] == "finance"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("steps:", "stepz:"),
            [
                (1, "", "必須の項目「steps」がありません。"),
                (6, "stepz", "「stepz」はここでは使えない項目です（綴りをご確認ください）。"),
            ],
        ),
        (
            ('body: "992011"', "body: 992011"),
            [(3, "body", "文字列で指定してください。")],
        ),
        (
            (
                "approver: {position: section_chief}",
                "approver: {position: section_chief, role: mayor}",
            ),
            [
                (
                    9,
                    "steps[0].approver.role",
                    '次のいずれかを指定してください: "case_worker", "approver", "records_officer", "procedure_author", "administrator"',
                )
            ],
        ),
        (
            ("greater_than: 500000}", "greater: 500000}"),
            [
                (
                    12,
                    "steps[1].when.greater",
                    "「greater」はここでは使えない項目です（綴りをご確認ください）。",
                )
            ],
        ),
        (
            ("greater_than: 500000}", "greater_than: 五十万}"),
            [(12, "steps[1].when.greater_than", "数で指定してください。")],
        ),
        (
            ("id: kacho", "id: kakaricho"),
            [(15, "steps[2].id", "段階「kakaricho」は steps[0] と重複しています。")],
        ),
        (
            ("    approver: {position: section_chief}\n", "    approver: {unit: shomei}\n"),
            [
                (
                    9,
                    "steps[0].approver",
                    "承認者は position（職）か role（役割）で指定してください。",
                )
            ],
        ),
        (
            ("    approver: {position: section_chief}\n", ""),
            [
                (
                    7,
                    "steps[0]",
                    "段階には approver（1人の承認）か consult（合議）のどちらか一方を書いてください。",
                )
            ],
        ),
        (
            ("field: amount", "field: amout"),
            [
                (
                    12,
                    "steps[1].when.field",
                    "条件が参照する「amout」は使えません。使える項目: amount、attachments、drafter_position、drafter_rank",
                )
            ],
        ),
        (
            ("position: director, unit: zaisei", "position: mayor, unit: zaisei"),
            [
                (
                    14,
                    "steps[1].consult[0].position",
                    "職「mayor」は登録されていません。登録済み: chief, deputy_director, director, director_general, section_chief, staff",
                )
            ],
        ),
        (
            ("unit: zaisei", "unit: zaisai"),
            [
                (
                    14,
                    "steps[1].consult[0].unit",
                    "あおば市に組織コード「zaisai」の組織がありません。",
                )
            ],
        ),
        (
            ('body: "992011"', 'body: "990001"'),
            [
                (
                    14,
                    "steps[1].consult[0].unit",
                    "さくら県に組織コード「zaisei」の組織がありません。",
                )
            ],
        ),
        (
            ('body: "992011"', 'body: "999999"'),
            [(3, "body", "団体コード 999999 の団体が登録されていません。")],
        ),
    ],
)
def test_bad_definitions_name_the_line_and_the_path(sample, change, expected):
    old, new = change
    assert old in GOOD
    assert problems_of(GOOD.replace(old, new, 1)) == expected


def test_final_rules_are_checked(sample):
    text = GOOD + textwrap.dedent(
        """\
        final:
          - when: {field: amount, greater_than: 1000000}
            step: bucho
          - step: gogi
          - step: kacho
            when: {field: amount, less_than: 1}
        """
    )
    found = problems_of(text)
    assert (
        20,
        "final[0].step",
        "段階「bucho」がありません（steps の id を指定してください）。",
    ) in found
    assert (
        21,
        "final[1].step",
        "決裁権者には合議（consult）ではなく approver の段階を指定してください。",
    ) in found
    assert any(path == "final[1]" and "最後に置いて" in ja for _line, path, ja in found)
    assert any(path == "final[2]" and "when を付けないで" in ja for _line, path, ja in found)


def test_a_route_ending_in_a_consultation_needs_a_final_approver(sample):
    text = GOOD.split("  - id: kacho")[0]
    assert problems_of(text) == [
        (
            10,
            "steps[1]",
            "最後の段階が決裁権者になります。合議ではなく approver の段階にするか、final で決裁権者を指定してください。",
        )
    ]


def test_optional_is_only_for_a_step_in_the_drafters_unit(sample):
    text = GOOD.replace(
        "      - {position: director, unit: zaisei}\n",
        "      - {position: director, unit: zaisei}\n    optional: true\n",
    )
    assert problems_of(text) == [
        (
            15,
            "steps[1].optional",
            "optional は、起案者の組織（unit: drafter）の approver の段階にだけ使えます。",
        )
    ]


def test_yaml_problems_and_encodings(sample, tmp_path):
    assert problems_of("steps: [\n")[0][1] == ""
    assert problems_of("id: a\nid: b\n")[0][2] == "キー「id」が重複しています。"
    assert problems_of("")[0][2] == "ファイルが空です。"
    cp932 = tmp_path / "sjis.yaml"
    cp932.write_bytes(GOOD.encode("cp932"))
    _valid, problems = validation.check_path(cp932)
    assert "Shift_JIS/CP932" in problems[0].ja and problems[0].line == 4
    missing = validation.check_path(tmp_path / "nowhere")[1]
    assert missing[0].ja == "ファイルまたはフォルダがありません。"


def test_two_files_defining_one_route_are_refused(sample, tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    _valid, problems = validation.check_path(tmp_path)
    assert [(Path(p.file).name, p.path) for p in problems] == [("b.yaml", "id")]


def test_loading_is_all_or_nothing_and_versioned(sample, tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    broken = GOOD.replace("id: finance", "id: other").replace("steps:", "stepz:")
    (tmp_path / "bad.yaml").write_text(broken, encoding="utf-8")
    before = RouteVersion.objects.count()
    with pytest.raises(services.RoutesRejected) as rejected:
        services.load_routes(tmp_path)
    assert {Path(p.file).name for p in rejected.value.problems} == {"bad.yaml"}
    assert RouteVersion.objects.count() == before
    (tmp_path / "bad.yaml").unlink()
    report = services.load_routes(tmp_path)
    assert report.created == ["992011/finance"]
    assert services.load_routes(tmp_path).unchanged == ["992011/finance"]
    (tmp_path / "good.yaml").write_text(
        GOOD.replace("財政課合議", "財政課との合議"), encoding="utf-8"
    )
    assert services.load_routes(tmp_path).new_versions == ["992011/finance"]
    route = Route.objects.get(identifier="finance")
    assert [v.number for v in route.versions.all()] == [1, 2]
    assert route.current_version.number == 2
    published = Event.objects.filter(
        event_type="approval.route_version_published", subject_id=str(route.pk)
    )
    assert [e.details["version"] for e in published.order_by("id")] == [1, 2]
    with pytest.raises(ValueError):
        route.current_version.save()


def test_the_routes_command(sample, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("field: amount", "field: amout"), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("routes", "check", str(bad), stderr=err)
    assert failed.value.returncode == 1
    assert f"{bad}:12: steps[1].when.field: 条件が参照する「amout」は使えません。" in err.getvalue()
    assert "The condition refers to unknown fact 'amout'" in err.getvalue()
    with pytest.raises(CommandError):
        call_command("routes", "load", str(bad), stderr=io.StringIO())
    bad.write_text(GOOD, encoding="utf-8")
    out = io.StringIO()
    call_command("routes", "load", str(tmp_path), stdout=out)
    assert "created      992011/finance v1" in out.getvalue()
    listing = io.StringIO()
    call_command("routes", "list", stdout=listing)
    assert "992011/finance  v1  財務会計" in listing.getvalue()
    assert "992011/certificate-standard  v1" in listing.getvalue()


def test_the_json_schema_is_a_valid_schema():
    import jsonschema

    schema = validation.schema()
    jsonschema.validators.validator_for(schema).check_schema(schema)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from(["drafter", "director", "amount"]),
)
_keys = st.sampled_from(
    [
        "schema_version",
        "id",
        "body",
        "name",
        "steps",
        "final",
        "label",
        "approver",
        "consult",
        "when",
        "field",
        "equals",
        "greater_than",
        "position",
        "role",
        "unit",
        "step",
        "all",
        "not",
        "optional",
        "subjects",
    ]
)
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=25,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(_keys, _values, max_size=8))
def test_the_checker_never_fails_on_any_structure(sample, data):
    text = yaml.safe_dump(data, allow_unicode=True)
    result, problems = validation.check_text(text, "fuzz.yaml", require_body=True)
    assert (result is None) == bool(problems)
    for problem in problems:
        assert problem.ja and problem.en and problem.format().startswith("fuzz.yaml")
