"""Pages of issued documents: the resident's downloads, public verification, staff actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.catalogue.errors import FieldError

from . import selectors, services, verification
from .models import DocumentState, RevocationReason

VERIFY_RATE = 30  # uploads per address and window: checking a PDF costs tens of ms
VERIFY_WINDOW = 600


def _english() -> bool:
    return (get_language() or "ja").startswith("en")


def _pdf_response(document, *, as_attachment: bool) -> FileResponse:
    response = FileResponse(
        document.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=as_attachment,
        filename=f"{document.number}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- the resident ------------------------------------------------------------------------


@login_required
def my_documents(request: HttpRequest) -> HttpResponse:
    documents = list(selectors.documents_for_resident(request.user)[:200])
    return render(request, "issuance/my_documents.html", {"documents": documents})


@login_required
def document_detail(request: HttpRequest, pk) -> HttpResponse:
    document = selectors.document_for_resident(request.user, pk)
    if document is None:
        raise Http404
    return render(
        request,
        "issuance/document.html",
        {
            "document": document,
            "can_download": selectors.can_download(document),
            "verify_url": f"/verify/{document.pk}/",
        },
    )


@login_required
def download(request: HttpRequest, pk) -> HttpResponse:
    document = selectors.document_for_resident(request.user, pk)
    if document is None or not selectors.can_download(document):
        raise Http404
    return _pdf_response(document, as_attachment=True)


# --- public verification ------------------------------------------------------------------


def _client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _over_rate(request: HttpRequest) -> bool:
    key = f"issuance:verify:{_client_address(request)}"
    cache.add(key, 0, VERIFY_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, VERIFY_WINDOW)
        count = 1
    return count > VERIFY_RATE


def verify(request: HttpRequest, pk=None) -> HttpResponse:
    """Anyone, without logging in: upload a PDF, or open the QR code's link."""
    record = None
    if pk is not None:
        record = verification.verify_by_id(pk)
        if record is None:
            raise Http404
    result = None
    errors: list[FieldError] = []
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if _over_rate(request):
            errors.append(
                FieldError(
                    "file",
                    "確認の回数が多すぎます。しばらくしてからもう一度お試しください。",
                    "Too many checks; try again later.",
                    "rate",
                )
            )
            status = 429
        elif upload is None:
            errors.append(
                FieldError(
                    "file", "確認するPDFファイルを選んでください。", "Choose a PDF.", "required"
                )
            )
            status = 422
        elif upload.size > verification.settings.MADOGUCHI_VERIFY_MAX_BYTES:
            result = verification.Verification(verification.TOO_LARGE)
        else:
            result = verification.verify_pdf(upload.read())
        if result is not None and record is not None and result.document not in (None, record):
            # The file is another document than the one the QR code names.
            result.details["other_document"] = True
    context = {
        "record": record,
        "record_public": verification.public_record(record) if record else None,
        "result": result,
        "result_public": result.as_dict() if result else None,
        "errors": errors,
    }
    return render(request, "issuance/verify.html", context, status=status)


# --- staff -------------------------------------------------------------------------------


def _staff_document(request: HttpRequest, pk):
    document = selectors.document_for_staff(request.user, pk)
    if document is None:
        raise Http404
    return document


def _can_revoke(user, document) -> bool:
    try:
        from madoguchi.organisation import roles
        from madoguchi.organisation import selectors as organisation
    except ImportError:
        return False
    decide = getattr(roles, "DECIDE", None)
    has_permission = getattr(organisation, "has_permission", None)
    if decide is None or has_permission is None:
        return True
    return has_permission(user, decide, unit=document.unit)


@login_required
def staff_document(request: HttpRequest, pk) -> HttpResponse:
    document = _staff_document(request, pk)
    return _render_staff(request, document)


def _render_staff(request, document, *, errors=None, values=None, status: int = 200):
    return render(
        request,
        "issuance/staff_document.html",
        {
            "document": document,
            "history": list(selectors.history(document)),
            "reasons": RevocationReason.choices,
            "can_revoke": document.state == DocumentState.ISSUED
            and _can_revoke(request.user, document),
            "errors": errors or [],
            "values": values or {},
            "ledger": selectors.ledger_evidence(document),
        },
        status=status,
    )


@login_required
def staff_download(request: HttpRequest, pk) -> HttpResponse:
    document = _staff_document(request, pk)
    if not document.pdf:
        raise Http404
    _log_access(request, document)
    return _pdf_response(document, as_attachment=False)


def _log_access(request, document) -> None:
    """Staff opening a person's issued document is an access the person can see. It is
    written before the document is served; if it cannot be, the document is not served
    (as in the back office): an access nobody can see must not happen."""
    from madoguchi.counter.selectors import data_subjects
    from madoguchi.ledger import services as ledger

    # A document issued on an application made for someone else is about that person.
    for person in data_subjects(document.application):
        ledger.log_access(
            actor=request.user,
            unit=document.unit,
            subject_user=person,
            what="document",
            object_type="document",
            object_id=str(document.pk),
            purpose="issuance",
        )


@login_required
@require_POST
def staff_resend(request: HttpRequest, pk) -> HttpResponse:
    document = _staff_document(request, pk)
    try:
        services.resend_notification(document=document, staff=request.user)
        messages.success(request, _("申請者にお知らせを再送しました。"))
    except services.IssuanceError as exc:
        messages.error(request, exc.en if _english() else exc.ja)
    return redirect("issuance:staff_document", pk=document.pk)


@login_required
@require_POST
def staff_retry(request: HttpRequest, pk) -> HttpResponse:
    document = _staff_document(request, pk)
    try:
        services.retry_document(document=document, staff=request.user)
        messages.success(request, _("文書の作成をやり直しています。"))
    except services.IssuanceError as exc:
        messages.error(request, exc.en if _english() else exc.ja)
    return redirect("issuance:staff_document", pk=document.pk)


@login_required
@require_POST
def staff_revoke(request: HttpRequest, pk) -> HttpResponse:
    document = _staff_document(request, pk)
    values = {
        "reason": request.POST.get("reason", "")[:20],
        "note": request.POST.get("note", "")[:2000],
    }
    if not _can_revoke(request.user, document):
        messages.error(request, _("失効させる権限がありません（決裁者が行います）。"))
        return _render_staff(request, document, values=values, status=403)
    try:
        services.revoke_document(
            document=document, staff=request.user, reason=values["reason"], note=values["note"]
        )
    except services.IssuanceError as exc:
        field = "note" if values["reason"] in RevocationReason.values else "reason"
        error = FieldError(field, exc.ja, exc.en, exc.code)
        return _render_staff(request, document, errors=[error], values=values, status=422)
    messages.success(request, _("文書を失効させました。検証すると「失効」と表示されます。"))
    return redirect("issuance:staff_document", pk=document.pk)
