"""Four-eyes (nobody approves what they drafted or approved at another stage), and two
people acting on the same item: one wins, the other is told why (409), nothing changes."""

from __future__ import annotations

import pytest

from madoguchi.approvals import selectors, services
from madoguchi.approvals.models import ApprovalStep, InstanceState, StepState
from madoguchi.ledger.models import Event
from madoguchi.organisation import services as organisation

from .conftest import approve, make_member, only_pending, start, unit

pytestmark = pytest.mark.django_db

TWO_STEPS = """
steps:
  - id: first
    label: 課長補佐審査
    approver: {position: deputy_director, unit: shiminka}
  - id: second
    label: 課長決裁
    approver: {position: director, unit: shiminka}
"""


def test_nobody_approves_what_they_drafted(people, route, recorder):
    version = route(TWO_STEPS)
    # The 課長補佐 also belongs to 総務課 and drafts there; the route names 市民課.
    make_member(people.hosa, unit("somuka"), "staff")
    instance = start(version, people.hosa, drafter_unit=unit("somuka"))
    # Their own step has nobody else to take it: skipped, not left to them.
    assert instance.plan["skipped"][0]["key"] == "first"
    assert instance.plan["skipped"][0]["reason"] == "drafter"
    # The 課長's step they could take as the 課長's deputy, but not on their own draft.
    step = only_pending(instance)
    assert step.key == "second"
    authority = selectors.authority(people.hosa, step)
    assert not authority.allowed and "起案者" in authority.reason_ja
    with pytest.raises(services.NotAllowed) as refused:
        services.approve_step(step=step, actor=people.hosa, expected_version=1)
    assert refused.value.status == 403 and "四つの目" in refused.value.ja
    with pytest.raises(services.NotAllowed):
        services.return_step(step=step, actor=people.hosa, expected_version=1, comment="x")
    assert selectors.actionable_steps(people.hosa) == []


def test_nobody_approves_two_stages(people, route, recorder):
    version = route(TWO_STEPS)
    # The 課長補佐 is acting 課長 too (a second position in another unit would not do:
    # the steps name 市民課; here a deputy relation gives them the 課長's step).
    instance = start(version, people.tanto)
    instance = approve(instance, people.hosa)
    second = only_pending(instance)
    # The sample makes the 課長補佐 the 課長's deputy: still not the same person twice.
    authority = selectors.authority(people.hosa, second)
    assert not authority.allowed and "別の段階" in authority.reason_ja
    assert selectors.actionable_steps(people.hosa) == []
    with pytest.raises(services.NotAllowed):
        services.approve_step(step=second, actor=people.hosa, expected_version=1)
    instance = approve(instance, people.kacho)
    assert instance.state == InstanceState.COMPLETED


def test_a_deputy_cannot_approve_for_someone_who_approved_another_stage(people, route, recorder):
    version = route(TWO_STEPS)
    organisation.cancel_delegation(actor=None, delegation=people.kacho.delegations_given.get())
    import datetime as dt

    from django.utils import timezone

    # The 課長 is the 課長補佐's deputy this time.
    now = timezone.now()
    organisation.create_delegation(
        actor=people.hosa,
        principal=people.hosa,
        deputy=people.kacho,
        starts_at=now,
        ends_at=now + dt.timedelta(days=1),
        body=unit("shiminka").body,
    )
    instance = start(version, people.tanto)
    # The 課長 approves the first stage for the 課長補佐 …
    first = only_pending(instance)
    assert selectors.authority(people.kacho, first).on_behalf_of == people.hosa
    instance = approve(instance, people.kacho)
    # … and then cannot decide the second in their own right.
    assert not selectors.authority(people.kacho, only_pending(instance)).allowed


def test_a_stale_version_is_a_conflict_and_changes_nothing(people, route, recorder):
    version = route(TWO_STEPS)
    instance = start(version, people.tanto)
    step = only_pending(instance)
    with pytest.raises(services.Conflict):
        services.approve_step(step=step, actor=people.hosa, expected_version=7)
    assert only_pending(instance) == step


def test_the_second_of_two_approvers_is_told_who_acted_first(people, route, recorder):
    version = route(
        """
steps:
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
    )
    instance = start(version, people.tanto)
    step = only_pending(instance)
    # The 課長 and their deputy both open the item (version 1) …
    services.approve_step(step=step, actor=people.kacho, expected_version=1, comment="了")
    # … and the deputy's click arrives second.
    with pytest.raises(services.Conflict) as refused:
        services.return_step(
            step=step, actor=people.hosa, expected_version=1, comment="待ってください"
        )
    assert refused.value.status == 409
    assert "田中 健さんが承認しました" in refused.value.ja
    step.refresh_from_db()
    assert (step.state, step.acted_by, step.comment) == (StepState.APPROVED, people.kacho, "了")
    assert Event.objects.filter(event_type="approval.returned").count() == 0
    assert recorder.names() == ["completed"]


def test_recall_and_approval_racing_one_after_the_other(people, route, recorder):
    instance = start(route(TWO_STEPS), people.tanto)
    seen = instance.version
    approve(instance, people.hosa)
    with pytest.raises(services.Conflict):
        services.recall_approval(instance=instance, actor=people.tanto, expected_version=seen)
    assert ApprovalInstance_state(instance) == InstanceState.IN_PROGRESS


def ApprovalInstance_state(instance):
    instance.refresh_from_db()
    return instance.state


def test_acting_on_a_withdrawn_step_is_a_conflict(people, route, recorder):
    instance = start(route(TWO_STEPS), people.tanto)
    step = only_pending(instance)
    services.recall_approval(instance=instance, actor=people.tanto, expected_version=1)
    with pytest.raises(services.Conflict) as refused:
        services.approve_step(step=step, actor=people.hosa, expected_version=1)
    assert "引き上げ" in refused.value.ja
    assert ApprovalStep.objects.get(pk=step.pk).state == StepState.WITHDRAWN


def test_comments_with_control_characters_are_refused(people, route, recorder):
    instance = start(route(TWO_STEPS), people.tanto)
    step = only_pending(instance)
    with pytest.raises(services.InvalidInput) as refused:
        services.approve_step(step=step, actor=people.hosa, expected_version=1, comment="a\x00b")
    assert refused.value.status == 422
    with pytest.raises(services.InvalidInput):
        services.approve_step(step=step, actor=people.hosa, expected_version=1, comment="x" * 2001)
    assert only_pending(instance) == step
