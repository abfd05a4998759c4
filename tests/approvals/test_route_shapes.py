"""Every route shape the issue names: sequential, 合議, 代決, 差戻し, 引上げ, conditional
steps and 専決 — each run through the services, with its ledger events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.approvals import selectors, services
from madoguchi.approvals.models import ApprovalStep, InstanceState, StepState
from madoguchi.ledger.models import Event
from madoguchi.organisation import services as organisation

from .conftest import approve, new_staff, only_pending, pending, start, unit

pytestmark = pytest.mark.django_db

SEQUENTIAL = """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief, unit: shomei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""


def events(instance) -> list[str]:
    return list(
        Event.objects.filter(subject_type="approval", subject_id=str(instance.pk))
        .order_by("id")
        .values_list("event_type", flat=True)
    )


def test_sequential_route_passes_each_step_in_order_and_completes(people, route, recorder):
    version = route(SEQUENTIAL)
    instance = start(version, people.tanto)
    assert [stage["key"] for stage in instance.stages] == ["kakaricho", "kacho"]
    first = only_pending(instance)
    assert (first.key, first.unit.code, first.position) == ("kakaricho", "shomei", "section_chief")
    # The 課長 cannot act before the 係長: the step is not theirs yet.
    assert selectors.actionable_steps(people.kacho) == []
    assert [item.step for item in selectors.actionable_steps(people.kakaricho)] == [first]

    instance = approve(instance, people.kakaricho, comment="確認しました。")
    assert instance.state == InstanceState.IN_PROGRESS and instance.current_stage == 1
    second = only_pending(instance)
    assert second.key == "kacho" and second.is_final
    assert recorder.calls == []

    instance = approve(instance, people.kacho)
    assert instance.state == InstanceState.COMPLETED and instance.completed_at
    assert recorder.calls == [("completed", instance.subject_id, people.kacho.pk)]
    assert events(instance) == [
        "approval.started",
        "approval.step_approved",
        "approval.step_approved",
        "approval.completed",
    ]
    approved = Event.objects.filter(event_type="approval.step_approved").first()
    assert approved.details["step"] == "kakaricho" and approved.details["on_behalf_of"] is None
    # The comment is on the step; the ledger has its hash, never the text.
    assert ApprovalStep.objects.get(key="kakaricho", instance=instance).comment == "確認しました。"
    assert approved.content_sha256 and "確認" not in str(approved.details)


CONSULTATION = """
steps:
  - id: gogi
    label: 合議
    consult:
      - {position: director, unit: somuka}
      - {position: director, unit: zaisei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""


def test_consultation_needs_every_unit_and_runs_in_parallel(people, route, recorder):
    instance = start(route(CONSULTATION), people.tanto)
    steps = pending(instance)
    assert sorted(step.unit.code for step in steps) == ["somuka", "zaisei"]
    # Both consulted units have the item in their lists at the same time.
    assert len(selectors.actionable_steps(people.somu)) == 1
    assert len(selectors.actionable_steps(people.zaisei)) == 1
    somu_step = next(step for step in steps if step.unit.code == "somuka")
    instance = services.approve_step(step=somu_step, actor=people.somu, expected_version=1)
    # One unit agreeing is not enough.
    assert instance.current_stage == 0
    assert [step.unit.code for step in pending(instance)] == ["zaisei"]
    zaisei_step = pending(instance)[0]
    instance = services.approve_step(step=zaisei_step, actor=people.zaisei, expected_version=1)
    assert instance.current_stage == 1
    assert only_pending(instance).key == "kacho"
    approve(instance, people.kacho)
    assert recorder.names() == ["completed"]


def test_a_consulted_unit_that_disagrees_ends_the_stage(people, route, recorder):
    instance = start(route(CONSULTATION), people.tanto)
    somu_step = next(step for step in pending(instance) if step.unit.code == "somuka")
    zaisei_step = next(step for step in pending(instance) if step.unit.code == "zaisei")
    services.approve_step(step=somu_step, actor=people.somu, expected_version=1)
    instance = services.return_step(
        step=zaisei_step,
        actor=people.zaisei,
        expected_version=1,
        comment="予算科目が違います。",
        to="previous",
    )
    # From the first stage, "previous" is the drafter.
    assert instance.state == InstanceState.RETURNED
    assert pending(instance) == []
    assert recorder.names() == ["returned"]
    assert selectors.actionable_steps(people.somu) == []


def test_a_consulted_unit_sees_only_what_it_is_asked_about(people, route, recorder):
    instance = start(route(CONSULTATION), people.tanto)
    other = start(route(SEQUENTIAL, identifier="plain"), people.tanto)
    assert selectors.can_view(people.zaisei, instance)
    assert not selectors.can_view(people.zaisei, other)
    # Staff of an unrelated unit and of another body see neither.
    assert not selectors.can_view(people.kankyo, instance)
    assert not selectors.can_view(people.minato, instance)
    assert selectors.instance_for(people.kankyo, instance.pk) is None
    # The drafting unit and the units above it see both.
    assert selectors.can_view(people.bucho, instance) and selectors.can_view(people.bucho, other)


# --- 代決 -------------------------------------------------------------------------------


def test_a_deputy_approves_for_an_absent_approver_and_both_are_recorded(people, route, recorder):
    version = route(SEQUENTIAL)
    instance = start(version, people.tanto)
    instance = approve(instance, people.kakaricho)
    # The sample names the 課長補佐 as the 市民課長's deputy for two weeks.
    items = selectors.actionable_steps(people.hosa)
    assert [(item.step.key, item.on_behalf_of) for item in items] == [("kacho", people.kacho)]
    instance = approve(instance, people.hosa, comment="課長不在のため代決")
    assert instance.state == InstanceState.COMPLETED
    step = ApprovalStep.objects.get(instance=instance, key="kacho")
    assert (step.acted_by, step.acted_for) == (people.hosa, people.kacho)
    event = Event.objects.filter(event_type="approval.step_approved").last()
    assert event.actor_id == str(people.hosa.pk)
    assert event.details["on_behalf_of"] == {"person": "staff", "id": str(people.kacho.pk)}
    assert list(selectors.deputy_actions(people.kacho)) == [step]


def test_the_approver_keeps_acting_during_the_delegation(people, route, recorder):
    instance = start(route(SEQUENTIAL), people.tanto)
    approve(instance, people.kakaricho)
    instance = approve(instance, people.kacho)
    step = ApprovalStep.objects.get(instance=instance, key="kacho")
    assert (step.acted_by, step.acted_for) == (people.kacho, None)


def test_no_deputy_outside_the_period_or_after_cancellation(people, route, recorder):
    version = route(SEQUENTIAL)
    instance = start(version, people.tanto)
    approve(instance, people.kakaricho)
    step = only_pending(instance)
    later = timezone.now() + dt.timedelta(days=30)
    assert selectors.actionable_steps(people.hosa, at=later) == []
    assert not selectors.authority(people.hosa, step, at=later).allowed
    delegation = people.kacho.delegations_given.get()
    organisation.cancel_delegation(actor=people.kacho, delegation=delegation)
    assert selectors.actionable_steps(people.hosa) == []
    with pytest.raises(services.NotAllowed) as refused:
        services.approve_step(step=step, actor=people.hosa, expected_version=step.version)
    assert refused.value.status == 403
    assert only_pending(instance) == step


def test_a_delegation_is_not_passed_on(people, route, recorder):
    instance = start(route(SEQUENTIAL), people.tanto)
    approve(instance, people.kakaricho)
    now = timezone.now()
    organisation.create_delegation(
        actor=None,
        principal=people.hosa,
        deputy=people.bucho,
        starts_at=now,
        ends_at=now + dt.timedelta(days=3),
        body=people.hosa.memberships.first().unit.body,
    )
    # 部長 is the 課長補佐's deputy, and the 課長補佐 the 課長's: the 部長 gets nothing.
    assert selectors.actionable_steps(people.bucho) == []


def test_a_delegation_limited_to_a_unit_reaches_only_that_unit(people, route, recorder):
    # The 市民課長 also heads 総務課 (兼務) and delegates only 市民課.
    delegation = people.kacho.delegations_given.get()
    organisation.cancel_delegation(actor=None, delegation=delegation)
    organisation.add_membership(
        actor=None, user=people.kacho, unit=unit("zaisei"), position="director"
    )
    now = timezone.now()
    organisation.create_delegation(
        actor=None,
        principal=people.kacho,
        deputy=people.hosa,
        starts_at=now,
        ends_at=now + dt.timedelta(days=3),
        body=people.kacho.memberships.first().unit.body,
        unit=unit("shiminka"),
    )
    zaisei_route = route(
        """
steps:
  - id: zaisei
    label: 財政課長決裁
    approver: {position: director, unit: zaisei}
""",
        identifier="zaisei-only",
    )
    finance = start(zaisei_route, people.tanto)
    plain = start(route(SEQUENTIAL), people.tanto)
    approve(plain, people.kakaricho)
    keys = {
        (item.step.instance_id, item.step.key) for item in selectors.actionable_steps(people.hosa)
    }
    assert keys == {(plain.pk, "kacho")}
    assert not selectors.authority(people.hosa, only_pending(finance)).allowed


# --- 差戻し ------------------------------------------------------------------------------

THREE_STEPS = """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief, unit: shomei}
  - id: hosa
    label: 課長補佐審査
    approver: {position: deputy_director}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""


def test_return_to_the_previous_step_makes_it_act_again(people, route, recorder):
    delegation = people.kacho.delegations_given.get()
    organisation.cancel_delegation(actor=None, delegation=delegation)
    instance = start(route(THREE_STEPS), people.tanto)
    instance = approve(instance, people.kakaricho)
    instance = approve(instance, people.hosa)
    step = only_pending(instance)
    with pytest.raises(services.InvalidInput):
        services.return_step(step=step, actor=people.kacho, expected_version=1, comment="  ")
    instance = services.return_step(
        step=step, actor=people.kacho, expected_version=1, comment="金額の根拠を添付してください。"
    )
    assert instance.state == InstanceState.IN_PROGRESS and instance.current_stage == 1
    again = only_pending(instance)
    assert again.key == "hosa" and again.pk != step.pk
    # The 課長補佐's earlier approval no longer counts; the 係長's still does.
    assert ApprovalStep.objects.get(
        instance=instance, key="hosa", state=StepState.APPROVED
    ).superseded_at
    assert not ApprovalStep.objects.get(instance=instance, key="kakaricho").superseded_at
    instance = approve(instance, people.hosa)
    instance = approve(instance, people.kacho)
    assert instance.state == InstanceState.COMPLETED
    returned = Event.objects.get(event_type="approval.returned")
    assert returned.details["to"] == "previous" and returned.details["step"] == "kacho"
    assert recorder.names() == ["completed"]


def test_return_to_the_drafter_and_resubmit_starts_a_new_round(people, route, recorder):
    instance = start(route(SEQUENTIAL), people.tanto)
    instance = approve(instance, people.kakaricho)
    step = only_pending(instance)
    instance = services.return_step(
        step=step,
        actor=people.kacho,
        expected_version=1,
        comment="件名を直してください。",
        to="drafter",
    )
    assert instance.state == InstanceState.RETURNED
    assert recorder.names() == ["returned"]
    # Nobody can act on it now, and the approvers' earlier approvals no longer count.
    assert selectors.actionable_steps(people.kakaricho) == []
    assert not ApprovalStep.objects.filter(instance=instance, superseded_at__isnull=True).exists()
    with pytest.raises(services.NotAllowed):
        services.resubmit_approval(
            instance=instance, actor=people.kacho, expected_version=instance.version
        )
    instance = services.resubmit_approval(
        instance=instance, actor=people.tanto, expected_version=instance.version, title="直した件名"
    )
    assert (instance.state, instance.round, instance.current_stage) == (
        InstanceState.IN_PROGRESS,
        2,
        0,
    )
    assert instance.title == "直した件名"
    assert only_pending(instance).key == "kakaricho"
    approve(instance, people.kakaricho)
    instance = approve(instance, people.kacho)
    assert instance.state == InstanceState.COMPLETED
    assert Event.objects.filter(event_type="approval.resubmitted").count() == 1


def test_the_drafter_abandons_a_returned_subject(people, route, recorder):
    instance = start(route(SEQUENTIAL), people.tanto)
    step = only_pending(instance)
    instance = services.return_step(
        step=step, actor=people.kakaricho, expected_version=1, comment="不要です。", to="drafter"
    )
    instance = services.cancel_approval(
        instance=instance, actor=people.tanto, expected_version=instance.version
    )
    assert instance.state == InstanceState.CANCELLED
    assert recorder.names() == ["returned", "cancelled"]
    # A cancelled subject may go on a route again.
    services.start_approval(
        kind="test_subject",
        subject_id=instance.subject_id,
        route=instance.route_version,
        drafter=people.tanto,
        drafter_unit=instance.drafter_unit,
        title="もう一度",
    )


# --- 引上げ ------------------------------------------------------------------------------


def test_the_drafter_recalls_before_the_first_step_acts(people, route, recorder):
    instance = start(route(SEQUENTIAL), people.tanto)
    with pytest.raises(services.NotAllowed):
        services.recall_approval(instance=instance, actor=people.kakaricho, expected_version=1)
    instance = services.recall_approval(instance=instance, actor=people.tanto, expected_version=1)
    assert instance.state == InstanceState.RECALLED
    assert pending(instance) == []
    assert selectors.actionable_steps(people.kakaricho) == []
    assert recorder.names() == ["recalled"]
    instance = services.resubmit_approval(
        instance=instance, actor=people.tanto, expected_version=instance.version
    )
    assert instance.state == InstanceState.IN_PROGRESS and instance.round == 2


def test_no_recall_once_an_approver_has_acted(people, route, recorder):
    instance = start(route(SEQUENTIAL), people.tanto)
    instance = approve(instance, people.kakaricho)
    with pytest.raises(services.Conflict) as refused:
        services.recall_approval(
            instance=instance, actor=people.tanto, expected_version=instance.version
        )
    assert refused.value.status == 409 and "差戻し" in refused.value.ja
    assert only_pending(instance).key == "kacho"
    assert recorder.calls == []


# --- conditional steps and 専決 ---------------------------------------------------------

FINANCE = """
subjects: [test_subject]
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief, unit: shomei}
  - id: gogi
    label: 財政課合議
    when: {field: amount, greater_than: 500000}
    consult:
      - {position: director, unit: zaisei}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
  - id: bucho
    label: 部長決裁
    approver: {position: director_general}
final:
  - when: {field: amount, greater_than: 1000000}
    step: bucho
  - step: kacho
"""


@pytest.mark.parametrize(
    ("amount", "stages", "skipped"),
    [
        (100_000, ["kakaricho", "kacho"], [["gogi", "condition"], ["bucho", "after_final"]]),
        (800_000, ["kakaricho", "gogi", "kacho"], [["bucho", "after_final"]]),
        (5_000_000, ["kakaricho", "gogi", "kacho", "bucho"], []),
        (None, ["kakaricho", "kacho"], [["gogi", "condition"], ["bucho", "after_final"]]),
    ],
)
def test_conditional_steps_and_the_final_approver_follow_the_amount(
    people, route, recorder, amount, stages, skipped
):
    instance = start(route(FINANCE), people.tanto, context={"amount": amount})
    assert [stage["key"] for stage in instance.stages] == stages
    assert [[item["key"], item["reason"]] for item in instance.plan["skipped"]] == skipped
    finals = [stage["key"] for stage in instance.stages if stage["final"]]
    assert finals == [stages[-1]]
    by_key = {
        "kakaricho": people.kakaricho,
        "gogi": people.zaisei,
        "kacho": people.kacho,
        "bucho": people.bucho,
    }
    for key in stages:
        assert only_pending(instance).key == key
        instance = approve(instance, by_key[key])
    assert instance.state == InstanceState.COMPLETED
    started = Event.objects.get(event_type="approval.started", subject_id=str(instance.pk))
    assert started.details["stages"] == stages


def test_resubmitting_with_a_new_amount_plans_the_route_again(people, route, recorder):
    instance = start(route(FINANCE), people.tanto, context={"amount": 100_000})
    instance = services.recall_approval(instance=instance, actor=people.tanto, expected_version=1)
    instance = services.resubmit_approval(
        instance=instance,
        actor=people.tanto,
        expected_version=instance.version,
        context={"amount": 2_000_000},
    )
    assert [stage["key"] for stage in instance.stages] == ["kakaricho", "gogi", "kacho", "bucho"]


def test_steps_at_or_below_the_drafters_position_are_skipped(people, route, recorder):
    general = route(
        """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
    )
    # The 証明係長 drafts: no 係長 step for them; the 課長 (found above 証明係) decides.
    instance = start(general, people.kakaricho)
    assert [stage["key"] for stage in instance.stages] == ["kacho"]
    assert instance.plan["skipped"][0]["reason"] == "drafter_rank"
    assert only_pending(instance).unit.code == "shiminka"


def test_a_route_whose_final_approver_would_be_the_drafter_is_refused(people, route, recorder):
    general = route(
        """
steps:
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
    )
    with pytest.raises(services.CannotStart) as refused:
        start(general, people.kacho)
    assert "起案者ご本人" in refused.value.ja


def test_the_final_rule_can_send_a_directors_draft_to_the_director_general(people, route, recorder):
    version = route(
        """
steps:
  - id: kacho
    label: 課長決裁
    approver: {position: director}
  - id: bucho
    label: 部長決裁
    approver: {position: director_general}
final:
  - when: {field: drafter_rank, greater_than: 49}
    step: bucho
  - step: kacho
"""
    )
    assert [s["key"] for s in start(version, people.tanto).stages] == ["kacho"]
    by_director = start(version, people.kacho)
    assert [s["key"] for s in by_director.stages] == ["bucho"]
    assert by_director.plan["skipped"][0] == {
        "key": "kacho",
        "label": "課長決裁",
        "label_en": "",
        "reason": "drafter_rank",
    }


def test_an_optional_step_is_skipped_where_nobody_holds_it(people, route, recorder):
    version = route(
        """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief}
    optional: true
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
    )
    # 市民課 itself has no 係長 (the 係長 is in 証明係, below it).
    instance = start(version, people.tanto)
    assert [s["key"] for s in instance.stages] == ["kacho"]
    assert instance.plan["skipped"][0]["reason"] == "no_holder"
    chief = new_staff("kakari@aoba.example.jp", unit("shiminka"), "section_chief")
    assert chief is not None
    assert [s["key"] for s in start(version, people.tanto).stages] == ["kakaricho", "kacho"]


def test_a_step_nobody_can_take_refuses_the_start(people, route, recorder):
    version = route(
        """
steps:
  - id: kakaricho
    label: 係長審査
    approver: {position: section_chief}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
    )
    with pytest.raises(services.CannotStart) as refused:
        start(version, people.tanto)
    assert "係長審査" in refused.value.ja and "市民課" in refused.value.ja
    assert not Event.objects.filter(event_type="approval.started").exists()


def test_role_steps_and_named_units_of_another_body(people, route, recorder):
    version = route(
        """
steps:
  - id: records
    label: 文書管理担当の確認
    approver: {role: records_officer, unit: somuka}
  - id: minato
    label: みなと町の確認
    approver: {role: approver, unit: chominka, body: "993417"}
  - id: kacho
    label: 課長決裁
    approver: {position: director}
"""
    )
    from madoguchi.identity.models import User

    records = User.objects.get(email="bunsho@aoba.example.jp")
    instance = start(version, people.tanto)
    instance = approve(instance, records)
    # A shared route may name a unit of another body: that unit sees this item only.
    assert selectors.can_view(people.minato, instance)
    instance = approve(instance, people.minato)
    instance = approve(instance, people.kacho)
    assert instance.state == InstanceState.COMPLETED


def test_the_route_serves_only_the_kinds_it_lists(people, route, recorder):
    version = route(FINANCE)
    with pytest.raises(services.CannotStart):
        start(version, people.tanto, kind="internal_document")


def test_a_subject_is_on_one_route_at_a_time(people, route, recorder):
    version = route(SEQUENTIAL)
    instance = start(version, people.tanto)
    with pytest.raises(services.Conflict):
        services.start_approval(
            kind="test_subject",
            subject_id=instance.subject_id,
            route=version,
            drafter=people.tanto,
            drafter_unit=instance.drafter_unit,
            title="二重",
        )


def test_only_members_of_the_drafting_unit_may_draft(people, route, recorder):
    with pytest.raises(services.NotAllowed):
        start(route(SEQUENTIAL), people.kankyo, drafter_unit=unit("shiminka"))


def test_an_instance_keeps_its_route_version_when_the_route_changes(people, route, recorder):
    first = route(SEQUENTIAL)
    instance = start(first, people.tanto)
    second = route(SEQUENTIAL.replace("係長審査", "係長の審査"))
    assert second.number == first.number + 1
    instance.refresh_from_db()
    assert instance.route_version == first
    assert only_pending(instance).label == "係長審査"
