"""The staff side's business rules: who may act, and the orchestration of the counter's
life cycle with the approval route, issuance, records and notifications.

Views, the JSON API and the CLI call these. Each checks the actor's permission for the
application's unit (403), then the counter's services check the state and the lock
version (409) and write the change and its ledger event in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from madoguchi.counter import routing
from madoguchi.counter import services as counter
from madoguchi.counter.models import (
    OPEN_STATES,
    Application,
    AssistedEntry,
    Channel,
    Decision,
    State,
)
from madoguchi.counter.services import Conflict, CounterError, StateNotAllowed
from madoguchi.ledger.services import content_hash, person, record_event
from madoguchi.notifications.services import notify_staff

from . import integrations, permissions, selectors
from .models import InternalNote


class Forbidden(CounterError):
    code = "forbidden"
    status = 403


__all__ = [
    "Conflict",
    "CounterError",
    "Forbidden",
    "StateNotAllowed",
]


def _require(user, permission: str, application: Application) -> None:
    if not permissions.can(user, permission, application):
        raise Forbidden(
            {
                permissions.PROCESS: "この申請を処理する権限がありません（担当職員の役割が必要です）。",
                permissions.DECIDE: "この申請を決定する権限がありません（決裁者の役割が必要です）。",
            }.get(permission, "この操作をする権限がありません。"),
            {
                permissions.PROCESS: "You may not process this application (case worker role).",
                permissions.DECIDE: "You may not decide this application (approver role).",
            }.get(permission, "You may not do this."),
        )


# --- working on an application ------------------------------------------------------------


def claim(*, application: Application, staff, expected_version: int | None = None) -> Application:
    _require(staff, permissions.PROCESS, application)
    return counter.assign(
        application=application, actor=staff, assignee=staff, expected_version=expected_version
    )


def assign(
    *,
    application: Application,
    staff,
    assignee_id: int | None,
    expected_version: int | None = None,
) -> Application:
    """Assign, reassign or release (assignee_id None). The assignee must be someone whose
    case-worker role reaches the application's unit."""
    _require(staff, permissions.PROCESS, application)
    assignee = None
    if assignee_id is not None:
        assignee = selectors.assignable_staff(application.unit).filter(pk=assignee_id).first()
        if assignee is None:
            raise CounterError(
                "この職員にはこの課の申請を割り当てられません。",
                "This person cannot be given work of this unit.",
            )
    return counter.assign(
        application=application,
        actor=staff,
        assignee=assignee,
        expected_version=expected_version,
    )


def start_review(
    *, application: Application, staff, expected_version: int | None = None
) -> Application:
    _require(staff, permissions.PROCESS, application)
    with transaction.atomic():
        application = counter.staff_transition(
            application=application,
            staff=staff,
            name="start_review",
            expected_version=expected_version,
        )
        if application.assignee_id is None:
            # Whoever starts the review is working on it, unless someone else was named.
            application = counter.assign(application=application, actor=staff, assignee=staff)
    return application


def request_correction(
    *,
    application: Application,
    staff,
    field_ids: list[str],
    message: str,
    reply_by: dt.date | None,
    expected_version: int | None = None,
):
    _require(staff, permissions.PROCESS, application)
    if reply_by is None:
        raise CounterError("回答期限を入力してください。", "Give a reply-by date.")
    return counter.request_correction(
        application=application,
        staff=staff,
        field_ids=field_ids,
        message=message,
        reply_by=reply_by,
        expected_version=expected_version,
    )


def default_reply_by(on: dt.date | None = None) -> dt.date:
    """What the 補正 form suggests: ten open days from today."""
    from madoguchi.core import calendar

    return calendar.add_open_days(on or timezone.localdate(), 10)


def post_message(*, application: Application, staff, body: str):
    _require(staff, permissions.PROCESS, application)
    return counter.post_message(application=application, author=staff, body=body, from_staff=True)


@transaction.atomic
def add_note(*, application: Application, staff, body: str) -> InternalNote:
    """A note for staff only. Anyone who may see the application may add one (a 合議
    unit's question included)."""
    if not permissions.can_view(staff, application):
        raise Forbidden("この申請を見る権限がありません。", "You may not see this application.")
    body = body.strip()
    if not body:
        raise CounterError("メモを入力してください。", "Write the note.")
    if len(body) > 4000:
        raise CounterError("メモは4000文字以内で入力してください。", "Use at most 4000 characters.")
    counter._check_free_text(body)
    note = InternalNote.objects.create(application=application, author=staff, body=body)
    record_event(
        event_type="application.note_added",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        content=body,
        details={"note": note.pk},
    )
    return note


# --- decisions ----------------------------------------------------------------------------


@dataclass
class DecisionResult:
    decision: Decision
    routed: bool  # True: the draft went to the approval route; False: decided now


def decide(
    *,
    application: Application,
    staff,
    outcome: str,
    reason: str = "",
    comment: str = "",
    expected_version: int | None = None,
) -> DecisionResult:
    """Approve, reject (with the reason; the 教示 comes from the procedure) or return.

    When the procedure names an approval route that the engine knows, the decision is a
    draft (起案) that goes to the route, and becomes final when the route completes.
    Otherwise it is taken now, and needs the approver role for the unit (drafting for
    a route needs the case worker's).
    """
    route = routing.route_for(application)
    if route is None:
        _require(staff, permissions.DECIDE, application)
        with transaction.atomic():
            decision = counter.decide(
                application=application,
                staff=staff,
                outcome=outcome,
                reason=reason,
                comment=comment,
                expected_version=expected_version,
            )
            integrations.after_final_decision(
                application=decision.application, decision=decision, actor=staff
            )
        return DecisionResult(decision, routed=False)
    _require(staff, permissions.PROCESS, application)
    with transaction.atomic():
        decision = counter.propose_decision(
            application=application,
            staff=staff,
            outcome=outcome,
            reason=reason,
            comment=comment,
            expected_version=expected_version,
        )
        decision.approval_reference = routing.start(
            application=decision.application, decision=decision, drafter=staff, route=route
        )
        decision.save(update_fields=["approval_reference"])
    return DecisionResult(decision, routed=True)


def recall_decision(*, application: Application, staff) -> Application:
    """引上げ: the drafter takes the draft decision back before the next step acts."""
    decision = counter.pending_decision(application)
    if decision is None:
        raise StateNotAllowed("決裁中の決定案はありません。", "No draft decision is pending.")
    if decision.drafted_by_id != staff.pk:
        raise Forbidden(
            "起案した職員だけが引き上げられます。", "Only the drafter can recall the draft."
        )
    with transaction.atomic():
        # The engine calls on_recalled, which sends the application back to review.
        routing.recall(decision=decision, actor=staff)
    return Application.objects.get(pk=application.pk)


def amend_decision(
    *,
    application: Application,
    staff,
    reason: str,
    comment: str = "",
    correction_reason: str,
    expected_version: int | None = None,
) -> Decision:
    _require(staff, permissions.DECIDE, application)
    with transaction.atomic():
        amended = counter.amend_decision(
            application=application,
            staff=staff,
            reason=reason,
            comment=comment,
            correction_reason=correction_reason,
            expected_version=expected_version,
        )
        # The corrected decision is a document of its own in the register.
        integrations.file_record(kind="decision", subject=amended, actor=staff)
    return amended


def reopen_decision(
    *,
    application: Application,
    staff,
    correction_reason: str,
    expected_version: int | None = None,
) -> Application:
    _require(staff, permissions.DECIDE, application)
    return counter.reopen_decision(
        application=application,
        staff=staff,
        correction_reason=correction_reason,
        expected_version=expected_version,
    )


# The callbacks of the subject kind "application_decision" (registered in apps.py). They
# run inside the transaction of the route's action.


def _decision_of(instance) -> Decision:
    return Decision.objects.select_related("application").get(pk=int(instance.subject_id))


def on_route_completed(*, instance, actor, **_details: Any) -> None:
    decision = _decision_of(instance)
    final = counter.complete_decision(
        application=decision.application,
        decision=decision,
        actor=actor,
        details=routing.final_approval(instance),
    )
    integrations.after_final_decision(application=final.application, decision=final, actor=actor)


def on_route_returned(*, instance, actor, **_details: Any) -> None:
    """差戻し to the drafter: the application is under review again, and the returned
    instance is closed (the case worker drafts anew from the application's page)."""
    decision = _decision_of(instance)
    counter.send_back_decision(
        application=decision.application, decision=decision, actor=actor, recalled=False
    )
    routing.cancel(decision=decision, actor=actor, reason="差戻しにより審査に戻りました")


def on_route_recalled(*, instance, actor, **_details: Any) -> None:
    decision = _decision_of(instance)
    if decision.status == Decision.Status.PENDING:
        counter.send_back_decision(
            application=decision.application, decision=decision, actor=actor, recalled=True
        )
    routing.cancel(decision=decision, actor=actor, reason="引上げにより審査に戻りました")


def on_route_cancelled(*, instance, actor=None, **_details: Any) -> None:
    """The route was cancelled (the application withdrawn, which already marked the
    draft); nothing is left to do."""


# --- bulk approval ------------------------------------------------------------------------


@dataclass
class BulkItem:
    application_id: str
    receipt_number: str
    ok: bool
    message: str


@dataclass
class BulkReport:
    items: list[BulkItem] = field(default_factory=list)

    @property
    def succeeded(self) -> list[BulkItem]:
        return [item for item in self.items if item.ok]

    @property
    def failed(self) -> list[BulkItem]:
        return [item for item in self.items if not item.ok]


MAX_BULK = 200


def bulk_approve(
    *, staff, application_ids: list[str], comment: str = "", english: bool = False
) -> BulkReport:
    """Approves each application that passes its own checks, each in its own
    transaction: one refusal does not undo the others. Applications whose procedure has
    an approval route are refused here (they are approved through the route)."""
    report = BulkReport()
    seen: set[str] = set()
    for raw_id in application_ids[:MAX_BULK]:
        if raw_id in seen:
            continue
        seen.add(raw_id)
        application = selectors.application_for_staff(staff, raw_id)
        if application is None:
            report.items.append(
                BulkItem(
                    str(raw_id)[:40],
                    "",
                    False,
                    "Not found" if english else "申請が見つかりません。",
                )
            )
            continue
        try:
            with transaction.atomic():
                if routing.route_for(application) is not None:
                    # Through the route: the approver's own step, where the route allows.
                    pending = counter.pending_decision(application)
                    if application.state != State.AWAITING_APPROVAL or pending is None:
                        raise StateNotAllowed(
                            "決裁ルートのある手続です。担当者が決定案を起案してから、"
                            "決裁で承認してください。",
                            "This procedure has an approval route: a case worker drafts "
                            "the decision first.",
                        )
                    if pending.outcome != Decision.Outcome.APPROVE:
                        raise StateNotAllowed(
                            "承認以外の決定案は一括では決裁できません。",
                            "Only drafts that approve can be approved in bulk.",
                        )
                    routing.approve_in_bulk(decision=pending, actor=staff, comment=comment)
                    application.refresh_from_db()
                    if application.state == State.AWAITING_APPROVAL:
                        message = "Step approved" if english else "決裁しました（次の段階へ）。"
                    else:
                        message = "Approved" if english else "決裁により承認しました。"
                    report.items.append(
                        BulkItem(
                            str(application.pk), application.receipt_number or "", True, message
                        )
                    )
                    continue
                if application.state == State.SUBMITTED:
                    # Approving in bulk is the review of simple cases: it starts it.
                    _require(staff, permissions.DECIDE, application)
                    application = counter.staff_transition(
                        application=application, staff=staff, name="start_review"
                    )
                decide(application=application, staff=staff, outcome="approve", comment=comment)
        except CounterError as exc:
            report.items.append(
                BulkItem(
                    str(application.pk),
                    application.receipt_number or "",
                    False,
                    exc.en if english else exc.ja,
                )
            )
            continue
        report.items.append(
            BulkItem(
                str(application.pk),
                application.receipt_number or "",
                True,
                "Approved" if english else "承認しました。",
            )
        )
    if len(application_ids) > MAX_BULK:
        report.items.append(
            BulkItem(
                "",
                "",
                False,
                f"Only the first {MAX_BULK} were processed"
                if english
                else f"一度に処理できるのは{MAX_BULK}件までです。残りは処理していません。",
            )
        )
    return report


# --- 書かない窓口 (staff enter an application with the resident at the counter) ----------


def find_resident(email: str):
    """A resident's account by e-mail address (exact, case-insensitive)."""
    email = (email or "").strip()
    if not email or "@" not in email or len(email) > 254:
        return None
    return get_user_model().objects.filter(email__iexact=email, is_active=True).first()


def counter_procedures(staff):
    """The procedures a staff member may enter at the counter: those of the units where
    they process applications."""
    from madoguchi.catalogue.models import Procedure

    return (
        Procedure.objects.filter(
            unit__in=permissions.units_with(staff, permissions.PROCESS),
            is_published=True,
            current_version__isnull=False,
        )
        .select_related("current_version", "body", "unit")
        .order_by("body__code", "identifier")
    )


def _earlier_answers(procedure, resident) -> tuple[dict[str, Any], list[str]]:
    """Answers of the resident's earlier applications that fit this procedure: the latest
    one of the same procedure field by field (same id and type), and from other
    procedures the fields that take the same profile data (the same `prefill` key)."""
    definition = procedure.current_version.spec
    earlier = (
        Application.objects.filter(applicant=resident)
        .exclude(state=State.DRAFT)
        .select_related("procedure_version")
        .order_by("-submitted_at")[:20]
    )
    answers: dict[str, Any] = {}
    sources: list[str] = []
    by_prefill = {
        spec["prefill"]: field_id
        for field_id, spec in definition.fields.items()
        if spec.get("prefill")
    }
    for application in earlier:
        old = application.procedure_version.spec
        used = False
        for field_id, value in application.answers.items():
            if value in (None, "", []) or field_id not in old.fields:
                continue
            old_spec = old.fields[field_id]
            if old_spec["type"] in ("file", "my_number"):
                continue  # files and My Number are never copied into a new application
            target = None
            if application.procedure_id == procedure.pk and field_id in definition.fields:
                target = field_id
            elif old_spec.get("prefill") in by_prefill:
                target = by_prefill[old_spec["prefill"]]
            if target is None or target in answers:
                continue
            if definition.fields[target]["type"] != old_spec["type"]:
                continue
            if definition.fields[target]["type"] == "choice" and value not in {
                option["value"] for option in definition.options(target)
            }:
                continue
            answers[target] = value
            used = True
        if used:
            sources.append(application.receipt_number or str(application.pk))
    return answers, sources


@transaction.atomic
def start_assisted_application(*, staff, procedure, resident) -> Application:
    """Starts an application for a resident at the counter, prefilled from their profile
    and their earlier applications, entered by staff on their behalf."""
    if procedure not in counter_procedures(staff):
        raise Forbidden(
            "この手続を窓口で受け付ける権限がありません。",
            "You may not take this procedure at the counter.",
        )
    if resident is None or resident.pk == staff.pk:
        raise CounterError(
            "申請者（住民）のアカウントを指定してください。", "Choose the resident's account."
        )
    application = counter.start_application(
        procedure=procedure, applicant=resident, use_profile=True
    )
    earlier, sources = _earlier_answers(procedure, resident)
    # The profile is the resident's own statement of today; earlier answers fill the rest.
    merged = {**earlier, **application.answers}
    application.answers = merged
    application.channel = Channel.COUNTER
    application.entered_by = staff
    application.save(update_fields=["answers", "channel", "entered_by", "updated_at"])
    AssistedEntry.objects.create(
        application=application, staff=staff, unit=procedure.unit, prefilled_from=sources
    )
    record_event(
        event_type="application.assisted_started",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        details={
            "procedure": procedure.identifier,
            "prefilled_fields": sorted(merged),
            "prefilled_from": len(sources),
        },
    )
    integrations.log_access(
        actor=staff,
        application=application,
        what="profile",
        purpose=integrations.PURPOSE_COUNTER,
    )
    return application


def assisted_draft_for(staff, application_id) -> Application | None:
    """A draft this staff member is entering at the counter."""
    key = selectors._uuid(application_id)
    if key is None:
        return None
    return (
        Application.objects.filter(
            pk=key, state=State.DRAFT, channel=Channel.COUNTER, entered_by=staff
        )
        .select_related("procedure_version", "applicant", "assisted_entry", "body", "unit")
        .first()
    )


def confirm_assisted_application(
    *,
    application: Application,
    staff,
    confirmation: str,
    identity_document: str,
    resident_confirmed: bool,
    signed_summary=None,
) -> Application:
    """The resident confirmed what staff entered (on the tablet, or by signing the printed
    summary): the application is submitted on their behalf, recorded as such.

    Staff checked the resident's identity in person, which stands for the procedure's
    online identity level; the document's kind (never its number) is recorded."""
    if application.entered_by_id != staff.pk or application.channel != Channel.COUNTER:
        raise Forbidden(
            "この申請は窓口で入力中のものではありません。",
            "This is not an application you are entering at the counter.",
        )
    if confirmation not in AssistedEntry.Confirmation.values:
        raise CounterError("本人の確認方法を選んでください。", "Choose how the resident confirmed.")
    if identity_document not in AssistedEntry.IdentityDocument.values:
        raise CounterError(
            "確認した本人確認書類を選んでください。", "Choose the identity document."
        )
    if not resident_confirmed:
        raise CounterError(
            "申請者ご本人が内容を確認したことを確かめてください。",
            "The resident must confirm the contents.",
        )
    if confirmation == AssistedEntry.Confirmation.SIGNED_PAPER and signed_summary is None:
        raise CounterError(
            "署名済みの確認書をスキャンして添付してください。",
            "Attach the scan of the signed summary.",
        )
    stored = None
    if signed_summary is not None:
        from madoguchi.files.services import store_upload

        stored = store_upload(signed_summary, owner=staff, accept=["image", "pdf"])
    with transaction.atomic():
        entry = AssistedEntry.objects.select_for_update().get(application=application)
        entry.confirmation = confirmation
        entry.identity_document = identity_document
        entry.confirmed_at = timezone.now()
        entry.signed_summary = stored
        entry.save(
            update_fields=["confirmation", "identity_document", "confirmed_at", "signed_summary"]
        )
        if stored is not None:
            from madoguchi.counter.models import ApplicationFile

            ApplicationFile.objects.create(
                application=application, stored_file=stored, field_id="_signed_summary"
            )
        submitted = counter.submit_application(
            application=application,
            actor=staff,
            identity_level=application.procedure_version.identity_level,
            on_behalf={
                "channel": Channel.COUNTER,
                "entered_by": person("staff", staff.pk),
                "on_behalf_of": person("resident", application.applicant_id),
                "confirmation": confirmation,
                "identity_document": identity_document,
                "signed_summary_sha256": stored.sha256 if stored else "",
            },
        )
    return submitted


def _require_special(staff, application: Application, what: str) -> None:
    """Refuses staff without the permission to see special personal data; the refusal is
    a ledger event of its own (committed although the request fails), as the records
    register's refusals are."""
    if not permissions.can_view(staff, application):
        _refusal_event(staff, application, what, "not_permitted")
        raise Forbidden("この申請を見る権限がありません。", "You may not see this application.")
    if not permissions.can_view_special(staff, application):
        _refusal_event(staff, application, what, "special_personal_data")
        raise Forbidden(
            "マイナンバーや要配慮個人情報を表示する権限がありません"
            "（特定個人情報等取扱担当者の役割が必要です）。",
            "You may not see My Numbers or special personal data "
            "(the special personal data handler role is needed).",
        )


def _refusal_event(staff, application: Application, what: str, reason: str) -> None:
    with transaction.atomic():
        record_event(
            event_type="application.special_access_refused",
            actor_kind="staff",
            actor_id=staff.pk,
            subject_type="application",
            subject_id=application.pk,
            body_id=application.body_id,
            details={"what": what, "reason": reason},
        )


def _log_special(*, staff, application: Application, what: str, purpose: str, object_id: str):
    from madoguchi.ledger.services import AccessLogError

    try:
        integrations.log_access(
            actor=staff,
            application=application,
            what=what,
            purpose=purpose,
            object_type="answer" if what != "attachment" else "file",
            object_id=object_id,
        )
    except AccessLogError as exc:
        error = CounterError(exc.ja, exc.en)
        error.status, error.code = 422, exc.code
        raise error from exc


def reveal_my_number(*, application: Application, staff, field_id: str, purpose: str) -> str:
    """The clear 個人番号 of one answer, for staff with the handler role who state why (the
    access log records the purpose, and the resident sees it)."""
    _require_special(staff, application, "my_number")
    spec = application.procedure_version.spec.fields.get(field_id)
    value = application.answers.get(field_id) if spec else None
    if spec is None or spec["type"] != "my_number" or not isinstance(value, dict):
        raise CounterError("表示できるマイナンバーがありません。", "There is no My Number here.")
    from madoguchi.core.crypto import decrypt_text

    _log_special(
        staff=staff,
        application=application,
        what="my_number",
        purpose=purpose,
        object_id=f"{application.pk}:{field_id}",
    )
    return decrypt_text(value["ciphertext"])


def sensitive_answer_ids(application: Application) -> list[str]:
    """Answered fields of the application that a procedure marks `sensitive` (not files,
    whose access is checked when they are opened)."""
    definition = application.procedure_version.spec
    answers = application.answers or {}
    return [
        field_id
        for field_id, spec in definition.fields.items()
        if spec.get("sensitive")
        and spec["type"] != "file"
        and answers.get(field_id) not in (None, [], "")
        and definition.field_visible(spec, answers)
    ]


def reveal_sensitive_answer(
    *, application: Application, staff, field_id: str, purpose: str
) -> dict[str, Any]:
    """One sensitive answer (health, disability) in clear, as a display row, for staff with
    the handler role who state why; the access is logged before anything is shown."""
    from madoguchi.catalogue.fieldtypes import DisplayContext

    _require_special(staff, application, "special")
    if field_id not in sensitive_answer_ids(application):
        raise CounterError(
            "表示できる要配慮個人情報がありません。", "There is no special personal data here."
        )
    _log_special(
        staff=staff,
        application=application,
        what="special",
        purpose=purpose,
        object_id=f"{application.pk}:{field_id}",
    )
    definition = application.procedure_version.spec
    return definition.display_row(
        field_id, application.answers, DisplayContext(reveal_sensitive=True)
    )


def check_sensitive_file(*, application: Application, staff, purpose: str) -> None:
    """Whether this staff member may open an attachment of a `sensitive` file field for
    this purpose (the handler role and a purpose), before asking them to re-authenticate."""
    from madoguchi.ledger.models import AccessPurpose

    _require_special(staff, application, "attachment")
    if purpose not in AccessPurpose.values:
        error = CounterError(
            "要配慮個人情報を含む添付ファイルを開くには利用目的を選んでください。",
            "Opening an attachment with special personal data requires a purpose.",
        )
        error.status, error.code = 422, "purpose_required"
        raise error


def open_sensitive_file(*, application: Application, staff, link, purpose: str) -> None:
    """Opening an attachment of a `sensitive` file field: checked as above, and logged
    before the bytes are sent."""
    check_sensitive_file(application=application, staff=staff, purpose=purpose)
    _log_special(
        staff=staff,
        application=application,
        what="attachment",
        purpose=purpose,
        object_id=str(link.stored_file_id),
    )


def summary_hash(application: Application) -> str:
    """The hash printed on the summary the resident signs: the answers it shows."""
    return content_hash(application.answers)


# --- periodic work (run by `madoguchi backoffice notify`) ---------------------------------


def announce_new_work(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Tells each unit's case workers of applications submitted since the last run, one
    notice per person and unit. The flag on each application makes a second run (or a
    second worker) skip what was announced."""
    now = now or timezone.now()
    announced = 0
    while True:
        with transaction.atomic():
            items = list(
                Application.objects.select_for_update(skip_locked=True)
                .filter(staff_notified_at__isnull=True, submitted_at__isnull=False)
                .select_related("unit", "procedure_version")
                .order_by("submitted_at")[:batch]
            )
            if not items:
                return announced
            by_unit: dict[int, list[Application]] = {}
            for item in items:
                by_unit.setdefault(item.unit_id, []).append(item)
            for unit_items in by_unit.values():
                unit = unit_items[0].unit
                people = list(selectors.assignable_staff(unit).values_list("pk", flat=True))
                shown = unit_items[:20]
                notify_staff(
                    users=people,
                    kind="new_work",
                    context={
                        "unit_name": unit.name,
                        "count": len(unit_items),
                        "more": max(len(unit_items) - len(shown), 0),
                        "items": [
                            {
                                "procedure_name": item.procedure_version.name,
                                "receipt_number": item.receipt_number,
                                "due_date": item.due_date.isoformat() if item.due_date else "",
                                "url": f"/staff/applications/{item.pk}/",
                            }
                            for item in shown
                        ],
                        "url": f"/staff/queue/?unit={unit.pk}&sort=-submitted_at",
                    },
                    related_type="unit",
                    related_id=str(unit.pk),
                )
            Application.objects.filter(pk__in=[item.pk for item in items]).update(
                staff_notified_at=now
            )
            announced += len(items)


def remind_due_dates(*, on: dt.date | None = None) -> int:
    """Once a day: each assignee hears of their work that is late or due soon; work
    nobody has claimed goes to the unit's case workers. Returns the notices written."""
    on = on or timezone.localdate()
    limit = selectors._soon_limit(on)
    items = (
        Application.objects.filter(state__in=OPEN_STATES, due_date__lte=limit)
        .select_related("procedure_version", "unit")
        .order_by("due_date", "id")
    )
    per_user: dict[int, list[Application]] = {}
    unassigned_by_unit: dict[int, list[Application]] = {}
    for item in items.iterator(chunk_size=1000):
        if item.assignee_id:
            per_user.setdefault(item.assignee_id, []).append(item)
        else:
            unassigned_by_unit.setdefault(item.unit_id, []).append(item)
    for unit_items in unassigned_by_unit.values():
        for staff_id in selectors.assignable_staff(unit_items[0].unit).values_list("pk", flat=True):
            per_user.setdefault(staff_id, []).extend(unit_items)
    written = 0
    for user_id, user_items in per_user.items():
        shown = user_items[:30]
        with transaction.atomic():
            written += len(
                notify_staff(
                    users=[user_id],
                    kind="due",
                    context={
                        "overdue": sum(1 for item in user_items if item.due_date < on),
                        "due_soon": sum(1 for item in user_items if item.due_date >= on),
                        "more": max(len(user_items) - len(shown), 0),
                        "items": [
                            {
                                "procedure_name": item.procedure_version.name,
                                "receipt_number": item.receipt_number,
                                "due_date": item.due_date.isoformat(),
                                "overdue": item.due_date < on,
                                "url": f"/staff/applications/{item.pk}/",
                            }
                            for item in shown
                        ],
                    },
                    related_type="due_dates",
                    related_id=on.isoformat(),
                )
            )
    return written


def decision_url(instance) -> str:
    decision = Decision.objects.filter(pk=int(instance.subject_id)).only("application_id").first()
    return f"/staff/applications/{decision.application_id}/" if decision else "/staff/"


def may_view_decision(user, instance) -> bool:
    """Staff of the application's unit may see its route too."""
    decision = (
        Decision.objects.filter(pk=int(instance.subject_id)).select_related("application").first()
    )
    return decision is not None and permissions.can(user, permissions.VIEW, decision.application)
