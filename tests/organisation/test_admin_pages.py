"""The administration pages: only a body's administrators reach them; units, members,
positions, delegations and the CSV import work through plain forms; a refused change
shows the page again with the message at the top, linked to its field."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.identity.models import User
from madoguchi.organisation import selectors
from madoguchi.organisation.models import Delegation, Position, StaffMembership, Unit

from ..conftest import login

pytestmark = pytest.mark.django_db


def assert_no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html


@pytest.fixture
def admin(sample):
    return login(User.objects.get(email="admin@aoba.example.jp"))


def test_only_administrators_of_the_body_reach_the_pages(sample, hanako):
    urls = [
        reverse("organisation:home"),
        reverse("organisation:body", args=["992011"]),
        reverse("organisation:unit", args=["992011", "shiminka"]),
        reverse("organisation:positions", args=["992011"]),
        reverse("organisation:import", args=["992011"]),
        reverse("organisation:grants", args=["992011"]),
    ]
    for email in ("shimin.kacho@aoba.example.jp", "chomin.tanto@minato.example.jp"):
        client = login(User.objects.get(email=email))
        for url in urls:
            assert client.get(url).status_code == 404, (email, url)
    for url in urls:
        assert login(hanako).get(url).status_code == 404
    client = login(User.objects.get(email="admin@aoba.example.jp"))
    assert client.get(reverse("organisation:body", args=["993417"])).status_code == 404
    home = client.get(reverse("organisation:home"))
    assert home.status_code == 302 and home["Location"] == reverse(
        "organisation:body", args=["992011"]
    )


def test_the_unit_tree_lists_every_unit(admin):
    response = admin.get(reverse("organisation:body", args=["992011"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("市民生活部") < html.index("市民課") < html.index("証明係")
    assert_no_inline_code(html)


def test_creating_a_unit_and_a_refusal_keeps_what_was_typed(admin):
    url = reverse("organisation:unit_new", args=["992011"])
    bad = admin.post(
        url, {"code": "Kouhou Ka", "name": "広報課", "kind": "division", "parent": "somu"}
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert 'href="#code"' in html and 'value="Kouhou Ka"' in html and 'value="広報課"' in html
    response = admin.post(
        url,
        {
            "code": "kouhou",
            "name": "広報課",
            "kind": "division",
            "parent": "somu",
            "document_symbol": "青広",
        },
    )
    assert response.status_code == 302
    kouhou = Unit.objects.get(code="kouhou")
    assert kouhou.parent.code == "somu" and kouhou.document_symbol == "青広"


def test_editing_moving_and_retiring_a_unit(admin):
    edit = reverse("organisation:unit_edit", args=["992011", "dx"])
    values = {"name": "デジタル推進課", "kind": "division", "parent": "shimin-seikatsu"}
    assert admin.post(edit, values).status_code == 302
    dx = Unit.objects.get(code="dx", body__code="992011")
    assert dx.name == "デジタル推進課" and dx.path == "/992011/shimin-seikatsu/dx/"
    cycle = admin.post(
        reverse("organisation:unit_edit", args=["992011", "shimin-seikatsu"]),
        {**values, "parent": "dx", "name": "市民生活部"},
    )
    assert cycle.status_code == 422 and 'href="#unit-parent"' in cycle.content.decode()
    # A unit with members cannot be retired; the message says why.
    refused = admin.post(
        reverse("organisation:unit_active", args=["992011", "shomei"]), {"active": "0"}
    )
    assert refused.status_code == 409 and "所属している職員がいる" in refused.content.decode()


def test_adding_a_member_updating_roles_and_removing(admin):
    url = reverse("organisation:member_add", args=["992011", "shomei"])
    bad = admin.post(url, {"email": "nope", "name": "新人", "position": "staff"})
    assert bad.status_code == 422 and 'href="#new-email"' in bad.content.decode()
    assert 'value="新人"' in bad.content.decode()
    response = admin.post(
        url,
        {
            "email": "shinjin@aoba.example.jp",
            "name": "新人 花",
            "position": "staff",
            "roles": ["case_worker"],
        },
    )
    assert response.status_code == 302
    membership = StaffMembership.objects.get(user__email="shinjin@aoba.example.jp")
    assert membership.roles == ["case_worker"]
    page = admin.get(reverse("organisation:unit", args=["992011", "shomei"])).content.decode()
    assert "新人 花" in page
    assert_no_inline_code(page)
    update = admin.post(
        reverse("organisation:member_update", args=["992011", membership.pk]),
        {"position": "chief", "roles": ["case_worker", "approver"]},
    )
    assert update.status_code == 302
    membership.refresh_from_db()
    assert membership.position_id == "chief" and membership.roles == ["approver", "case_worker"]
    removed = admin.post(reverse("organisation:member_remove", args=["992011", membership.pk]))
    assert removed.status_code == 302
    assert not StaffMembership.objects.filter(pk=membership.pk).exists()
    # A membership of another body is not found under this one.
    minato = StaffMembership.objects.filter(unit__body__code="993417").first()
    assert (
        admin.post(reverse("organisation:member_remove", args=["992011", minato.pk])).status_code
        == 404
    )


def test_the_grant_history_shows_grants_and_revocations(admin):
    membership = StaffMembership.objects.get(user__email="shimin.tanto@aoba.example.jp")
    admin.post(
        reverse("organisation:member_update", args=["992011", membership.pk]),
        {"position": "staff", "roles": []},
    )
    html = admin.get(reverse("organisation:grants", args=["992011"])).content.decode()
    assert "鈴木 一郎" in html and "担当職員" in html and "吉田 誠" in html


def test_adding_and_renaming_positions(admin):
    url = reverse("organisation:positions", args=["992011"])
    bad = admin.post(url, {"code": "shusa", "name": "主査", "rank": "二十五"})
    assert bad.status_code == 422 and 'href="#rank"' in bad.content.decode()
    assert 'value="主査"' in bad.content.decode()
    assert (
        admin.post(
            url, {"code": "shusa", "name": "主査", "name_en": "Senior staff", "rank": "25"}
        ).status_code
        == 302
    )
    shusa = Position.objects.get(code="shusa")
    assert (
        admin.post(
            url, {"position": shusa.pk, "name": "主査", "name_en": "", "rank": "26"}
        ).status_code
        == 302
    )
    shusa.refresh_from_db()
    assert shusa.rank == 26
    assert admin.post(url, {"position": "abc", "name": "x", "rank": "1"}).status_code == 404
    refused = admin.post(url, {"position": shusa.pk, "name": "課長", "rank": "26"})
    assert (
        refused.status_code == 422
        and f'href="#position-{shusa.pk}-name"' in refused.content.decode()
    )


def test_an_administrator_names_a_deputy_for_someone(admin):
    url = reverse("organisation:delegations", args=["992011"])
    bad = admin.post(
        url, {"principal": "nobody@example.jp", "deputy": "kodomo.tanto@aoba.example.jp"}
    )
    assert bad.status_code == 422 and 'href="#principal"' in bad.content.decode()
    from django.utils import timezone

    today = timezone.localdate()
    response = admin.post(
        url,
        {
            "principal": "kodomo.kacho@aoba.example.jp",
            "deputy": "kodomo.tanto@aoba.example.jp",
            "start_date": today.isoformat(),
            "end_date": (today + dt.timedelta(days=40)).isoformat(),
        },
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get(principal__email="kodomo.kacho@aoba.example.jp")
    assert delegation.created_by.email == "admin@aoba.example.jp"
    assert (
        admin.post(
            reverse("organisation:delegation_cancel", args=["992011", delegation.pk])
        ).status_code
        == 302
    )
    delegation.refresh_from_db()
    assert delegation.cancelled_at is not None


def test_importing_from_the_page_tries_first_then_applies(admin):
    url = reverse("organisation:import", args=["992011"])
    page = admin.get(url).content.decode()
    assert "組織コード,名称,種別" in page
    assert_no_inline_code(page)
    units = "組織コード,名称,種別,上位組織コード\nkouhou,広報課,課,somu\nbad,悪い課,局,somu\n"
    rejected = admin.post(
        url, {"units": SimpleUploadedFile("組織.csv", units.encode("cp932")), "mode": "apply"}
    )
    assert rejected.status_code == 422
    html = rejected.content.decode()
    assert "組織.csv" in html and "<td>3</td>" in html and "種別" in html
    assert 'href="#problems"' in html
    assert not Unit.objects.filter(code="kouhou").exists()
    good = units.replace("bad,悪い課,局,somu\n", "")
    tried = admin.post(
        url, {"units": SimpleUploadedFile("組織.csv", good.encode()), "mode": "dry_run"}
    )
    assert tried.status_code == 200 and "まだ何も変わっていません" in tried.content.decode()
    assert not Unit.objects.filter(code="kouhou").exists()
    applied = admin.post(
        url, {"units": SimpleUploadedFile("組織.csv", good.encode()), "mode": "apply"}
    )
    assert applied.status_code == 200 and "取り込んだ結果" in applied.content.decode()
    assert selectors.unit_by_code(selectors.body_by_code("992011"), "kouhou") is not None
    nothing = admin.post(url, {"mode": "apply"})
    assert nothing.status_code == 422 and 'href="#units"' in nothing.content.decode()
