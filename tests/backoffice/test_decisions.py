"""Decisions: through the procedure's approval route (the case worker drafts, the route
decides, 差戻し and 引上げ send it back to review) or directly by an approver; the reason
and the 教示 reach the resident; a decided application changes only through the
recorded correction procedure (訂正, 取消し)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from madoguchi.approvals import selectors as approvals
from madoguchi.approvals import services as engine
from madoguchi.approvals.models import ApprovalInstance, InstanceState
from madoguchi.backoffice import services
from madoguchi.counter import services as counter
from madoguchi.counter.models import Application, Decision, State
from madoguchi.ledger.models import Event
from madoguchi.notifications.models import OutboundEmail

from ..conftest import login
from .conftest import submit_dog, submit_simple, user

pytestmark = pytest.mark.django_db


def _reviewing(application, staff):
    return services.start_review(application=application, staff=staff)


def _step_for(approver, application):
    decision = counter.pending_decision(application)
    for item in approvals.actionable_steps(approver):
        if item.step.instance.subject_id == str(decision.pk):
            return item
    return None


# --- through the route -------------------------------------------------------------------


def test_a_routed_decision_is_drafted_and_decided_by_the_route(hanako, kankyo_staff, kankyo_kacho):
    application = _reviewing(submit_dog(hanako), kankyo_staff)
    result = services.decide(
        application=application, staff=kankyo_staff, outcome="approve", comment="鑑札を郵送します"
    )
    assert result.routed
    application.refresh_from_db()
    assert application.state == State.AWAITING_APPROVAL
    instance = ApprovalInstance.objects.get(pk=result.decision.approval_reference)
    assert instance.kind == "application_decision" and instance.drafter == kankyo_staff
    # Four-eyes: the drafter has nothing to approve; the 課長 has.
    assert _step_for(kankyo_staff, application) is None
    item = _step_for(kankyo_kacho, application)
    assert item is not None
    # The 課長 (a step of the route) may see the application.
    assert (
        login(kankyo_kacho).get(reverse("backoffice:detail", args=[application.pk])).status_code
        == 200
    )
    engine.approve_step(step=item.step, actor=kankyo_kacho, expected_version=item.step.version)
    application.refresh_from_db()
    assert application.state == State.APPROVED and application.decided_at
    decision = Decision.objects.get(pk=result.decision.pk)
    assert decision.status == Decision.Status.FINAL and decision.decided_at
    event = Event.objects.get(
        subject_id=str(application.pk), event_type="application.route_approve"
    )
    assert event.details["approved_by"] == {"person": "staff", "id": str(kankyo_kacho.pk)}
    assert event.details["on_behalf_of"] is None
    assert event.details["route"] == str(instance.pk)
    assert OutboundEmail.objects.filter(
        template="decision_made", related_id=str(application.pk)
    ).exists()
    resident = login(hanako).get(reverse("counter:detail", args=[application.pk])).content
    assert "決定: 承認" in resident.decode() and "鑑札を郵送します" in resident.decode()


def test_returned_by_the_route_the_review_continues(hanako, kankyo_staff, kankyo_kacho):
    application = _reviewing(submit_dog(hanako), kankyo_staff)
    first = services.decide(
        application=application, staff=kankyo_staff, outcome="reject", reason="書類不足"
    )
    item = _step_for(kankyo_kacho, application)
    engine.return_step(
        step=item.step,
        actor=kankyo_kacho,
        expected_version=item.step.version,
        comment="理由を具体的に",
        to="drafter",
    )
    application.refresh_from_db()
    assert application.state == State.UNDER_REVIEW
    assert Decision.objects.get(pk=first.decision.pk).status == Decision.Status.WITHDRAWN
    # The returned instance is closed: the next draft starts a new one.
    instance = ApprovalInstance.objects.get(pk=first.decision.approval_reference)
    assert instance.state == InstanceState.CANCELLED
    second = services.decide(
        application=application,
        staff=kankyo_staff,
        outcome="reject",
        reason="マイクロチップの登録が確認できないため",
    )
    assert second.routed and second.decision.approval_reference != instance.pk.hex
    item = _step_for(kankyo_kacho, application)
    engine.approve_step(step=item.step, actor=kankyo_kacho, expected_version=item.step.version)
    application.refresh_from_db()
    decision = counter.current_decision(application)
    assert application.state == State.REJECTED and decision.pk == second.decision.pk
    # The dog registration defines no 教示 of its own: the default names the 市長.
    assert "あおば市長に対して審査請求" in decision.instruction
    page = login(hanako).get(reverse("counter:detail", args=[application.pk])).content.decode()
    assert "マイクロチップの登録が確認できないため" in page and "教示" in page


def test_the_drafter_recalls_the_draft_before_the_route_acts(hanako, kankyo_staff, kankyo_kacho):
    application = _reviewing(submit_dog(hanako), kankyo_staff)
    result = services.decide(application=application, staff=kankyo_staff, outcome="approve")
    with pytest.raises(services.Forbidden):
        services.recall_decision(application=application, staff=kankyo_kacho)
    services.recall_decision(application=application, staff=kankyo_staff)
    application.refresh_from_db()
    assert application.state == State.UNDER_REVIEW
    assert Decision.objects.get(pk=result.decision.pk).status == Decision.Status.WITHDRAWN
    assert Event.objects.filter(
        subject_id=str(application.pk), event_type="application.recall_decision"
    ).exists()
    assert _step_for(kankyo_kacho, application) is None


def test_withdrawn_while_in_the_route_the_route_stops(hanako, kankyo_staff, kankyo_kacho):
    application = _reviewing(submit_dog(hanako), kankyo_staff)
    result = services.decide(application=application, staff=kankyo_staff, outcome="approve")
    counter.withdraw_application(application=application, actor=hanako, reason="転居のため")
    application.refresh_from_db()
    assert application.state == State.WITHDRAWN
    assert Decision.objects.get(pk=result.decision.pk).status == Decision.Status.WITHDRAWN
    instance = ApprovalInstance.objects.get(pk=result.decision.approval_reference)
    assert instance.state == InstanceState.CANCELLED
    assert _step_for(kankyo_kacho, application) is None


def test_a_route_decision_needs_the_review_first(hanako, kankyo_staff):
    application = submit_dog(hanako)
    with pytest.raises(counter.StateNotAllowed):
        services.decide(application=application, staff=kankyo_staff, outcome="approve")
    assert Application.objects.get(pk=application.pk).state == State.SUBMITTED


def test_approval_of_a_pdf_deliverable_schedules_its_issuance(hanako, prefecture_staff):
    """おもいやり駐車場利用証 (deliverable: pdf), route: 障害福祉課長決裁."""
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.issuance.models import IssuedDocument

    from ..counter.helpers import fill_parking, submit
    from ..counter.uploads import png, upload

    client = login(hanako)
    application_id = fill_parking(client, [upload("手帳.png", png(100, 100))])
    submit(client, application_id)
    application = Application.objects.get(pk=application_id)
    assert procedure_by_identifier("990001", "omoiyari-parking") == application.procedure
    _reviewing(application, prefecture_staff)
    services.decide(application=application, staff=prefecture_staff, outcome="approve")
    kacho = user("fukushi.kacho@sakura.example.jp")
    item = _step_for(kacho, application)
    engine.approve_step(step=item.step, actor=kacho, expected_version=item.step.version)
    assert Application.objects.get(pk=application_id).state == State.APPROVED
    assert IssuedDocument.objects.filter(application_id=application_id).count() == 1


# --- directly (no route) -----------------------------------------------------------------


def test_a_direct_decision_needs_the_approver_role(
    simple_procedure, hanako, kankyo_staff, kankyo_kacho
):
    application = _reviewing(submit_simple(hanako), kankyo_staff)
    with pytest.raises(services.Forbidden) as refused:
        services.decide(application=application, staff=kankyo_staff, outcome="approve")
    assert refused.value.status == 403 and "決裁者" in refused.value.ja
    result = services.decide(
        application=application, staff=kankyo_kacho, outcome="reject", reason="作業時間が基準外"
    )
    assert not result.routed
    application.refresh_from_db()
    assert application.state == State.REJECTED
    # The procedure's own 教示, and its own e-mail text.
    assert result.decision.instruction.startswith("この決定に不服がある場合は、あおば市長")
    email = OutboundEmail.objects.get(template="decision_made", related_id=str(application.pk))
    assert email.subject == f"【不承認】特定建設作業の届出（見本）（{application.receipt_number}）"
    assert "あおば市 生活環境課です。" in email.body_text
    assert "作業時間が基準外" not in email.body_text  # the reason stays behind the log-in
    # The decision is filed in the records register.
    from madoguchi.records.models import Record

    assert Record.objects.filter(object_type="decision", object_id=str(result.decision.pk)).exists()


def test_reject_and_return_need_a_reason(simple_procedure, hanako, kankyo_staff, kankyo_kacho):
    application = _reviewing(submit_simple(hanako), kankyo_staff)
    for outcome in ("reject", "return"):
        with pytest.raises(counter.CounterError) as refused:
            services.decide(application=application, staff=kankyo_kacho, outcome=outcome)
        assert refused.value.ja == "不承認・返戻の理由を入力してください。"
    with pytest.raises(counter.CounterError):
        services.decide(application=application, staff=kankyo_kacho, outcome="maybe")
    assert Application.objects.get(pk=application.pk).state == State.UNDER_REVIEW


def test_return_to_the_applicant_from_a_correction_not_answered(
    simple_procedure, hanako, kankyo_staff, kankyo_kacho
):
    application = submit_simple(hanako)
    services.request_correction(
        application=application,
        staff=kankyo_staff,
        field_ids=["site"],
        message="番地まで",
        reply_by=dt.date.today() + dt.timedelta(days=3),
    )
    services.decide(
        application=application,
        staff=kankyo_kacho,
        outcome="return",
        reason="期限までに補正がなかったため返戻します。",
    )
    application.refresh_from_db()
    assert application.state == State.RETURNED
    page = login(hanako).get(reverse("counter:detail", args=[application.pk])).content.decode()
    assert "決定: 返戻" in page and "期限までに補正がなかったため" in page


# --- after the decision ------------------------------------------------------------------


@pytest.fixture
def decided(simple_procedure, hanako, kankyo_staff, kankyo_kacho):
    application = _reviewing(submit_simple(hanako), kankyo_staff)
    services.decide(
        application=application, staff=kankyo_kacho, outcome="reject", reason="作業時間が基準外"
    )
    return Application.objects.get(pk=application.pk)


def test_a_decided_application_cannot_change(decided, hanako, kankyo_staff, kankyo_kacho):
    definition = decided.procedure_version.spec
    with pytest.raises(counter.NotEditable):
        counter.save_page(
            application=decided,
            page=definition.pages[0],
            data={"f-site": "別の場所"},
            actor=hanako,
        )
    for call in (
        lambda: services.decide(application=decided, staff=kankyo_kacho, outcome="approve"),
        lambda: services.request_correction(
            application=decided,
            staff=kankyo_staff,
            field_ids=["site"],
            message="x",
            reply_by=dt.date.today(),
        ),
        lambda: services.start_review(application=decided, staff=kankyo_staff),
        lambda: services.assign(application=decided, staff=kankyo_staff, assignee_id=None),
        lambda: counter.withdraw_application(application=decided, actor=hanako),
    ):
        with pytest.raises(counter.CounterError) as refused:
            call()
        assert refused.value.status == 409
    after = Application.objects.get(pk=decided.pk)
    assert (after.state, after.answers, after.lock_version) == (
        decided.state,
        decided.answers,
        decided.lock_version,
    )


def test_a_decision_is_corrected_by_the_recorded_procedure(
    decided, hanako, kankyo_staff, kankyo_kacho
):
    old = counter.current_decision(decided)
    with pytest.raises(services.Forbidden):
        services.amend_decision(
            application=decided,
            staff=kankyo_staff,
            reason="x",
            correction_reason="誤記",
        )
    with pytest.raises(counter.CounterError):
        services.amend_decision(
            application=decided, staff=kankyo_kacho, reason="x", correction_reason=" "
        )
    amended = services.amend_decision(
        application=decided,
        staff=kankyo_kacho,
        reason="作業時間（午後7時以降）が基準外のため",
        correction_reason="理由の記載漏れ",
    )
    assert amended.supersedes_id == old.pk and amended.outcome == old.outcome
    assert Decision.objects.get(pk=old.pk).status == Decision.Status.SUPERSEDED
    assert Decision.objects.get(pk=old.pk).reason == "作業時間が基準外"  # kept as it was
    event = Event.objects.get(subject_id=str(decided.pk), event_type="application.decision_amended")
    assert event.details["supersedes"] == old.pk and event.content_sha256
    assert Application.objects.get(pk=decided.pk).state == State.REJECTED
    page = login(hanako).get(reverse("counter:detail", args=[decided.pk])).content.decode()
    assert "午後7時以降" in page and "理由の記載漏れ" in page and "訂正後の内容です" in page
    assert OutboundEmail.objects.filter(
        template="decision_corrected", related_id=str(decided.pk)
    ).exists()
    from madoguchi.records.models import Record

    assert Record.objects.filter(object_type="decision", object_id=str(amended.pk)).exists()


def test_a_decision_is_revoked_and_the_review_reopens(decided, hanako, kankyo_staff, kankyo_kacho):
    old = counter.current_decision(decided)
    services.reopen_decision(
        application=decided, staff=kankyo_kacho, correction_reason="基準の読み違い"
    )
    application = Application.objects.get(pk=decided.pk)
    assert application.state == State.UNDER_REVIEW and application.decided_at is None
    revoked = Decision.objects.get(pk=old.pk)
    assert revoked.status == Decision.Status.REVOKED and revoked.correction_reason
    assert counter.current_decision(application) is None
    services.decide(application=application, staff=kankyo_kacho, outcome="approve")
    assert Application.objects.get(pk=decided.pk).state == State.APPROVED
    assert Event.objects.filter(
        subject_id=str(decided.pk), event_type="application.reopen"
    ).exists()
    history = login(hanako).get(reverse("counter:detail", args=[decided.pk])).content.decode()
    assert "決定を取り消し、審査をやり直しています" in history


def test_decisions_through_the_page(simple_procedure, hanako, kankyo_staff, kankyo_kacho):
    application = _reviewing(submit_simple(hanako), kankyo_staff)
    url = reverse("backoffice:decide", args=[application.pk])
    # A case worker without the approver role sees no decision form, and is refused.
    page = login(kankyo_staff).get(reverse("backoffice:detail", args=[application.pk]))
    assert 'name="outcome"' not in page.content.decode()
    response = login(kankyo_staff).post(url, {"outcome": "approve"})
    assert response.status_code == 403
    # Refused input comes back with the text.
    kacho = login(kankyo_kacho)
    response = kacho.post(url, {"outcome": "reject", "reason": "", "comment": "ご確認ください"})
    assert response.status_code == 409
    assert ">ご確認ください</textarea>" in response.content.decode()
    response = kacho.post(url, {"outcome": "approve", "comment": "受理しました"})
    assert response.status_code == 302
    assert Application.objects.get(pk=application.pk).state == State.APPROVED
    page = kacho.get(response["Location"]).content.decode()
    assert "決定を記録しました。" in page and "決定の訂正・取消し" in page
