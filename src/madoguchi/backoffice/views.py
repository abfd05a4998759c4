"""The staff side (職員用): queues, the application page and its actions, the unit's
dashboard, the CSV export, bulk approval, 書かない窓口 and the outbox.

Views are thin: they parse the request, call the back office's services and render. A
refused action re-renders the page with what was typed and a clear message (409 for a
state or a stale page, 403 for a missing role, 422 for bad input), never a 500.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from madoguchi.catalogue.fieldtypes import DisplayContext, localized
from madoguchi.counter import routing, states
from madoguchi.counter import selectors as counter_selectors
from madoguchi.counter.models import (
    AssistedEntry,
    Decision,
    State,
)
from madoguchi.counter.services import CounterError
from madoguchi.files.services import open_stored
from madoguchi.identity import services as identity
from madoguchi.notifications.models import OutboundEmail, StaffNotificationSetting
from madoguchi.notifications.services import recent_notices, retry_email, set_staff_mode, setting_of
from madoguchi.organisation.selectors import is_staff_member, memberships_of

from . import export, integrations, permissions, previews, selectors, services


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_staff_member(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class InputError:
    """A message for the error summary, linked to the input it concerns."""

    input_id: str
    message: str

    @property
    def path(self) -> str:
        return self.input_id


def _error(input_id: str, exc: CounterError | None = None, *, ja: str = "", en: str = ""):
    if exc is not None:
        ja, en = exc.ja, exc.en
    return InputError(input_id, en if _english() else ja)


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def _message(error: CounterError) -> str:
    return error.en if _english() else error.ja


def _application(request: HttpRequest, pk):
    application = selectors.application_for_staff(request.user, pk)
    if application is None:
        raise Http404
    return application


def _version(request: HttpRequest) -> int | None:
    text = request.POST.get("lock_version", "")
    return int(text) if text.isdigit() and len(text) < 10 else None


# --- home, queue, dashboard ----------------------------------------------------------------


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    units = list(selectors.queue_units(request.user))
    states_shown = [(v, label) for v, label in State.choices if v != State.DRAFT]
    unit_counts = []
    for unit in units:
        counts = selectors.unit_counts(unit)
        cards = [(value, label, counts.by_state.get(value, 0)) for value, label in states_shown]
        unit_counts.append((counts, cards))
    context = {
        "unit_counts": unit_counts,
        "my_work": selectors.my_work(request.user),
        "notices": recent_notices(request.user, 10),
        "memberships": memberships_of(request.user),
        "approvals_url": _approvals_url(),
    }
    return render(request, "backoffice/home.html", context)


def _approvals_url() -> str:
    try:
        return reverse("approvals:inbox")
    except Exception:  # the approvals pages are not installed
        return ""


def _queue_unit(request: HttpRequest, unit_id: int | None):
    units = list(selectors.queue_units(request.user))
    if unit_id is None:
        unit = selectors.default_unit(request.user)
    else:
        unit = next((item for item in units if item.pk == unit_id), None)
    return unit, units


def _filter_errors(exc: selectors.FilterError) -> list[InputError]:
    return [_error(f"q-{name}", ja=ja, en=en) for name, (ja, en) in exc.errors.items()]


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    errors: list[InputError] = []
    try:
        flt = selectors.parse_filter(request.GET)
    except selectors.FilterError as exc:
        errors = _filter_errors(exc)
        flt = selectors.QueueFilter()
        unit_text = request.GET.get("unit", "")
        if unit_text.isdigit() and len(unit_text) < 12:
            flt = selectors.QueueFilter(unit_id=int(unit_text))
    unit, units = _queue_unit(request, flt.unit_id)
    if unit is None:
        if not units:
            return render(request, "backoffice/no_queue.html", status=200)
        raise Http404
    page = selectors.queue_page(unit, flt, user=request.user)
    from madoguchi.catalogue.models import Procedure

    context = {
        "unit": unit,
        "units": units,
        "page": page,
        "flt": flt,
        "raw": request.GET,
        "errors": errors,
        "counts": selectors.unit_counts(unit),
        "procedures": Procedure.objects.filter(unit=unit).select_related("current_version"),
        "assignees": selectors.assignable_staff(unit),
        "state_choices": [
            ("open", _("処理中（すべて）")),
            ("all", _("すべて")),
            *[(v, label) for v, label in State.choices if v != State.DRAFT],
        ],
        "sorts": [(key, _(label)) for key, label in selectors.SORT_LABELS.items()],
        "previous_url": "?" + urlencode(flt.query(page=page.number - 1)),
        "next_url": "?" + urlencode(flt.query(page=page.number + 1)),
        "export_url": reverse("backoffice:export") + "?" + urlencode(flt.query(page=None)),
        "can_decide": permissions.can(request.user, permissions.DECIDE, _Probe(unit)),
    }
    return render(request, "backoffice/queue.html", context, status=422 if errors else 200)


class _Probe:
    """Stands for "an application of this unit" in a permission check."""

    def __init__(self, unit) -> None:
        self.unit = unit


@staff_required
def export_csv(request: HttpRequest):
    try:
        flt = selectors.parse_filter(request.GET)
    except selectors.FilterError:
        messages.error(request, _("絞り込みの条件を確認してください。"))
        return redirect(reverse("backoffice:queue") + "?" + request.GET.urlencode())
    unit, _units = _queue_unit(request, flt.unit_id)
    if unit is None:
        raise Http404
    # The export holds the queue's columns, no resident's data: it is not an access to a
    # person's data (see docs/backoffice.md), so it is not written to their access log.
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in export.stream(unit, flt, user=request.user)),
        content_type="text/csv; charset=utf-8",
    )
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="queue-{unit.code}-{day}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
def dashboard(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit, _units = _queue_unit(request, unit_id)
    if unit is None:
        raise Http404
    return render(request, "backoffice/dashboard.html", {"unit": unit, **selectors.dashboard(unit)})


@staff_required
@require_POST
def bulk_approve(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("applications")
    back = request.POST.get("back", "")
    if not back.startswith("?"):
        back = ""
    if not ids:
        messages.error(request, _("一括承認する申請を選んでください。"))
        return redirect(reverse("backoffice:queue") + back)
    report = services.bulk_approve(
        staff=request.user,
        application_ids=ids,
        comment=request.POST.get("comment", "")[:4000],
        english=_english(),
    )
    return render(
        request,
        "backoffice/bulk_report.html",
        {"report": report, "back": reverse("backoffice:queue") + back},
    )


# --- one application -----------------------------------------------------------------------


def _detail_context(request: HttpRequest, application, *, form=None, errors=None) -> dict:
    definition = application.procedure_version.spec
    corrections = list(application.corrections.all())
    decisions = list(application.decisions.select_related("drafted_by"))
    final = next((d for d in decisions if d.status == Decision.Status.FINAL), None)
    pending = next((d for d in decisions if d.status == Decision.Status.PENDING), None)
    user = request.user
    may_process = permissions.can(user, permissions.PROCESS, application)
    may_decide = permissions.can(user, permissions.DECIDE, application)
    route = routing.route_for(application)
    state = application.state
    files = list(application.files.select_related("stored_file"))
    return {
        "application": application,
        "version": application.procedure_version,
        "sections": definition.display_rows(application.answers, DisplayContext()),
        "history": _history(application),
        "messages_list": application.messages.select_related("author"),
        "notes": selectors.notes(application),
        "due": selectors.due_status(application),
        "files": [
            {
                "link": link,
                "field": definition.fields.get(link.field_id, {}).get("label", link.field_id),
                "is_image": link.stored_file.content_type.startswith("image/"),
                "is_pdf": link.stored_file.content_type == "application/pdf",
                "sensitive": sensitive,
                "pages": [] if sensitive else previews.page_numbers(link.stored_file),
            }
            for link in files
            for sensitive in [_is_sensitive_file(application, link)]
        ],
        "may_process": may_process,
        "may_decide": may_decide,
        "can_start_review": may_process and states.allowed("start_review", state),
        "can_request_correction": may_process and states.allowed("request_correction", state),
        # With a route, every decision (返戻 too) is a draft for the route, from review;
        # without one, the approver decides, and may return from any open state.
        "can_decide": (
            may_process and states.allowed("propose_decision", state)
            if route
            else may_decide and states.allowed("approve", state)
        ),
        "can_return": (
            may_process and states.allowed("propose_decision", state)
            if route
            else may_decide and states.allowed("return_to_applicant", state)
        ),
        "route": route,
        "can_recall": pending is not None and pending.drafted_by_id == user.pk,
        "can_correct_decision": may_decide and state in states.DECIDED_STATES,
        "can_assign": may_process and state in states.OPEN,
        "can_message": may_process and state != State.WITHDRAWN,
        "assignees": selectors.assignable_staff(application.unit) if may_process else [],
        "fields": [
            (field_id, spec.get("label", field_id), spec["type"] == "file")
            for field_id, spec in definition.fields.items()
            if spec["type"] != "notice"
        ],
        "corrections": [(c, _changes(definition, c)) for c in corrections],
        "decisions": decisions,
        "final_decision": final,
        "pending_decision": pending,
        "instruction_preview": _instruction_preview(application),
        "today": timezone.localdate(),
        "default_reply_by": services.default_reply_by(),
        "assisted": getattr(application, "assisted_entry", None)
        if application.channel == "counter"
        else None,
        # Answers shown in clear one at a time, with a purpose: My Numbers, then the
        # answers the procedure marks sensitive (one form, one view for both).
        "revealable": [
            (field_id, spec.get("label", field_id))
            for field_id, spec in definition.fields.items()
            if spec["type"] == "my_number" and application.answers.get(field_id)
        ]
        + [
            (field_id, definition.fields[field_id].get("label", field_id))
            for field_id in services.sensitive_answer_ids(application)
        ],
        "may_view_special": permissions.can_view_special(user, application),
        "purposes": _purposes(),
        "outbox": OutboundEmail.objects.filter(
            related_type="application", related_id=str(application.pk)
        ).order_by("-created_at")[:20],
        "form": form or {},
        "errors": errors or [],
    }


def _purposes():
    from madoguchi.ledger.models import AccessPurpose

    return AccessPurpose.choices


def _instruction_preview(application) -> str:
    from madoguchi.counter.services import instruction_for

    return instruction_for(application, Decision.Outcome.REJECT)


# Marked for the catalogue; translated when the history is shown.
EVENT_LABELS = {
    "application.submitted": gettext_noop("受付"),
    "application.start_review": gettext_noop("審査開始"),
    "application.request_correction": gettext_noop("補正依頼（期限の計算を停止）"),
    "application.resubmit": gettext_noop("補正後の再提出（期限の計算を再開）"),
    "application.approve": gettext_noop("承認（専決）"),
    "application.reject": gettext_noop("不承認（専決）"),
    "application.return_to_applicant": gettext_noop("返戻"),
    "application.propose_decision": gettext_noop("決定案を決裁に回付"),
    "application.route_approve": gettext_noop("決裁により承認"),
    "application.route_reject": gettext_noop("決裁により不承認"),
    "application.route_return": gettext_noop("決裁により返戻"),
    "application.route_send_back": gettext_noop("差戻し"),
    "application.recall_decision": gettext_noop("引上げ"),
    "application.reopen": gettext_noop("決定の取消し（審査再開）"),
    "application.decision_amended": gettext_noop("決定の訂正"),
    "application.withdrawn": gettext_noop("取下げ"),
    "application.message_posted": gettext_noop("メッセージ"),
    "application.note_added": gettext_noop("職員メモ"),
    "application.assigned": gettext_noop("担当者の変更"),
    "application.assisted_started": gettext_noop("窓口で職員が入力開始"),
}


def _history(application):
    from django.contrib.auth import get_user_model

    events = list(counter_selectors.history(application))
    ids = {int(e.actor_id) for e in events if e.actor_kind == "staff" and e.actor_id.isdigit()}
    names = {
        user.pk: user.display_name or user.email
        for user in get_user_model().objects.filter(pk__in=ids).only("display_name", "email")
    }
    return [
        {
            "event": event,
            "label": _(EVENT_LABELS.get(event.event_type, event.event_type)),
            "who": names.get(int(event.actor_id), "")
            if event.actor_kind == "staff" and event.actor_id.isdigit()
            else "",
        }
        for event in events
    ]


def _changes(definition, correction) -> list[dict[str, str]]:
    """What the resident changed in answer to a 補正, as staff read it."""

    def shown(spec, value) -> str:
        row = definition._display_row(spec, value, {}, DisplayContext())
        if row["files"]:
            return "、".join(item.get("name", "") for item in row["files"])
        if row["items"]:
            return f"{len(row['items'])}件"
        return row["value"]

    return [
        {
            "field": change["field"],
            "label": definition.fields[change["field"]].get("label", change["field"]),
            "before": shown(definition.fields[change["field"]], change["before"]),
            "after": shown(definition.fields[change["field"]], change["after"]),
        }
        for change in correction.changes or []
        if change.get("field") in definition.fields
    ]


def _render_detail(request, application, *, form=None, errors=None, status=200):
    return render(
        request,
        "backoffice/detail.html",
        _detail_context(request, application, form=form, errors=errors),
        status=status,
    )


def _refused(request, application, exc: CounterError, form: dict, input_id: str):
    """Re-renders the page with what was typed and the message at the top (linked to
    the input it concerns)."""
    application = selectors.application_for_staff(request.user, application.pk) or application
    error = _error(input_id, exc)
    return _render_detail(
        request,
        application,
        form=form,
        errors=[error],
        status=exc.status if exc.status in (403, 409, 422) else 409,
    )


def _done(request, application, text: str, anchor: str = ""):
    messages.success(request, text)
    return redirect(reverse("backoffice:detail", args=[application.pk]) + anchor)


@staff_required
def detail(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    integrations.log_access(actor=request.user, application=application, what="application")
    return _render_detail(request, application)


@staff_required
@require_POST
def act(request: HttpRequest, pk) -> HttpResponse:
    """Start the review (the other actions have their own forms and views)."""
    application = _application(request, pk)
    action = request.POST.get("action", "")
    try:
        if action != "start_review":
            raise CounterError("この操作はできません。", "This action is not available.")
        services.start_review(
            application=application, staff=request.user, expected_version=_version(request)
        )
    except CounterError as exc:
        return _refused(request, application, exc, {}, "actions")
    return _done(request, application, _("審査を始めました。"))


@staff_required
@require_POST
def assign(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    choice = request.POST.get("assignee", "")
    try:
        if choice == "me":
            services.claim(
                application=application, staff=request.user, expected_version=_version(request)
            )
        else:
            if choice not in ("", "none") and not (choice.isdigit() and len(choice) < 12):
                raise CounterError("担当者を選んでください。", "Choose the assignee.")
            services.assign(
                application=application,
                staff=request.user,
                assignee_id=int(choice) if choice.isdigit() else None,
                expected_version=_version(request),
            )
    except CounterError as exc:
        return _refused(request, application, exc, {"assignee": choice}, "assignee")
    return _done(request, application, _("担当者を変更しました。"))


@staff_required
@require_POST
def request_correction(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    form = {
        "fields": request.POST.getlist("fields"),
        "message": request.POST.get("message", "")[:4000],
        "reply_by": request.POST.get("reply_by", "")[:20],
    }
    try:
        try:
            reply_by = dt.date.fromisoformat(form["reply_by"]) if form["reply_by"] else None
        except ValueError:
            raise CounterError(
                "回答期限は 2026-12-01 の形式で入力してください。", "Use a date like 2026-12-01."
            ) from None
        services.request_correction(
            application=application,
            staff=request.user,
            field_ids=form["fields"],
            message=form["message"],
            reply_by=reply_by,
            expected_version=_version(request),
        )
    except CounterError as exc:
        return _refused(request, application, exc, form, "fix-message")
    return _done(request, application, _("補正を依頼しました。"))


@staff_required
@require_POST
def decide(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    form = {
        "outcome": request.POST.get("outcome", ""),
        "reason": request.POST.get("reason", "")[:4000],
        "comment": request.POST.get("comment", "")[:4000],
    }
    try:
        result = services.decide(
            application=application,
            staff=request.user,
            outcome=form["outcome"],
            reason=form["reason"],
            comment=form["comment"],
            expected_version=_version(request),
        )
    except CounterError as exc:
        return _refused(request, application, exc, form, "decision-reason")
    if result.routed:
        return _done(request, application, _("決定案を決裁に回しました。"))
    return _done(request, application, _("決定を記録しました。"))


@staff_required
@require_POST
def recall(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    try:
        services.recall_decision(application=application, staff=request.user)
    except CounterError as exc:
        return _refused(request, application, exc, {}, "actions")
    return _done(request, application, _("決定案を引き上げました。"))


@staff_required
@require_POST
def correct_decision(request: HttpRequest, pk) -> HttpResponse:
    """The recorded correction procedure: 訂正 of the text, or 取消し (reopen)."""
    application = _application(request, pk)
    form = {
        "kind": request.POST.get("kind", ""),
        "reason": request.POST.get("reason", "")[:4000],
        "comment": request.POST.get("comment", "")[:4000],
        "correction_reason": request.POST.get("correction_reason", "")[:4000],
    }
    try:
        if form["kind"] == "amend":
            services.amend_decision(
                application=application,
                staff=request.user,
                reason=form["reason"],
                comment=form["comment"],
                correction_reason=form["correction_reason"],
                expected_version=_version(request),
            )
            text = _("決定を訂正しました。")
        elif form["kind"] == "reopen":
            services.reopen_decision(
                application=application,
                staff=request.user,
                correction_reason=form["correction_reason"],
                expected_version=_version(request),
            )
            text = _("決定を取り消し、審査に戻しました。")
        else:
            raise CounterError("訂正の種類を選んでください。", "Choose the kind of correction.")
    except CounterError as exc:
        return _refused(request, application, exc, form, "correction-reason")
    return _done(request, application, text)


@staff_required
@require_POST
def add_note(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    body = request.POST.get("body", "")[:4000]
    try:
        services.add_note(application=application, staff=request.user, body=body)
    except CounterError as exc:
        return _refused(request, application, exc, {"note": body}, "note-body")
    return _done(request, application, _("メモを追加しました。"), "#notes")


@staff_required
@require_POST
def post_message(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    body = request.POST.get("body", "")[:4000]
    try:
        services.post_message(application=application, staff=request.user, body=body)
    except CounterError as exc:
        return _refused(request, application, exc, {"message": body}, "staff-message")
    return _done(request, application, _("メッセージを送信しました。"), "#messages")


@staff_required
@require_POST
def my_number(request: HttpRequest, pk) -> HttpResponse:
    """Shows one 個人番号 in clear after the staff member chose why (recorded), with their
    second factor used in the last few minutes. Another unit's application is a 404 first,
    so that asking to re-authenticate reveals nothing."""
    application = _application(request, pk)
    return _reveal_my_number(request, application)


@identity.require_recent_auth
def _reveal_my_number(request: HttpRequest, application) -> HttpResponse:
    # The same form reveals a My Number or an answer the procedure marks `sensitive`.
    field_id = request.POST.get("field", "")[:63]
    purpose = request.POST.get("purpose", "")[:20]
    spec = application.procedure_version.spec.fields.get(field_id) or {}
    number, row = None, None
    try:
        if spec.get("sensitive") and spec.get("type") != "my_number":
            row = services.reveal_sensitive_answer(
                application=application, staff=request.user, field_id=field_id, purpose=purpose
            )
        else:
            number = services.reveal_my_number(
                application=application, staff=request.user, field_id=field_id, purpose=purpose
            )
    except CounterError as exc:
        return _refused(request, application, exc, {"purpose": purpose}, f"mn-{field_id}")
    response = render(
        request,
        "backoffice/my_number.html",
        {
            "application": application,
            "label": localized(spec, "label") or field_id,
            "number": number,
            "row": row,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@identity.require_recent_auth
def _open_sensitive_file(request: HttpRequest, application, link, purpose: str) -> HttpResponse:
    # Like showing a My Number: a second factor used in the last few minutes.
    try:
        services.open_sensitive_file(
            application=application, staff=request.user, link=link, purpose=purpose
        )
    except CounterError as exc:
        return _refused(
            request, application, exc, {"purpose": purpose}, f"file-{link.stored_file_id}"
        )
    return _file_response(link.stored_file, inline=request.GET.get("download") != "1")


def _is_sensitive_file(application, link) -> bool:
    spec = application.procedure_version.spec.fields.get(link.field_id) or {}
    return bool(spec.get("sensitive"))


def _file_response(stored, *, inline: bool) -> FileResponse:
    response = FileResponse(
        open_stored(stored),
        content_type=stored.content_type,
        as_attachment=not inline,
        filename=stored.original_name,
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
def download_file(request: HttpRequest, pk, file_id) -> HttpResponse:
    application = _application(request, pk)
    link = counter_selectors.file_of_application(application, file_id)
    if link is None:
        raise Http404
    if _is_sensitive_file(application, link):
        purpose = request.GET.get("purpose", "")[:20]
        try:
            services.check_sensitive_file(
                application=application, staff=request.user, purpose=purpose
            )
        except CounterError as exc:
            return _refused(
                request, application, exc, {"purpose": purpose}, f"file-{link.stored_file_id}"
            )
        return _open_sensitive_file(request, application, link, purpose)
    integrations.log_access(
        actor=request.user,
        application=application,
        what="attachment",
        object_type="file",
        object_id=str(link.stored_file_id),
    )
    return _file_response(link.stored_file, inline=request.GET.get("download") != "1")


@staff_required
@require_GET
def file_preview(request: HttpRequest, pk, file_id, page: int) -> HttpResponse:
    """A page of a PDF attachment as a PNG image, to read it inline on the page."""
    application = _application(request, pk)
    link = counter_selectors.file_of_application(application, file_id)
    if link is None or link.stored_file.content_type != "application/pdf":
        raise Http404
    # Each page shown is an access to the attachment (staff cannot hide their accesses).
    if _is_sensitive_file(application, link):
        # Not embedded in the page: asked for with a purpose, by the handler role, who
        # used their second factor in the last few minutes (as to open the file itself).
        user = request.user
        if not identity.recently_authenticated(
            request, second_factor=identity.has_second_factor(user)
        ):
            return HttpResponse(
                _("ファイルを開き直して、もう一度本人確認をしてください。"),
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        try:
            services.open_sensitive_file(
                application=application,
                staff=request.user,
                link=link,
                purpose=request.GET.get("purpose", "")[:20],
            )
        except CounterError as exc:
            return HttpResponse(
                exc.en if _english() else exc.ja,
                status=exc.status if exc.status in (403, 422) else 409,
                content_type="text/plain; charset=utf-8",
            )
    else:
        integrations.log_access(
            actor=request.user,
            application=application,
            what="attachment",
            object_type="file",
            object_id=str(link.stored_file_id),
        )
    image = previews.page_png(link.stored_file, page)
    if image is None:
        raise Http404
    response = HttpResponse(image, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- 書かない窓口 ----------------------------------------------------------------------------


@staff_required
def counter_start(request: HttpRequest) -> HttpResponse:
    procedures = list(services.counter_procedures(request.user))
    errors: list[InputError] = []
    values = {
        "procedure": request.POST.get("procedure", ""),
        "email": request.POST.get("email", "")[:254],
    }
    if request.method == "POST":
        procedure = next((p for p in procedures if str(p.pk) == values["procedure"]), None)
        resident = services.find_resident(values["email"])
        if procedure is None:
            errors.append(
                _error("procedure", ja="手続を選んでください。", en="Choose the procedure.")
            )
        if resident is None:
            errors.append(
                _error(
                    "email",
                    ja="このメールアドレスのアカウントが見つかりません。",
                    en="No account with this e-mail address.",
                )
            )
        if not errors:
            try:
                application = services.start_assisted_application(
                    staff=request.user, procedure=procedure, resident=resident
                )
            except CounterError as exc:
                errors.append(_error("procedure", exc))
            else:
                return redirect("backoffice:counter_overview", pk=application.pk)
    drafts = (
        services.Application.objects.filter(
            entered_by=request.user, state=State.DRAFT, channel="counter"
        )
        .select_related("procedure_version", "applicant")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "backoffice/counter_start.html",
        {"procedures": procedures, "errors": errors, "values": values, "drafts": drafts},
        status=422 if errors else 200,
    )


def _assisted(request, pk):
    application = services.assisted_draft_for(request.user, pk)
    if application is None:
        raise Http404
    return application


@staff_required
def counter_overview(request: HttpRequest, pk) -> HttpResponse:
    application = _assisted(request, pk)
    definition = application.procedure_version.spec
    first = application.current_page or (definition.pages[0].id if definition.pages else "")
    return render(
        request,
        "backoffice/counter_overview.html",
        {
            "application": application,
            "version": application.procedure_version,
            "entry": application.assisted_entry,
            "continue_url": reverse("counter:check", args=[application.pk])
            if first == "_check"
            else reverse("counter:page", args=[application.pk, first]),
            "missing": definition.missing_answers(application.answers),
        },
    )


def _summary_context(request, application, **extra) -> dict:
    definition = application.procedure_version.spec
    return {
        "application": application,
        "version": application.procedure_version,
        # The resident checks and signs this summary at the counter, beside the staff
        # member who typed their answers in: it shows what they sign, sensitive or not.
        "sections": definition.display_rows(
            application.answers, DisplayContext(reveal_sensitive=True)
        ),
        "problems": definition.missing_answers(application.answers),
        "fee": definition.fee(application.answers),
        "documents": AssistedEntry.IdentityDocument.choices,
        "summary_sha256": services.summary_hash(application),
        "now": timezone.localtime(),
        **extra,
    }


def _confirm(request, application, confirmation: str, template: str):
    values = {
        "identity_document": request.POST.get("identity_document", ""),
        "confirmed": request.POST.get("confirmed", ""),
    }
    try:
        submitted = services.confirm_assisted_application(
            application=application,
            staff=request.user,
            confirmation=confirmation,
            identity_document=values["identity_document"],
            resident_confirmed=values["confirmed"] == "yes",
            signed_summary=request.FILES.get("signed_summary"),
        )
    except CounterError as exc:
        error = _error("identity_document", exc)
        return render(
            request,
            template,
            _summary_context(request, application, errors=[error], values=values),
            status=exc.status if exc.status in (403, 409, 422) else 409,
        )
    except Exception as exc:  # an upload refused by the file checks
        from madoguchi.files.services import UploadRejected

        if not isinstance(exc, UploadRejected):
            raise
        error = _error("signed_summary", ja=exc.ja, en=exc.en)
        return render(
            request,
            template,
            _summary_context(request, application, errors=[error], values=values),
            status=422,
        )
    messages.success(
        request,
        _("申請を受け付けました。受付番号: %(number)s") % {"number": submitted.receipt_number},
    )
    return (
        redirect("backoffice:detail", pk=submitted.pk)
        if selectors.application_for_staff(request.user, submitted.pk)
        else redirect("backoffice:counter_start")
    )


@staff_required
def counter_confirm(request: HttpRequest, pk) -> HttpResponse:
    """The tablet: the resident reads what was entered and confirms it."""
    application = _assisted(request, pk)
    if request.method == "POST":
        return _confirm(
            request,
            application,
            AssistedEntry.Confirmation.TABLET,
            "backoffice/counter_confirm.html",
        )
    return render(
        request, "backoffice/counter_confirm.html", _summary_context(request, application)
    )


@staff_required
def counter_print(request: HttpRequest, pk) -> HttpResponse:
    """The printed summary the resident signs; staff then attach its scan and submit."""
    application = _assisted(request, pk)
    if request.method == "POST":
        return _confirm(
            request,
            application,
            AssistedEntry.Confirmation.SIGNED_PAPER,
            "backoffice/counter_print.html",
        )
    return render(request, "backoffice/counter_print.html", _summary_context(request, application))


# --- outbox and settings --------------------------------------------------------------------


@staff_required
def outbox(request: HttpRequest) -> HttpResponse:
    """E-mails about the applications of the user's units that failed or are still
    waiting, with their error, so that nothing is silently lost."""
    status = request.GET.get("status", OutboundEmail.Status.FAILED)
    if status not in OutboundEmail.Status.values:
        status = OutboundEmail.Status.FAILED
    emails = list(
        OutboundEmail.objects.filter(status=status, related_type="application").order_by(
            "-created_at"
        )[:500]
    )
    unit_ids = permissions.unit_ids_with(request.user, permissions.VIEW)
    keys = {selectors._uuid(email.related_id) for email in emails} - {None}
    visible = {
        str(application.pk): application
        for application in services.Application.objects.filter(
            pk__in=keys, unit_id__in=unit_ids
        ).select_related("procedure_version")
    }
    rows = [(email, visible[email.related_id]) for email in emails if email.related_id in visible]
    return render(
        request,
        "backoffice/outbox.html",
        {"rows": rows[:100], "status": status, "statuses": OutboundEmail.Status.choices},
    )


@staff_required
@require_POST
def outbox_retry(request: HttpRequest, email_id: int) -> HttpResponse:
    email = OutboundEmail.objects.filter(pk=email_id, related_type="application").first()
    if email is None or selectors.application_for_staff(request.user, email.related_id) is None:
        raise Http404
    retry_email(email=email)
    messages.success(request, _("再送を予約しました。"))
    return redirect(reverse("backoffice:outbox") + "?status=" + email.status)


@staff_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        mode = request.POST.get("mode", "")
        if mode in StaffNotificationSetting.Mode.values:
            set_staff_mode(user=request.user, mode=mode)
            messages.success(request, _("通知の設定を保存しました。"))
            return redirect("backoffice:home")
        messages.error(request, _("受け取り方を選んでください。"))
    return render(
        request,
        "backoffice/notification_settings.html",
        {"mode": setting_of(request.user), "modes": StaffNotificationSetting.Mode.choices},
    )
