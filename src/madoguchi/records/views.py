"""The records officer's and staff pages (/staff/records/) and the public register
(/transparency/records/). Views are thin: services decide, selectors scope."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from madoguchi.files.services import open_stored
from madoguchi.ledger import selectors as ledger_selectors
from madoguchi.ledger.models import AccessPurpose
from madoguchi.organisation.selectors import body_by_code, is_staff_member

from . import exports, selectors, services
from .models import (
    FileState,
    HoldReason,
    LegalHold,
    ProposalAction,
    RecordKind,
    RetentionClass,
)


@dataclass(frozen=True)
class InputError:
    input_id: str
    message: str


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def _message(exc: services.RecordsError) -> str:
    return exc.en if _english() else exc.ja


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_staff_member(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _file(request: HttpRequest, pk):
    file = selectors.file_for_staff(request.user, pk)
    if file is None:
        raise Http404
    return file


# --- the register ----------------------------------------------------------------------


@staff_required
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    files = selectors.search(selectors.files_for_staff(request.user), request.GET)
    page = Paginator(files, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "query": query.urlencode(),
        "values": {
            key: request.GET.get(key, "") for key in ("q", "year", "state", "retention", "unit")
        },
        "states": FileState.choices,
        "retention_classes": RetentionClass.choices,
        "officer_bodies": list(selectors._records_bodies(request.user)),
    }
    return render(request, "records/register.html", context)


@staff_required
@require_GET
def register_csv(request: HttpRequest) -> StreamingHttpResponse:
    files = selectors.search(selectors.files_for_staff(request.user), request.GET)
    response = StreamingHttpResponse(
        exports.register_csv_rows(files), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="gyoseibunsho-file-kanribo.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _file_context(request, file, *, errors=None, values=None) -> dict:
    officer = services.is_records_officer(request.user, file.body)
    entries = ledger_selectors.subject_entries(subject_type="record_file", subject_id=file.pk)
    return {
        "file": file,
        "records": selectors.records_of(file),
        "holds": file.holds.select_related("placed_by", "released_by"),
        "proposals": file.proposals.select_related("proposed_by"),
        "extensions": file.extensions.all(),
        "officer": officer,
        "hold_reasons": HoldReason.choices,
        "actions": ProposalAction.choices,
        "purposes": AccessPurpose.choices,
        "ledger": entries,
        "expired": file.expiry is not None
        and not file.on_hold
        and file.expiry < timezone.localdate(),
        "errors": errors or [],
        "error_by": {error.input_id.replace("-", "_"): error.message for error in errors or []},
        "values": values or {},
    }


@staff_required
@require_GET
def file_detail(request: HttpRequest, pk) -> HttpResponse:
    file = _file(request, pk)
    return render(request, "records/file.html", _file_context(request, file))


def _date(value: str):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return "invalid"


@staff_required
@require_POST
def place_hold(request: HttpRequest, pk) -> HttpResponse:
    file = _file(request, pk)
    values = {
        key: request.POST.get(key, "")[:2000]
        for key in ("reason", "description", "ends_on", "end_event")
    }
    ends_on = _date(values["ends_on"])
    if ends_on == "invalid":
        errors = [InputError("hold-ends_on", "終了予定日は 2027-03-31 の形式で入力してください。")]
        return render(
            request,
            "records/file.html",
            _file_context(request, file, errors=errors, values=values),
            status=422,
        )
    try:
        services.place_hold(
            actor=request.user,
            file=file,
            reason=values["reason"],
            description=values["description"],
            ends_on=ends_on,
            end_event=values["end_event"],
        )
    except services.InvalidInput as exc:
        errors = [InputError(f"hold-{exc.field or 'reason'}", _message(exc))]
        return render(
            request,
            "records/file.html",
            _file_context(request, file, errors=errors, values=values),
            status=422,
        )
    except services.RecordsError as exc:
        return render(
            request,
            "records/file.html",
            _file_context(
                request, file, errors=[InputError("hold-reason", _message(exc))], values=values
            ),
            status=exc.status,
        )
    messages.success(request, "保留を設定しました。保存期間の満了日を更新しました。")
    return redirect("records:file", pk=file.pk)


@staff_required
@require_POST
def release_hold(request: HttpRequest, pk, hold_id: int) -> HttpResponse:
    file = _file(request, pk)
    hold = LegalHold.objects.filter(pk=hold_id, file=file).first()
    if hold is None:
        raise Http404
    try:
        services.release_hold(
            actor=request.user, hold=hold, note=request.POST.get("note", "")[:2000]
        )
    except services.RecordsError as exc:
        messages.error(request, _message(exc))
        return redirect("records:file", pk=file.pk)
    messages.success(request, "保留を解除しました。")
    return redirect("records:file", pk=file.pk)


@staff_required
@require_POST
def propose(request: HttpRequest, pk) -> HttpResponse:
    file = _file(request, pk)
    values = {
        key: request.POST.get(key, "")[:2000] for key in ("action", "reason", "extension_years")
    }
    years_text = values["extension_years"].strip()
    years = int(years_text) if years_text.isdigit() else (None if not years_text else -1)
    try:
        proposal = services.propose_disposition(
            actor=request.user,
            file=file,
            action=values["action"],
            reason=values["reason"],
            extension_years=years,
        )
    except services.InvalidInput as exc:
        errors = [InputError(f"propose-{exc.field or 'action'}", _message(exc))]
        return render(
            request,
            "records/file.html",
            _file_context(request, file, errors=errors, values=values),
            status=422,
        )
    except services.RecordsError as exc:
        errors = [InputError("propose-action", _message(exc))]
        return render(
            request,
            "records/file.html",
            _file_context(request, file, errors=errors, values=values),
            status=exc.status,
        )
    messages.success(request, "起案しました。決裁が終わると実施されます。")
    return redirect("records:proposal", pk=proposal.pk)


@staff_required
@require_GET
def expired(request: HttpRequest) -> HttpResponse:
    files = selectors.expired_files(request.user)
    page = Paginator(files, 50).get_page(request.GET.get("page"))
    return render(request, "records/expired.html", {"page": page})


@staff_required
@require_GET
def proposals(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.proposals_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "records/proposals.html", {"page": page})


@staff_required
@require_GET
def proposal_detail(request: HttpRequest, pk) -> HttpResponse:
    proposal = selectors.proposal_for(request.user, pk)
    if proposal is None:
        raise Http404
    return render(request, "records/proposal.html", {"proposal": proposal})


# --- 見読性: the original of a record ------------------------------------------------------


def _opened_record(request: HttpRequest, pk):
    """The record, after access control and the access log; None when a purpose must
    first be chosen. A refusal renders the refusal page (it is logged by the service)."""
    record = selectors.record_for_staff(request.user, pk)
    if record is None:
        raise Http404
    purpose = request.GET.get("purpose", "")
    if not purpose:
        return record, None
    services.open_record(user=request.user, record=record, purpose=purpose)
    return record, purpose


def _refused(request, exc: services.RecordsError, record=None) -> HttpResponse:
    return render(
        request,
        "records/refused.html",
        {"message": _message(exc), "record": record},
        status=exc.status,
    )


@staff_required
@require_GET
def record_detail(request: HttpRequest, pk) -> HttpResponse:
    try:
        record, purpose = _opened_record(request, pk)
    except services.InvalidInput as exc:
        record = selectors.record_for_staff(request.user, pk)
        errors = [InputError("purpose", _message(exc))]
        return render(
            request,
            "records/record_purpose.html",
            {"record": record, "purposes": AccessPurpose.choices, "errors": errors},
            status=422,
        )
    except services.RecordsError as exc:
        return _refused(request, exc)
    if purpose is None:
        # Refused before asking why: a refusal is shown (and logged) at once.
        try:
            services.check_record_access(request.user, record)
        except services.RecordsError as exc:
            return _refused(request, exc, record)
        return render(
            request,
            "records/record_purpose.html",
            {"record": record, "purposes": AccessPurpose.choices, "errors": []},
        )
    sections = []
    original_text = ""
    if record.original is not None:
        data = bytes(record.original)
        if record.kind == RecordKind.APPLICATION and record.procedure_version_id:
            from madoguchi.catalogue.fieldtypes import DisplayContext

            sections = record.procedure_version.spec.display_rows(
                json.loads(data), DisplayContext()
            )
        else:
            original_text = json.dumps(json.loads(data), ensure_ascii=False, indent=2)
        original_ok = hashlib.sha256(data).hexdigest() == record.original_sha256
    else:
        original_ok = None
    entry = (
        ledger_selectors.entry_for_event(record.filed_event_id) if record.filed_event_id else None
    )
    context = {
        "record": record,
        "purpose": purpose,
        "sections": sections,
        "original_text": original_text,
        "original_ok": original_ok,
        "entry": entry,
        "entry_name": (entry.log.body.code if entry and entry.log.body_id else "deployment"),
        "subject_entries": (
            ledger_selectors.subject_entries(
                subject_type="application", subject_id=record.object_id
            )
            if record.object_type == "application"
            else {"rows": [], "waiting": False}
        ),
    }
    return render(request, "records/record.html", context)


@staff_required
@require_GET
def record_original(request: HttpRequest, pk) -> HttpResponse:
    try:
        record, purpose = _opened_record(request, pk)
    except services.RecordsError as exc:
        return _refused(request, exc)
    if purpose is None or record.original is None:
        raise Http404
    response = HttpResponse(bytes(record.original), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="record-{record.pk}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
@require_GET
def record_file(request: HttpRequest, pk, sha256: str) -> FileResponse:
    from django.apps import apps

    try:
        record, purpose = _opened_record(request, pk)
    except services.RecordsError as exc:
        return _refused(request, exc)
    item = next((item for item in record.files if item.get("sha256") == sha256), None)
    if purpose is None or item is None:
        raise Http404
    handle = None
    if item.get("stored_file"):
        stored = (
            apps.get_model("files", "StoredFile").objects.filter(pk=item["stored_file"]).first()
        )
        handle = open_stored(stored) if stored is not None and stored.file else None
    elif item.get("issued_document"):
        document = (
            apps.get_model("issuance", "IssuedDocument")
            .objects.filter(pk=item["issued_document"])
            .first()
        )
        handle = document.pdf.open("rb") if document is not None and document.pdf else None
    if handle is None:
        raise Http404
    response = FileResponse(
        handle,
        content_type=item.get("content_type") or "application/octet-stream",
        filename=item.get("name") or sha256,
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- the public register -------------------------------------------------------------------


@require_GET
def public_bodies(request: HttpRequest) -> HttpResponse:
    from madoguchi.organisation.models import Body

    bodies = Body.objects.order_by("code")
    return render(request, "records/public_bodies.html", {"bodies": bodies})


def _public_files(request, code: str):
    body = body_by_code(code)
    if body is None:
        raise Http404
    return body, selectors.search(selectors.public_register(body), request.GET)


@require_GET
def public_register(request: HttpRequest, code: str) -> HttpResponse:
    body, files = _public_files(request, code)
    page = Paginator(files, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "body": body,
        "page": page,
        "query": query.urlencode(),
        "values": {key: request.GET.get(key, "") for key in ("q", "year")},
    }
    return render(request, "records/public_register.html", context)


@require_GET
def public_register_csv(request: HttpRequest, code: str) -> StreamingHttpResponse:
    body, files = _public_files(request, code)
    response = StreamingHttpResponse(
        exports.register_csv_rows(files), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="kanribo-{body.code}.csv"'
    return response
