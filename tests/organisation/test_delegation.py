"""代決: naming a deputy for a period, who may name whom, and `acting_for`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.identity.models import User
from madoguchi.ledger.models import Event
from madoguchi.organisation import selectors, services
from madoguchi.organisation.models import Unit

pytestmark = pytest.mark.django_db


def user(email: str) -> User:
    return User.objects.get(email=email)


@pytest.fixture
def pair(sample):
    return user("kodomo.kacho@aoba.example.jp"), user("kodomo.tanto@aoba.example.jp")


def body(code: str = "992011"):
    return selectors.body_by_code(code)


def test_a_deputy_acts_for_the_principal_only_during_the_period(pair):
    principal, deputy = pair
    start = timezone.now() + dt.timedelta(days=1)
    delegation = services.create_delegation(
        actor=principal,
        principal=principal,
        deputy=deputy,
        starts_at=start,
        ends_at=start + dt.timedelta(days=5),
        body=body(),
    )
    assert selectors.acting_for(deputy) == []
    assert selectors.acting_for(deputy, start + dt.timedelta(hours=1)) == [principal]
    assert selectors.acting_for(deputy, start + dt.timedelta(days=5)) == []
    # It works one way only.
    assert selectors.acting_for(principal, start + dt.timedelta(hours=1)) == []
    event = Event.objects.get(
        event_type="organisation.delegation_created", subject_id=str(delegation.pk)
    )
    assert event.details["principal"] == {"person": "staff", "id": str(principal.pk)}
    assert event.details["deputy"] == {"person": "staff", "id": str(deputy.pk)}
    services.cancel_delegation(actor=principal, delegation=delegation)
    assert selectors.acting_for(deputy, start + dt.timedelta(hours=1)) == []
    assert Event.objects.filter(event_type="organisation.delegation_cancelled").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"deputy": "kodomo.kacho@aoba.example.jp"}, "deputy"),  # oneself
        ({"deputy": "chomin.tanto@minato.example.jp"}, "deputy"),  # another body
        ({"deputy": "hanako@example.jp"}, "deputy"),  # a resident
        ({"ends": -2}, "ends_at"),  # in the past
        ({"ends": 0}, "ends_at"),  # ends before it starts
        ({"ends": 400}, "ends_at"),  # longer than a year
        ({"unit": "shiminka"}, "unit"),  # a unit the principal does not belong to
    ],
)
def test_bad_delegations_are_refused_with_the_field(pair, change, field):
    principal, deputy = pair
    deputy = user(change["deputy"]) if "deputy" in change else deputy
    now = timezone.now()
    starts = now - dt.timedelta(days=3) if change.get("ends") == -2 else now
    ends = now + dt.timedelta(days=change.get("ends", 3))
    if change.get("ends") == 0:
        ends = starts - dt.timedelta(minutes=1)
    unit = Unit.objects.get(body__code="992011", code=change["unit"]) if "unit" in change else None
    with pytest.raises(services.InvalidValue) as refused:
        services.create_delegation(
            actor=principal,
            principal=principal,
            deputy=deputy,
            starts_at=starts,
            ends_at=ends,
            body=body(),
            unit=unit,
        )
    assert refused.value.field == field
    assert Event.objects.filter(event_type="organisation.delegation_created").count() == 1


def test_only_the_principal_or_an_administrator_names_a_deputy(pair):
    principal, deputy = pair
    now = timezone.now()
    arguments = {
        "principal": principal,
        "deputy": deputy,
        "starts_at": now,
        "ends_at": now + dt.timedelta(days=1),
        "body": body(),
    }
    with pytest.raises(services.NotPermitted):
        services.create_delegation(actor=deputy, **arguments)
    delegation = services.create_delegation(actor=user("admin@aoba.example.jp"), **arguments)
    assert delegation.created_by.email == "admin@aoba.example.jp"
    with pytest.raises(services.NotPermitted):
        services.cancel_delegation(actor=deputy, delegation=delegation)


def test_the_sample_names_a_deputy_for_the_shimin_kacho(sample):
    kacho, hosa = user("shimin.kacho@aoba.example.jp"), user("shimin.hosa@aoba.example.jp")
    assert selectors.acting_for(hosa) == [kacho]
    assert selectors.delegation_between(kacho, hosa) is not None
    assert list(selectors.current_deputies(kacho).values_list("deputy__email", flat=True)) == [
        "shimin.hosa@aoba.example.jp"
    ]
