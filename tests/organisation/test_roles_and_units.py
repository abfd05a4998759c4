"""The organisation as data: units and their subtrees, positions and their ranks, roles
and where they reach, and the ledger event of every change."""

from __future__ import annotations

import pytest

from madoguchi.identity.models import User
from madoguchi.ledger.models import Event
from madoguchi.organisation import selectors, services
from madoguchi.organisation.models import Position, Role, RoleGrant, StaffMembership, Unit

pytestmark = pytest.mark.django_db


def user(email: str) -> User:
    return User.objects.get(email=email)


def unit(code: str, body: str = "992011") -> Unit:
    return Unit.objects.get(body__code=body, code=code)


@pytest.fixture
def admin(sample) -> User:
    return user("admin@aoba.example.jp")


def test_the_built_in_positions_are_ranked(sample):
    ranks = [(p.name, p.rank) for p in Position.objects.all()]
    assert ranks == [
        ("担当", 10),
        ("主任", 20),
        ("係長", 30),
        ("課長補佐", 40),
        ("課長", 50),
        ("部長", 60),
    ]
    assert selectors.position_rank("director") > selectors.position_rank("section_chief")


def test_a_role_in_a_unit_reaches_the_units_below_it(sample):
    kacho = user("shimin.kacho@aoba.example.jp")  # approver in 市民課
    kakaricho = user("shimin.kakaricho@aoba.example.jp")  # approver in 証明係 (below 市民課)
    assert selectors.has_role(kacho, Role.APPROVER, unit=unit("shiminka"))
    assert selectors.has_role(kacho, Role.APPROVER, unit=unit("shomei"))
    assert selectors.has_role(kakaricho, Role.APPROVER, unit=unit("shomei"))
    assert not selectors.has_role(kakaricho, Role.APPROVER, unit=unit("shiminka"))
    assert not selectors.has_role(kacho, Role.APPROVER, unit=unit("kodomo-katei"))
    assert not selectors.has_role(kacho, Role.CASE_WORKER)
    assert {u.code for u in selectors.units_for_role(kacho, Role.APPROVER)} == {
        "shiminka",
        "shomei",
    }
    assert selectors.has_permission(kacho, "approvals.decide", unit=unit("shomei"))
    assert not selectors.has_permission(kacho, "organisation.manage")


def test_body_wide_roles_reach_every_unit_of_their_body_only(sample, admin):
    records = user("bunsho@aoba.example.jp")  # records officer in 総務課
    assert selectors.has_role(records, Role.RECORDS_OFFICER, unit=unit("kodomo-katei"))
    assert selectors.has_role(admin, Role.ADMINISTRATOR, unit=unit("shomei"))
    assert not selectors.has_role(admin, Role.ADMINISTRATOR, unit=unit("chominka", "993417"))
    assert (
        selectors.units_for_role(records, Role.RECORDS_OFFICER).count()
        == Unit.objects.filter(body__code="992011").count()
    )
    assert [b.code for b in selectors.bodies_for_role(admin, Role.ADMINISTRATOR)] == ["992011"]


def test_an_unknown_role_is_a_programming_error(sample):
    with pytest.raises(LookupError):
        selectors.has_role(user("admin@aoba.example.jp"), "mayor")


def test_membership_gives_the_subtree_to_see(sample):
    kacho = user("shimin.kacho@aoba.example.jp")
    assert {u.code for u in selectors.visible_units(kacho)} == {"shiminka", "shomei"}
    assert [u.code for u in selectors.ancestors(unit("shomei"))] == [
        "shomei",
        "shiminka",
        "shimin-seikatsu",
    ]


def test_granting_and_revoking_roles_is_ledgered_and_kept(sample, admin):
    tanto = user("shimin.tanto@aoba.example.jp")
    grant = services.grant_role(actor=admin, user=tanto, unit=unit("shiminka"), role=Role.APPROVER)
    assert selectors.has_role(tanto, Role.APPROVER, unit=unit("shiminka"))
    # Granting what is held changes nothing and records nothing.
    again = services.grant_role(actor=admin, user=tanto, unit=unit("shiminka"), role=Role.APPROVER)
    assert again == grant
    granted = Event.objects.filter(event_type="organisation.role_granted", subject_id=str(grant.pk))
    assert granted.count() == 1
    event = granted.get()
    assert (event.actor_kind, event.actor_id) == ("staff", str(admin.pk))
    assert event.details == {
        "user": {"person": "staff", "id": str(tanto.pk)},
        "unit": "shiminka",
        "role": "approver",
    }
    services.revoke_role(actor=admin, grant=grant)
    assert not selectors.has_role(tanto, Role.APPROVER)
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == admin
    assert Event.objects.filter(
        event_type="organisation.role_revoked", subject_id=str(grant.pk)
    ).exists()
    # The history keeps both; a new grant is a new row.
    services.grant_role(actor=admin, user=tanto, unit=unit("shiminka"), role=Role.APPROVER)
    assert RoleGrant.objects.filter(user=tanto, role=Role.APPROVER).count() == 2
    assert tanto.memberships.get(unit=unit("shiminka")).roles == ["approver", "case_worker"]


def test_roles_are_granted_only_to_members_and_only_by_administrators(sample, admin):
    tanto = user("shimin.tanto@aoba.example.jp")
    with pytest.raises(services.OrganisationError):
        services.grant_role(actor=admin, user=tanto, unit=unit("kodomo-katei"), role=Role.APPROVER)
    with pytest.raises(services.NotPermitted) as refused:
        services.grant_role(
            actor=user("shimin.kacho@aoba.example.jp"),
            user=tanto,
            unit=unit("shiminka"),
            role=Role.APPROVER,
        )
    assert refused.value.status == 403
    # An administrator of one body cannot grant in another.
    minato = user("chomin.tanto@minato.example.jp")
    with pytest.raises(services.NotPermitted):
        services.grant_role(
            actor=admin, user=minato, unit=unit("chominka", "993417"), role=Role.APPROVER
        )
    with pytest.raises(services.InvalidValue):
        services.grant_role(actor=admin, user=tanto, unit=unit("shiminka"), role="mayor")


def test_the_last_administrator_cannot_remove_themselves(sample, admin):
    grant = RoleGrant.objects.get(user=admin, role=Role.ADMINISTRATOR)
    with pytest.raises(services.OrganisationError) as refused:
        services.revoke_role(actor=admin, grant=grant)
    assert "最後のシステム管理者" in refused.value.ja
    assert selectors.has_role(admin, Role.ADMINISTRATOR)


def test_moving_a_unit_moves_its_subtree(sample, admin):
    shiminka = unit("shiminka")
    services.update_unit(actor=admin, unit=shiminka, parent=unit("somu"), name="市民窓口課")
    assert unit("shiminka").path == "/992011/somu/shiminka/"
    assert unit("shomei").path == "/992011/somu/shiminka/shomei/"
    event = Event.objects.get(event_type="organisation.unit_updated")
    assert event.details["changed"] == ["name", "parent"] and event.details["parent"] == "somu"
    # The subtree rule follows: the 総務部 now reaches 証明係.
    assert selectors.unit_covers(unit("somu"), unit("shomei"))


def test_a_unit_cannot_move_below_itself_or_to_another_body(sample, admin):
    with pytest.raises(services.InvalidValue):
        services.update_unit(actor=admin, unit=unit("shiminka"), parent=unit("shomei"))
    with pytest.raises(services.InvalidValue):
        services.update_unit(actor=admin, unit=unit("shiminka"), parent=unit("chominka", "993417"))
    assert unit("shiminka").path == "/992011/shimin-seikatsu/shiminka/"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": "Shimin Ka"}, "code"),
        ({"code": "shiminka"}, "code"),  # already used in the body
        ({"kind": "bureau"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "あ" * 101}, "name"),
        ({"document_symbol": "記" * 21}, "document_symbol"),
    ],
)
def test_bad_unit_values_are_refused_with_the_field(sample, admin, values, field):
    arguments = {"code": "kouhou", "name": "広報課", "kind": "division", **values}
    body = unit("somu").body
    with pytest.raises(services.InvalidValue) as refused:
        services.create_unit(actor=admin, body=body, parent=unit("somu"), **arguments)
    assert refused.value.field == field and refused.value.status == 422
    assert not Unit.objects.filter(code="kouhou").exists()


def test_units_are_retired_not_deleted(sample, admin):
    body = unit("somu").body
    kouhou = services.create_unit(
        actor=admin, body=body, code="kouhou", name="広報課", kind="division", parent=unit("somu")
    )
    services.enrol_staff(
        actor=admin, unit=kouhou, email="kouhou@aoba.example.jp", name="広報 担当", position="staff"
    )
    with pytest.raises(services.OrganisationError):
        services.set_unit_active(actor=admin, unit=kouhou, active=False)
    membership = StaffMembership.objects.get(unit=kouhou)
    services.remove_membership(actor=admin, membership=membership)
    services.set_unit_active(actor=admin, unit=kouhou, active=False)
    kouhou.refresh_from_db()
    assert not kouhou.is_active
    with pytest.raises(services.OrganisationError):
        services.add_membership(actor=admin, user=membership.user, unit=kouhou, position="staff")
    with pytest.raises(services.OrganisationError):
        services.set_unit_active(actor=admin, unit=unit("somu"), active=False)


def test_removing_a_membership_revokes_its_roles_first(sample, admin):
    kacho = user("shimin.kacho@aoba.example.jp")
    membership = kacho.memberships.get()
    services.remove_membership(actor=admin, membership=membership)
    assert not StaffMembership.objects.filter(user=kacho).exists()
    assert not selectors.has_role(kacho, Role.APPROVER)
    types = list(
        Event.objects.filter(event_type__startswith="organisation.")
        .order_by("id")
        .values_list("event_type", flat=True)
    )
    assert types[-2:] == ["organisation.role_revoked", "organisation.membership_removed"]


def test_a_second_membership_is_not_primary_and_positions_change(sample, admin):
    kacho = user("shimin.kacho@aoba.example.jp")
    second = services.add_membership(
        actor=admin, user=kacho, unit=unit("somuka"), position="deputy_director"
    )
    assert not second.is_primary and kacho.memberships.get(unit=unit("shiminka")).is_primary
    services.update_membership(
        actor=admin, membership=second, position="director", roles=["approver"]
    )
    second.refresh_from_db()
    assert second.position_id == "director" and second.roles == ["approver"]
    changed = Event.objects.get(event_type="organisation.position_changed")
    assert changed.details["from"] == "deputy_director" and changed.details["to"] == "director"
    with pytest.raises(services.InvalidValue):
        services.change_position(actor=admin, membership=second, position="mayor")


def test_administrators_add_positions_between_the_built_in_ones(sample, admin):
    body = unit("somu").body
    shusa = services.create_position(actor=admin, body=body, code="shusa", name="主査", rank=25)
    ordered = [p.code for p in selectors.positions()]
    assert ordered.index("shusa") == ordered.index("chief") + 1
    assert selectors.position_by_text("主査") == shusa
    services.update_position(actor=admin, body=body, position=shusa, name="主査", rank="35")
    shusa.refresh_from_db()
    assert shusa.rank == 35
    for values in (
        {"code": "Shusa"},
        {"code": "staff"},
        {"name": "係長"},
        {"rank": 0},
        {"rank": "十"},
    ):
        arguments = {"code": "jicho", "name": "次長", "rank": 55, **values}
        with pytest.raises(services.InvalidValue):
            services.create_position(actor=admin, body=body, **arguments)
    with pytest.raises(services.NotPermitted):
        services.create_position(
            actor=user("shimin.kacho@aoba.example.jp"),
            body=body,
            code="jicho",
            name="次長",
            rank=55,
        )
    assert Event.objects.filter(event_type="organisation.position_created").count() == 1


def test_enrolling_a_new_person_creates_their_account_without_a_password(sample, admin):
    membership = services.enrol_staff(
        actor=admin,
        unit=unit("shomei"),
        email="New.Staff@Aoba.example.jp",
        name="新人 太郎",
        position="staff",
        roles=["case_worker"],
    )
    created = membership.user
    assert created.email == "new.staff@aoba.example.jp" and not created.has_usable_password()
    assert created.display_name == "新人 太郎" and membership.roles == ["case_worker"]
    with pytest.raises(services.InvalidValue) as refused:
        services.enrol_staff(
            actor=admin, unit=unit("shomei"), email="not-an-address", name="", position="staff"
        )
    assert refused.value.field == "email"
    # No personal data in the events: ids and codes only.
    for event in Event.objects.filter(event_type__startswith="organisation."):
        assert "新人" not in str(event.details) and "new.staff" not in str(event.details)
