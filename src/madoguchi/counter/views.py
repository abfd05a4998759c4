from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from madoguchi.catalogue import selectors as catalogue_selectors
from madoguchi.catalogue.errors import FieldError
from madoguchi.catalogue.fieldtypes import DisplayContext
from madoguchi.catalogue.japanese import (
    Invalid,
    format_date,
    has_control_characters,
    parse_date_parts,
)
from madoguchi.files.services import UploadRejected, open_stored
from madoguchi.identity import levels
from madoguchi.identity.models import ResidentProfile
from madoguchi.identity.services import verified_answers

from . import selectors, services, states
from .models import ApplicantRole, Application, State
from .presentation import bind_fields, page_position


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def _message(error: services.CounterError) -> str:
    return error.en if _english() else error.ja


def _display_context(request: HttpRequest) -> DisplayContext:
    profile = ResidentProfile.objects.filter(user=request.user).only("date_style").first()
    # The resident's own pages show their own sensitive answers.
    return DisplayContext(
        date_style=profile.date_style if profile else "wareki", reveal_sensitive=True
    )


def _own_application(request: HttpRequest, pk) -> Application:
    """An application the requester may change: only the applicant's own, or a draft a
    staff member is entering with the resident at the counter (書かない窓口)."""
    application = selectors.application_for_resident(request.user, pk)
    if application is None:
        application = selectors.assisted_draft(request.user, pk)
        if application is not None:
            return application
    if application is None or application.applicant_id != request.user.pk:
        raise Http404
    return application


def _assisting(request: HttpRequest, application: Application) -> bool:
    return application.entered_by_id == request.user.pk and application.state == State.DRAFT


def _visible_application(request: HttpRequest, pk) -> Application:
    application = selectors.application_for_resident(request.user, pk)
    if application is None:
        raise Http404
    return application


# --- starting --------------------------------------------------------------------------


@login_required
@sensitive_post_parameters()
def start(request: HttpRequest, body_code: str, identifier: str) -> HttpResponse:
    procedure = catalogue_selectors.procedure_by_identifier(body_code, identifier)
    if procedure is None:
        raise Http404
    version = procedure.current_version
    proxy = version.definition.get("proxy") or {}
    profile = ResidentProfile.objects.filter(user=request.user).first()
    existing_drafts = selectors.applications_for_resident(request.user).filter(
        procedure=procedure, state=State.DRAFT, applicant=request.user
    )
    errors: list[FieldError] = []
    # Not ticked beforehand: using the profile is the resident's own choice (consent).
    values = {"role": ApplicantRole.SELF, "use_profile": ""}
    closed = ""
    try:
        services.check_open(version)
    except services.ProcedureClosed as exc:
        closed = _message(exc)

    if request.method == "POST" and not closed:
        values = {
            key: request.POST.get(key, "")
            for key in (
                "role",
                "use_profile",
                "subject_family",
                "subject_given",
                "subject_birth_year",
                "subject_birth_month",
                "subject_birth_day",
                "subject_email",
            )
        }
        role = values["role"] or ApplicantRole.SELF
        subject: dict[str, str] = {}
        if role not in [ApplicantRole.SELF, *proxy.get("allowed", [])]:
            errors.append(
                FieldError(
                    "role",
                    "どなたの申請かを選んでください。",
                    "Choose whose application this is.",
                    "required",
                )
            )
        elif role != ApplicantRole.SELF:
            for key, ja, en in (
                (
                    "subject_family",
                    "申請の対象となる方の姓を入力してください。",
                    "Enter the family name.",
                ),
                (
                    "subject_given",
                    "申請の対象となる方の名を入力してください。",
                    "Enter the given name.",
                ),
            ):
                if not values[key].strip():
                    errors.append(FieldError(key, ja, en, "required"))
                elif has_control_characters(values[key]):
                    errors.append(
                        FieldError(
                            key,
                            "使用できない制御文字が含まれています。",
                            "Contains control characters.",
                            "control_chars",
                        )
                    )
            try:
                birth = parse_date_parts(
                    values["subject_birth_year"],
                    values["subject_birth_month"],
                    values["subject_birth_day"],
                )
                subject["birth_date"] = birth.isoformat()
            except Invalid as exc:
                errors.append(FieldError("subject_birth.year", exc.ja, exc.en, exc.code))
            email = values["subject_email"].strip()
            if email:
                from django.core.exceptions import ValidationError
                from django.core.validators import validate_email

                try:
                    validate_email(email)
                    subject["email"] = email.lower()
                except ValidationError:
                    errors.append(
                        FieldError(
                            "subject_email",
                            "メールアドレスの形式で入力してください。",
                            "Enter a valid e-mail address.",
                            "email",
                        )
                    )
            subject["family_name"] = values["subject_family"].strip()[:50]
            subject["given_name"] = values["subject_given"].strip()[:50]
            if role == ApplicantRole.POWER_OF_ATTORNEY and not request.FILES.get("authority"):
                errors.append(
                    FieldError(
                        "authority",
                        "委任状のファイルを選択してください。",
                        "Choose the power of attorney file.",
                        "required",
                    )
                )
        if not errors:
            try:
                # A rejected 委任状 starts no draft: the pages offer no way to attach it later.
                with transaction.atomic():
                    application = services.start_application(
                        procedure=procedure,
                        applicant=request.user,
                        applicant_role=role,
                        subject_person=subject,
                        use_profile=values["use_profile"] == "yes" and role == ApplicantRole.SELF,
                    )
                    if role == ApplicantRole.POWER_OF_ATTORNEY:
                        services.attach_authority(
                            application=application,
                            upload=request.FILES["authority"],
                            actor=request.user,
                        )
                return redirect("counter:page", pk=application.pk, page_id=application.current_page)
            except UploadRejected as exc:
                errors.append(
                    FieldError(
                        "authority", f"委任状: {exc.ja}", f"Power of attorney: {exc.en}", exc.code
                    )
                )
            except services.CounterError as exc:
                messages.error(request, _message(exc))
    context = {
        "procedure": procedure,
        "version": version,
        "name": version.name_en if _english() and version.name_en else version.name,
        "proxy_roles": [(role, ApplicantRole(role).label) for role in proxy.get("allowed", [])],
        "profile_available": bool(profile and profile.has_data()),
        "errors": errors,
        "error_by": {error.path.split(".")[0]: error.message for error in errors},
        "values": values,
        "drafts": existing_drafts,
        "level_ok": levels.satisfies(levels.session_level(request), version.identity_level),
        "required_level": levels.LABELS[version.identity_level],
        "closed": closed,
        "demo_identity": _demo_identity_enabled(),
    }
    return render(request, "counter/start.html", context, status=422 if errors else 200)


def _demo_identity_enabled() -> bool:
    from django.conf import settings

    return settings.MADOGUCHI_DEMO_IDENTITY


# --- pages -----------------------------------------------------------------------------


@login_required
@sensitive_post_parameters()
def page(request: HttpRequest, pk, page_id: str) -> HttpResponse:
    application = _own_application(request, pk)
    if application.state != State.DRAFT:
        if application.state == State.CORRECTION_REQUESTED:
            return redirect("counter:correction", pk=application.pk)
        return redirect("counter:detail", pk=application.pk)
    definition = application.procedure_version.spec
    current = definition.page(page_id)
    if current is None or current not in definition.visible_pages(application.answers):
        raise Http404
    errors: list[FieldError] = []
    notice = ""
    returning = request.GET.get("return") == "check"
    if request.method == "POST":
        action = request.POST.get("action", "continue")[:200]
        try:
            outcome = services.save_page(
                application=application,
                page=current,
                data=request.POST,
                files=request.FILES,
                action=action,
                actor=request.user,
            )
        except services.CounterError as exc:
            messages.error(request, _message(exc))
            raw = {
                key: (
                    request.POST.getlist(key)
                    if len(request.POST.getlist(key)) > 1
                    else request.POST.get(key)
                )
                for key in request.POST
            }
            return _render_page(request, application, current, raw, [], status=409)
        if action == "save" and not outcome.stay:
            if _assisting(request, application):
                messages.success(request, _("入力した内容を保存しました。"))
                return redirect("backoffice:counter_overview", pk=application.pk)
            messages.success(
                request, _("下書きを保存しました。「わたしの申請」からいつでも続きを入力できます。")
            )
            return redirect("counter:my_applications")
        if outcome.errors or outcome.stay:
            application.refresh_from_db()
            errors = outcome.errors
            notice = outcome.notice
            return _render_page(
                request,
                application,
                current,
                outcome.raw,
                errors,
                notice=notice,
                # Whenever an error is shown (a postal code not found included): 422.
                status=422 if errors else 200,
            )
        # save_page saved its own copy of the application: judge by the answers just saved,
        # not by those loaded before this request.
        application.refresh_from_db(fields=["answers"])
        if returning and not definition.missing_answers(application.answers):
            return redirect("counter:check", pk=application.pk)
        if outcome.next_page is None:
            return redirect("counter:check", pk=application.pk)
        url = reverse(
            "counter:page", kwargs={"pk": application.pk, "page_id": outcome.next_page.id}
        )
        return redirect(url + ("?return=check" if returning else ""))
    return _render_page(
        request, application, current, services.raw_for_page(application, current), errors
    )


def _render_page(
    request, application, current, raw, errors, *, notice: str = "", status: int = 200
) -> HttpResponse:
    definition = application.procedure_version.spec
    number, total = page_position(definition, current, application.answers)
    previous = definition.previous_page(current.id, application.answers)
    fields = bind_fields(
        definition, current.fields, raw, errors, application.answers, english=_english()
    )
    single_question = (
        len([f for f in fields if f["type"] != "notice"]) == 1
        and fields
        and fields[-1]["type"] not in ("group", "name", "address", "date", "file")
    )
    context = {
        "application": application,
        "version": application.procedure_version,
        "page": current,
        "fields": fields,
        "errors": errors,
        "notice": notice,
        "step": number,
        "steps": total,
        "previous": previous,
        "returning": request.GET.get("return") == "check",
        "single_question": single_question,
        "has_files": any(f["type"] == "file" for f in fields),
    }
    return render(request, "counter/page.html", context, status=status)


# --- check and submit --------------------------------------------------------------------


@login_required
def check(request: HttpRequest, pk) -> HttpResponse:
    application = _own_application(request, pk)
    if application.state != State.DRAFT:
        return redirect(
            "counter:done" if application.receipt_number else "counter:detail", pk=application.pk
        )
    version = application.procedure_version
    definition = version.spec
    problems = definition.missing_answers(application.answers)
    level = levels.session_level(request)
    closed = ""
    try:
        services.check_open(version)
    except services.ProcedureClosed as exc:
        closed = _message(exc)
    if request.method == "POST" and _assisting(request, application):
        return redirect("backoffice:counter_overview", pk=application.pk)
    if request.method == "POST":
        try:
            application = services.submit_application(
                application=application, actor=request.user, identity_level=level
            )
            return redirect("counter:done", pk=application.pk)
        except services.IncompleteApplication as exc:
            problems = exc.problems
        except services.CounterError as exc:
            messages.error(request, _message(exc))
    sections = definition.display_rows(application.answers, _display_context(request))
    context = {
        "application": application,
        "version": version,
        "definition": version.definition,
        "sections": sections,
        "problems": [(page, error) for page, error in problems],
        "fee": definition.fee(application.answers),
        "level_ok": levels.satisfies(level, version.identity_level),
        "required_level": levels.LABELS[version.identity_level],
        "closed": closed,
        "demo_identity": _demo_identity_enabled(),
        "assisting": _assisting(request, application),
        # Prefilled values still as the My Number Card gave them, marked as verified.
        "verified": verified_answers(application),
    }
    return render(
        request, "counter/check.html", context, status=422 if request.method == "POST" else 200
    )


@login_required
def done(request: HttpRequest, pk) -> HttpResponse:
    application = _own_application(request, pk)
    if application.state == State.DRAFT:
        return redirect("counter:check", pk=application.pk)
    return render(
        request,
        "counter/done.html",
        {"application": application, "version": application.procedure_version},
    )


# --- after submission ---------------------------------------------------------------------


@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    applications = list(selectors.applications_for_resident(request.user)[:200])
    drafts = [a for a in applications if a.state == State.DRAFT]
    submitted = [a for a in applications if a.state != State.DRAFT]
    return render(
        request, "counter/my_applications.html", {"drafts": drafts, "submitted": submitted}
    )


@login_required
def detail(request: HttpRequest, pk) -> HttpResponse:
    application = _visible_application(request, pk)
    if application.state == State.DRAFT:
        # A draft whose pages are all answered continues on the check page ("_check").
        if application.current_page == "_check":
            return redirect("counter:check", pk=application.pk)
        return redirect(
            "counter:page",
            pk=application.pk,
            page_id=application.current_page or application.procedure_version.spec.pages[0].id,
        )
    definition = application.procedure_version.spec
    own = application.applicant_id == request.user.pk
    correction = application.corrections.filter(answered_at__isnull=True).first()
    context = {
        "application": application,
        "version": application.procedure_version,
        "sections": definition.display_rows(application.answers, _display_context(request)),
        "history": _history_rows(application),
        "messages_list": application.messages.select_related("author").all(),
        "own": own,
        "can_withdraw": own and states.allowed("withdraw", application.state),
        "can_message": own and application.state not in states.FINAL_STATES,
        "correction": correction,
        "decision": services.current_decision(application)
        if application.state in states.DECIDED_STATES
        else None,
        "date_style": _display_context(request).date_style,
        # A message that could not be sent is offered again rather than lost.
        "message_draft": request.session.pop(f"message-draft-{application.pk}", ""),
    }
    return render(request, "counter/detail.html", context)


EVENT_LABELS = {
    "application.submitted": "申請を受け付けました",
    "application.start_review": "審査を始めました",
    "application.request_correction": "補正をお願いしました",
    "application.resubmit": "補正後の申請を受け付けました",
    "application.approve": "承認しました",
    "application.reject": "不承認としました",
    "application.return_to_applicant": "返戻しました",
    "application.route_approve": "承認しました",
    "application.route_reject": "不承認としました",
    "application.route_return": "返戻しました",
    "application.decision_amended": "決定の記載を訂正しました",
    "application.reopen": "決定を取り消し、審査をやり直しています",
    "application.withdrawn": "取り下げられました",
    "application.message_posted": "メッセージ",
}
EVENT_LABELS_EN = {
    "application.submitted": "Application received",
    "application.start_review": "Review started",
    "application.request_correction": "Correction requested",
    "application.resubmit": "Corrected application received",
    "application.approve": "Approved",
    "application.reject": "Rejected",
    "application.return_to_applicant": "Returned",
    "application.route_approve": "Approved",
    "application.route_reject": "Rejected",
    "application.route_return": "Returned",
    "application.decision_amended": "The decision was corrected",
    "application.reopen": "The decision was revoked; the review continues",
    "application.withdrawn": "Withdrawn",
    "application.message_posted": "Message",
}


def _history_rows(application: Application) -> list[dict]:
    labels = EVENT_LABELS_EN if _english() else EVENT_LABELS
    return [
        {
            "when": event.occurred_at,
            "label": labels.get(event.event_type, event.event_type),
            "by_staff": event.actor_kind == "staff",
        }
        for event in selectors.history_for_resident(application)
        if event.event_type != "application.message_posted"
    ]


@login_required
def withdraw(request: HttpRequest, pk) -> HttpResponse:
    application = _own_application(request, pk)
    if request.method == "POST":
        reason = request.POST.get("reason", "")[:1000]
        try:
            services.withdraw_application(
                application=application, actor=request.user, reason=reason
            )
            messages.success(request, _("申請を取り下げました。"))
            return redirect("counter:detail", pk=application.pk)
        except services.CounterError as exc:
            messages.error(request, _message(exc))
            return redirect("counter:detail", pk=application.pk)
    if not states.allowed("withdraw", application.state):
        messages.error(request, _("この申請は取り下げられません。"))
        return redirect("counter:detail", pk=application.pk)
    return render(
        request,
        "counter/withdraw.html",
        {"application": application, "version": application.procedure_version},
    )


@login_required
@require_POST
def discard(request: HttpRequest, pk) -> HttpResponse:
    application = _own_application(request, pk)
    try:
        services.discard_draft(application=application, actor=request.user)
        messages.success(request, _("下書きを削除しました。"))
    except services.CounterError as exc:
        messages.error(request, _message(exc))
    return redirect("counter:my_applications")


@login_required
@require_POST
def post_message(request: HttpRequest, pk) -> HttpResponse:
    application = _own_application(request, pk)
    try:
        services.post_message(
            application=application,
            author=request.user,
            body=request.POST.get("body", ""),
            from_staff=False,
        )
        messages.success(request, _("メッセージを送信しました。"))
    except services.CounterError as exc:
        messages.error(request, _message(exc))
        request.session[f"message-draft-{application.pk}"] = request.POST.get("body", "")[:4000]
    return redirect(reverse("counter:detail", kwargs={"pk": application.pk}) + "#messages")


@login_required
@sensitive_post_parameters()
def correction(request: HttpRequest, pk) -> HttpResponse:
    application = _own_application(request, pk)
    pending = application.corrections.filter(answered_at__isnull=True).first()
    if application.state != State.CORRECTION_REQUESTED or pending is None:
        return redirect("counter:detail", pk=application.pk)
    definition = application.procedure_version.spec
    from madoguchi.catalogue.definition import Page

    fields = [
        definition.fields[field_id]
        for field_id in services.correction_field_ids(definition, pending.field_ids)
    ]
    synthetic = Page({"id": "_correction", "title": _("補正"), "fields": fields})
    errors: list[FieldError] = []
    raw = services.raw_for_page(application, synthetic)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "continue")[:200]
        try:
            outcome = services.save_page(
                application=application,
                page=synthetic,
                data=request.POST,
                files=request.FILES,
                action=action,
                actor=request.user,
            )
            application.refresh_from_db()
            raw, errors = outcome.raw, outcome.errors
            if not errors and not outcome.stay:
                services.resubmit(application=application, actor=request.user)
                messages.success(request, _("補正した内容を提出しました。"))
                return redirect("counter:detail", pk=application.pk)
            status = 422 if errors else 200
        except services.IncompleteApplication as exc:
            errors = [error for _page, error in exc.problems]
            status = 422
        except services.CounterError as exc:
            messages.error(request, _message(exc))
            status = 409
    bound = bind_fields(definition, fields, raw, errors, application.answers, english=_english())
    context = {
        "application": application,
        "version": application.procedure_version,
        "correction": pending,
        "fields": bound,
        "errors": errors,
        "has_files": any(f["type"] == "file" for f in bound),
    }
    return render(request, "counter/correction.html", context, status=status)


@login_required
def download_file(request: HttpRequest, pk, file_id) -> FileResponse:
    application = _visible_application(request, pk)
    link = selectors.file_of_application(application, file_id)
    if link is None:
        raise Http404
    stored = link.stored_file
    response = FileResponse(
        open_stored(stored),
        content_type=stored.content_type,
        as_attachment=False,
        filename=stored.original_name,
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    response["Cache-Control"] = "private, no-store"
    return response


def format_submitted(value: dt.datetime) -> str:
    return format_date(timezone.localtime(value).date())
