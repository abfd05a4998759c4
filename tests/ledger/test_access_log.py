"""Access logs: staff looking at a person's data is recorded, ledgered and shown to them."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from madoguchi.ledger.models import AccessLog, Entry, Event, ImmutableError
from madoguchi.ledger.services import AccessLogError, log_access, log_accesses, sequence_now
from madoguchi.organisation.models import Unit

from ..conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def shiminka(sample):
    return Unit.objects.get(body__code="992011", code="shiminka")


def test_an_access_is_recorded_with_the_staff_members_role_and_ledgered(
    hanako, shimin_staff, shiminka
):
    access = log_access(
        actor=shimin_staff,
        unit=shiminka,
        subject_user=hanako,
        what="application",
        object_type="application",
        object_id="3f0c1e9a-0000-4000-8000-000000000001",
        purpose="review",
    )
    assert access.position == "staff"
    assert access.roles == ["case_worker"]
    event = access.event
    assert event.event_type == "access.logged"
    assert (event.actor_kind, event.actor_id) == ("staff", str(shimin_staff.pk))
    assert (event.subject_type, event.subject_id) == ("person", str(hanako.pk))
    assert event.details == {
        "what": "application",
        "object_type": "application",
        "object_id": "3f0c1e9a-0000-4000-8000-000000000001",
        "purpose": "review",
        "unit": "shiminka",
    }
    sequence_now()
    leaf = json.loads(bytes(Entry.objects.get(event=event).leaf))
    # Neither the staff member's nor the resident's account id is published.
    assert "id" not in leaf["subject"]
    assert leaf["subject"]["type"] == "person" and len(leaf["subject"]["ref"]) == 32
    assert leaf["actor"]["ref"] != str(shimin_staff.pk) and len(leaf["actor"]["ref"]) == 32
    assert leaf["details"]["purpose"] == "review"


def test_my_number_needs_a_purpose_and_unknown_values_are_refused(hanako, shimin_staff, shiminka):
    base = {"actor": shimin_staff, "unit": shiminka, "subject_user": hanako}
    with pytest.raises(AccessLogError) as refused:
        log_access(**base, what="my_number", object_type="application", object_id="x")
    assert refused.value.code == "purpose_required"
    assert "利用目的" in refused.value.ja
    with pytest.raises(AccessLogError):
        log_access(**base, what="peek", object_type="application", object_id="x", purpose="review")
    with pytest.raises(AccessLogError):
        log_access(**base, what="profile", object_type="user", object_id="x", purpose="curiosity")
    assert not AccessLog.objects.exists()
    ok = log_access(
        **base, what="my_number", object_type="application", object_id="x", purpose="review"
    )
    assert ok.purpose == "review"


def test_a_profile_access_keeps_the_person_id_out_of_the_details(hanako, shimin_staff, shiminka):
    access = log_access(
        actor=shimin_staff,
        unit=shiminka,
        subject_user=hanako,
        what="profile",
        object_type="user",
        object_id=hanako.pk,
        purpose="counter",
    )
    assert "object_id" not in access.event.details


def test_an_export_records_one_access_per_person(hanako, taro, shimin_staff, shiminka):
    count = log_accesses(
        actor=shimin_staff,
        unit=shiminka,
        what="export",
        purpose="review",
        items=[(hanako, "application", "a-1"), (taro.pk, "application", "a-2")],
    )
    assert count == 2
    assert sorted(AccessLog.objects.values_list("subject_user__email", flat=True)) == [
        "hanako@example.jp",
        "taro@example.jp",
    ]
    assert Event.objects.filter(event_type="access.logged").count() == 2
    assert sequence_now().appended >= 2


def test_access_logs_cannot_be_changed_or_removed_through_the_models(
    hanako, shimin_staff, shiminka
):
    access = log_access(
        actor=shimin_staff,
        unit=shiminka,
        subject_user=hanako,
        what="attachment",
        object_type="application",
        object_id="a",
        purpose="review",
    )
    access.purpose = "audit"
    with pytest.raises(ImmutableError):
        access.save()
    with pytest.raises(ImmutableError):
        access.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
def test_the_database_refuses_to_change_or_delete_an_access_log(hanako, shimin_staff, shiminka):
    access = log_access(
        actor=shimin_staff,
        unit=shiminka,
        subject_user=hanako,
        what="attachment",
        object_type="application",
        object_id="a",
        purpose="review",
    )
    for statement in (
        "UPDATE ledger_accesslog SET purpose = 'audit' WHERE id = %s",
        "DELETE FROM ledger_accesslog WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [access.pk])
    assert AccessLog.objects.get(pk=access.pk).purpose == "review"


def test_the_resident_sees_who_looked_when_and_why(hanako, taro, shimin_staff, shiminka, settings):
    log_access(
        actor=shimin_staff,
        unit=shiminka,
        subject_user=hanako,
        what="application",
        object_type="application",
        object_id="3f0c1e9a-0000-4000-8000-000000000001",
        purpose="review",
    )
    sequence_now()
    page = login(hanako).get(reverse("access_log:mine"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "あおば市" in text and "市民課" in text
    assert "担当職員" in text  # the role
    assert "審査・確認のため" in text  # the purpose
    assert "申請の内容" in text
    assert "鈴木" not in text  # names only where the body's policy allows
    assert "第" in text and "項目" in text  # the ledger entry
    # Another resident sees nothing of it.
    assert "市民課" not in login(taro).get(reverse("access_log:mine")).content.decode()
    # With the body's policy, the name is shown too.
    settings.MADOGUCHI_ACCESS_LOG_NAMES_FOR = ["992011"]
    assert "鈴木 一郎" in login(hanako).get(reverse("access_log:mine")).content.decode()


def test_the_access_log_page_needs_a_log_in(client):
    response = client.get(reverse("access_log:mine"))
    assert response.status_code == 302
    assert "/account/login/" in response["Location"]


def test_a_director_opening_a_sections_application_shows_the_directors_role(hanako, sample):
    from madoguchi.identity.models import User

    director = User.objects.get(email="shimin.kacho@aoba.example.jp")  # 市民課長
    section = Unit.objects.get(body__code="992011", code="shomei")  # 証明係, under 市民課
    access = log_access(
        actor=director,
        unit=section,
        subject_user=hanako,
        what="application",
        object_type="application",
        object_id="a",
        purpose="decision",
    )
    assert access.position == "director" and access.roles == ["approver"]
    assert access.unit == section
