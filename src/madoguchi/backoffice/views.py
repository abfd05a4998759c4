"""A minimal staff view: the applications of the staff member's units, each one opened
under the procedure version it was submitted under. The full back office (queues, SLA,
approval routes) is a separate capability."""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.catalogue.fieldtypes import DisplayContext
from madoguchi.counter import selectors, services, states
from madoguchi.counter.models import State
from madoguchi.organisation.selectors import is_staff_member, memberships_of


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_staff_member(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _message(error: services.CounterError) -> str:
    return error.en if (get_language() or "ja").startswith("en") else error.ja


def _application(request: HttpRequest, pk):
    application = selectors.application_for_staff(request.user, pk)
    if application is None:
        raise Http404
    return application


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    queryset = selectors.applications_for_staff(request.user)
    state = request.GET.get("state", "")
    if state in State.values:
        queryset = queryset.filter(state=state)
    counts = selectors.counts_by_state(selectors.applications_for_staff(request.user))
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "state": state,
        "states": [
            (value, label, counts.get(value, 0))
            for value, label in State.choices
            if value != State.DRAFT
        ],
        "memberships": memberships_of(request.user),
    }
    return render(request, "backoffice/home.html", context)


@staff_required
def detail(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    definition = application.procedure_version.spec
    correction = application.corrections.first()
    context = {
        "application": application,
        "version": application.procedure_version,
        "sections": definition.display_rows(application.answers, DisplayContext()),
        "history": selectors.history(application),
        "messages_list": application.messages.select_related("author"),
        "actions": [
            t
            for t in states.available(application.state, "staff")
            if t.name != "request_correction"
        ],
        "can_request_correction": states.allowed("request_correction", application.state),
        "fields": [
            (field_id, spec.get("label", field_id))
            for field_id, spec in definition.fields.items()
            if spec["type"] != "notice"
        ],
        "correction": correction,
        "changes": _changes(definition, correction),
        "today": timezone.localdate(),  # the reply-by date is checked in Japan's time
    }
    return render(request, "backoffice/detail.html", context)


def _changes(definition, correction) -> list[dict[str, str]]:
    """What the resident changed in answer to the latest 補正, as staff read it."""
    if correction is None:
        return []

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


@staff_required
@require_POST
def act(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    version_text = request.POST.get("lock_version", "")
    try:
        services.staff_transition(
            application=application,
            staff=request.user,
            name=request.POST.get("action", ""),
            comment=request.POST.get("comment", "")[:4000],
            expected_version=int(version_text) if version_text.isdigit() else None,
        )
        messages.success(request, _("操作を記録しました。"))
    except services.CounterError as exc:
        messages.error(request, _message(exc))
    return redirect("backoffice:detail", pk=application.pk)


@staff_required
@require_POST
def request_correction(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    reply_by = None
    raw_date = request.POST.get("reply_by", "")
    if raw_date:
        try:
            reply_by = dt.date.fromisoformat(raw_date)
        except ValueError:
            messages.error(request, _("回答期限は 2026-12-01 の形式で入力してください。"))
            return redirect("backoffice:detail", pk=application.pk)
    try:
        services.request_correction(
            application=application,
            staff=request.user,
            field_ids=request.POST.getlist("fields"),
            message=request.POST.get("message", "")[:4000],
            reply_by=reply_by,
        )
        messages.success(request, _("補正を依頼しました。"))
    except services.CounterError as exc:
        messages.error(request, _message(exc))
    return redirect("backoffice:detail", pk=application.pk)


@staff_required
@require_POST
def post_message(request: HttpRequest, pk) -> HttpResponse:
    application = _application(request, pk)
    try:
        services.post_message(
            application=application,
            author=request.user,
            body=request.POST.get("body", ""),
            from_staff=True,
        )
        messages.success(request, _("メッセージを送信しました。"))
    except services.CounterError as exc:
        messages.error(request, _message(exc))
    return redirect("backoffice:detail", pk=application.pk)


@staff_required
def download_file(request: HttpRequest, pk, file_id) -> FileResponse:
    application = _application(request, pk)
    link = selectors.file_of_application(application, file_id)
    if link is None:
        raise Http404
    stored = link.stored_file
    response = FileResponse(
        stored.file.open("rb"), content_type=stored.content_type, filename=stored.original_name
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    response["Cache-Control"] = "private, no-store"
    return response
