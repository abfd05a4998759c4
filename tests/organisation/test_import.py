"""Importing a real organisation from CSV: hundreds of units and thousands of staff, every
bad row reported with its file, row and column, and nothing imported unless every row is
right."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.identity.models import User
from madoguchi.ledger.models import Event
from madoguchi.organisation import csvimport, selectors, services
from madoguchi.organisation.models import RoleGrant, StaffMembership, Unit

pytestmark = pytest.mark.django_db

UNITS = """組織コード,名称,種別,上位組織コード,英語名称,文書記号
kikaku,企画部,部,,Planning Department,
seisaku,政策課,課,kikaku,Policy Division,青政
tokei,統計係,係,seisaku,,
"""
STAFF = """メールアドレス,氏名,組織コード,職,役割,主所属
seisaku.kacho@aoba.example.jp,政策 課長,seisaku,課長,決裁者,1
tokei.kakaricho@aoba.example.jp,統計 係長,tokei,係長,決裁者;担当職員,1
tokei.tanto@aoba.example.jp,統計 担当,tokei,担当,case_worker,
shimin.tanto@aoba.example.jp,鈴木 一郎,seisaku,担当,,0
"""


@pytest.fixture
def admin(sample) -> User:
    return User.objects.get(email="admin@aoba.example.jp")


@pytest.fixture
def aoba(sample):
    return selectors.body_by_code("992011")


def run(admin, aoba, units: str | bytes | None = None, staff: str | bytes | None = None, **options):
    encode = lambda text: text.encode() if isinstance(text, str) else text  # noqa: E731
    return services.import_organisation(
        actor=admin,
        body=aoba,
        units_csv=encode(units) if units is not None else None,
        staff_csv=encode(staff) if staff is not None else None,
        **options,
    )


def snapshot():
    return (
        Unit.objects.count(),
        StaffMembership.objects.count(),
        RoleGrant.objects.count(),
        User.objects.count(),
        Event.objects.count(),
    )


def test_units_and_staff_are_imported_with_their_positions_and_roles(admin, aoba):
    report = run(admin, aoba, UNITS, STAFF)
    assert (report.units_created, report.accounts_created, report.memberships_added) == (3, 3, 4)
    assert report.roles_granted == 4
    tokei = Unit.objects.get(body=aoba, code="tokei")
    assert tokei.path == "/992011/kikaku/seisaku/tokei/"
    assert Unit.objects.get(body=aoba, code="seisaku").document_symbol == "青政"
    chief = User.objects.get(email="tokei.kakaricho@aoba.example.jp")
    membership = chief.memberships.get()
    assert membership.position_id == "section_chief"
    assert membership.roles == ["approver", "case_worker"]
    # 兼務: the existing staff member gets a second, non-primary membership.
    suzuki = User.objects.get(email="shimin.tanto@aoba.example.jp")
    assert suzuki.memberships.count() == 2
    assert not suzuki.memberships.get(unit__code="seisaku").is_primary
    # Each change is ledgered as if made on the pages, by the administrator.
    created = Event.objects.filter(event_type="organisation.unit_created", actor_id=str(admin.pk))
    assert created.count() == 3
    assert Event.objects.filter(event_type="organisation.role_granted").count() >= 4


def test_importing_the_same_files_again_changes_nothing(admin, aoba):
    run(admin, aoba, UNITS, STAFF)
    before = snapshot()
    report = run(admin, aoba, UNITS, STAFF)
    assert (report.units_created, report.units_updated, report.units_unchanged) == (0, 0, 3)
    assert (report.memberships_added, report.roles_granted, report.roles_revoked) == (0, 0, 0)
    assert snapshot() == before


def test_a_changed_file_updates_moves_and_regrants(admin, aoba):
    run(admin, aoba, UNITS, STAFF)
    units = UNITS.replace("tokei,統計係,係,seisaku,,", "tokei,統計課,課,kikaku,,青統")
    staff = STAFF.replace("tokei,係長,決裁者;担当職員,1", "tokei,課長,決裁者,1")
    report = run(admin, aoba, units, staff)
    assert report.units_updated == 1 and report.positions_changed == 1
    assert report.roles_revoked == 1
    tokei = Unit.objects.get(body=aoba, code="tokei")
    assert (tokei.kind, tokei.path, tokei.document_symbol) == (
        "division",
        "/992011/kikaku/tokei/",
        "青統",
    )
    chief = User.objects.get(email="tokei.kakaricho@aoba.example.jp").memberships.get()
    assert chief.position_id == "director" and chief.roles == ["approver"]


def test_every_bad_row_is_reported_and_nothing_is_imported(admin, aoba):
    before = snapshot()
    units = (
        UNITS
        + "kikaku,重複,部,,,\nhoge,ほげ課,局,kikaku,,\nfuga,ふが課,課,nowhere,,\nBad Code,悪い課,課,,,\n"
    )
    staff = (
        STAFF
        + "not-an-email,誰か,seisaku,担当,,\n"
        + "x@aoba.example.jp,誰か,seisaku,社長,,\n"
        + "y@aoba.example.jp,誰か,seisaku,担当,市長,\n"
        + "z@aoba.example.jp,誰か,missing,担当,,\n"
        + "tokei.tanto@aoba.example.jp,統計 担当,tokei,担当,,\n"
    )
    with pytest.raises(services.ImportRejected) as rejected:
        run(admin, aoba, units, staff)
    found = [(p.file, p.row, p.column) for p in rejected.value.problems]
    assert found == [
        ("units.csv", 5, "組織コード"),
        ("units.csv", 6, "種別"),
        ("units.csv", 8, "組織コード"),
        ("staff.csv", 6, "メールアドレス"),
        ("staff.csv", 7, "職"),
        ("staff.csv", 8, "役割"),
        ("staff.csv", 10, "組織コード"),
    ]
    messages = [p.ja for p in rejected.value.problems]
    assert "組織コード「kikaku」は2行目と重複しています。" in messages
    assert any("職「社長」は登録されていません" in m for m in messages)
    assert any("役割「市長」はありません" in m for m in messages)
    assert any("4行目" in m for m in messages)  # the duplicate membership
    assert snapshot() == before
    assert rejected.value.status == 422


def test_references_between_rows_are_checked_after_the_rows(admin, aoba):
    before = snapshot()
    units = UNITS + "fuga,ふが課,課,nowhere,,\nloop_a,A,課,loop_b,,\nloop_b,B,課,loop_a,,\n"
    staff = STAFF + "z@aoba.example.jp,誰か,missing,担当,,\n"
    with pytest.raises(services.ImportRejected) as rejected:
        run(admin, aoba, units, staff)
    found = [(p.file, p.row, p.column, p.ja) for p in rejected.value.problems]
    assert found == [
        (
            "units.csv",
            5,
            "上位組織コード",
            "上位組織「nowhere」がファイルにも登録済みの組織にもありません。",
        ),
        ("units.csv", 6, "上位組織コード", "上位組織の指定が循環しています。"),
        ("units.csv", 7, "上位組織コード", "上位組織の指定が循環しています。"),
        (
            "staff.csv",
            6,
            "組織コード",
            "組織「missing」がファイルにも登録済みの組織（使用中）にもありません。",
        ),
    ]
    assert snapshot() == before


def test_a_failure_while_applying_rolls_everything_back(admin, aoba):
    """Rows that are each right can still fail together: here the staff file, with
    remove_missing, would end the administrator's own membership and so remove the
    body's last administrator. The units created before that are not kept."""
    before = snapshot()
    with pytest.raises(services.OrganisationError) as refused:
        run(admin, aoba, UNITS, STAFF, remove_missing=True)
    assert "最後のシステム管理者" in refused.value.ja
    assert snapshot() == before
    assert not Unit.objects.filter(code="kikaku").exists()


def test_remove_missing_ends_memberships_the_file_does_not_list(admin, aoba):
    staff = STAFF + "admin@aoba.example.jp,吉田 誠,dx,課長補佐,システム管理者,1\n"
    existing = StaffMembership.objects.filter(unit__body=aoba).count()
    report = run(admin, aoba, UNITS, staff, remove_missing=True)
    kacho = User.objects.get(email="shimin.kacho@aoba.example.jp")
    assert not kacho.memberships.exists()
    assert not selectors.has_role(kacho, "approver")
    # Other bodies are not touched.
    assert User.objects.get(email="chomin.tanto@minato.example.jp").memberships.exists()
    # Everyone of あおば市 but the administrator, whose row the file has.
    assert report.memberships_removed == existing - 1
    assert StaffMembership.objects.filter(unit__body=aoba).count() == 5


def test_a_dry_run_reports_and_changes_nothing(admin, aoba):
    before = snapshot()
    report = run(admin, aoba, UNITS, STAFF, dry_run=True)
    assert report.dry_run and report.units_created == 3 and report.memberships_added == 4
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "row", "message"),
    [
        ("名称,種別\n市民課,課\n", 1, "必須の列「組織コード」がありません。"),
        ("組織コード,名称,種別,部門\nx,X,課,y\n", 1, "見出し「部門」は使えません。"),
        ("組織コード,名称,名称,種別\nx,X,Y,課\n", 1, "見出し「名称」が重複しています。"),
        ("組織コード,名称,種別\nx,X,課,extra\n", 2, "列が多すぎます（見出しは3列、この行は4列）。"),
        ("", 1, "見出し行がありません。"),
    ],
)
def test_file_shape_problems_name_the_row(admin, aoba, content, row, message):
    with pytest.raises(services.ImportRejected) as rejected:
        run(admin, aoba, units=content)
    problem = rejected.value.problems[0]
    assert problem.row == row and problem.ja.startswith(message)


def test_excel_files_in_shift_jis_and_english_headers_are_read(admin, aoba):
    report = run(admin, aoba, units=UNITS.encode("cp932"))
    assert report.units_created == 3
    english = "code,name,kind,parent\nkouhou,広報課,division,somu\n"
    assert run(admin, aoba, units=english.encode("utf-8-sig")).units_created == 1


def test_a_file_that_is_not_text_is_refused(admin, aoba):
    with pytest.raises(services.ImportRejected) as rejected:
        run(admin, aoba, units=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert (
        "UTF-8 か Shift_JIS" in rejected.value.problems[0].ja
        or "CSV" in rejected.value.problems[0].ja
    )


def test_only_administrators_of_the_body_import(aoba, sample):
    kacho = User.objects.get(email="shimin.kacho@aoba.example.jp")
    with pytest.raises(services.NotPermitted):
        run(kacho, aoba, UNITS)
    minato = selectors.body_by_code("993417")
    with pytest.raises(services.NotPermitted):
        run(User.objects.get(email="admin@aoba.example.jp"), minato, UNITS)


def test_hundreds_of_units_and_thousands_of_staff(admin, aoba):
    lines = ["組織コード,名称,種別,上位組織コード"]
    for d in range(20):
        lines.append(f"bu{d},第{d}部,部,")
        for k in range(5):
            lines.append(f"ka{d}-{k},第{d}部第{k}課,課,bu{d}")
            for s in range(3):
                lines.append(f"kk{d}-{k}-{s},第{d}部第{k}課第{s}係,係,ka{d}-{k}")
    staff = ["メールアドレス,氏名,組織コード,職,役割"]
    for d in range(20):
        for k in range(5):
            staff.append(f"ka{d}-{k}@big.example.jp,課長{d}-{k},ka{d}-{k},課長,決裁者")
            for s in range(3):
                for n in range(6):
                    staff.append(
                        f"s{d}-{k}-{s}-{n}@big.example.jp,職員,kk{d}-{k}-{s},担当,担当職員"
                    )
    units_csv, staff_csv = "\n".join(lines) + "\n", "\n".join(staff) + "\n"
    assert len(lines) - 1 == 420 and len(staff) - 1 == 1900
    report = run(admin, aoba, units_csv, staff_csv)
    assert report.units_created == 420 and report.memberships_added == 1900
    assert Unit.objects.get(body=aoba, code="kk19-4-2").path == "/992011/bu19/ka19-4/kk19-4-2/"
    # One bad row among them: nothing of the next import happens.
    before = snapshot()
    bad = staff_csv.replace(
        "s7-3-1-4@big.example.jp,職員,kk7-3-1,担当", "s7-3-1-4@big.example.jp,職員,kk7-3-1,社長"
    )
    with pytest.raises(services.ImportRejected) as rejected:
        run(admin, aoba, units_csv.replace("第0部", "第零部"), bad)
    [problem] = rejected.value.problems
    assert problem.row == staff.index("s7-3-1-4@big.example.jp,職員,kk7-3-1,担当,担当職員") + 1
    assert snapshot() == before
    assert Unit.objects.get(body=aoba, code="bu0").name == "第0部"


def test_the_command_prints_every_problem_with_file_and_row(sample, tmp_path):
    units = tmp_path / "units.csv"
    units.write_text("組織コード,名称,種別\nok,良い課,課\nbad,悪い課,局\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "organisation", "import", "--body", "992011", "--units", str(units), stderr=err
        )
    assert failed.value.returncode == 1
    assert f"{units}:3: 種別:" in err.getvalue()
    assert not Unit.objects.filter(code="ok").exists()
    out = io.StringIO()
    units.write_text("組織コード,名称,種別\nok,良い課,課\n", encoding="utf-8")
    call_command(
        "organisation", "import", "--body", "992011", "--units", str(units), "--dry-run", stdout=out
    )
    assert "dry run" in out.getvalue() and not Unit.objects.filter(code="ok").exists()
    call_command("organisation", "import", "--body", "992011", "--units", str(units), stdout=out)
    assert Unit.objects.filter(code="ok").exists()
    listing = io.StringIO()
    call_command("organisation", "list", "--body", "992011", stdout=listing)
    assert "shiminka  市民課" in listing.getvalue()
    with pytest.raises(CommandError):
        call_command("organisation", "import", "--body", "000000", "--units", str(units))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400) | st.text(max_size=300).map(lambda text: text.encode("utf-8")))
def test_the_parsers_never_fail_on_any_bytes(data):
    units, problems = csvimport.parse_units(data)
    assert isinstance(units, list) and all(isinstance(p, csvimport.ImportProblem) for p in problems)
    staff, staff_problems = csvimport.parse_staff(data, positions={"担当": "staff"})
    assert all(row.position == "staff" for row in staff)
    for problem in problems + staff_problems:
        assert problem.ja and problem.en and problem.format()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
            st.text(min_size=1, max_size=20).filter(
                lambda t: t.strip() and "\n" not in t and "\r" not in t
            ),
            st.sampled_from(["部", "課", "係", "局"]),
        ),
        max_size=8,
    )
)
def test_every_row_is_either_accepted_or_reported(rows):
    buffer = io.StringIO()
    import csv

    writer = csv.writer(buffer)
    writer.writerow(["組織コード", "名称", "種別"])
    writer.writerows(rows)
    units, problems = csvimport.parse_units(buffer.getvalue().encode())
    if any(p.row is None for p in problems):
        # A problem of the whole file (a NUL: not text): no row is accepted.
        assert units == []
        return
    reported = {p.row for p in problems}
    accepted = {u.row for u in units}
    assert accepted.isdisjoint(reported)
    assert accepted | reported == set(range(2, len(rows) + 2)) - {
        index + 2 for index, row in enumerate(rows) if not any(cell.strip() for cell in row)
    }
