"""Staff pages of payments (/staff/payments/): the day's takings by procedure and method,
the mismatches to look at, an application's fee, bank statements and the CSV export for
the accounting system (財務会計). Only the fees of the staff member's units are shown."""

from __future__ import annotations

import codecs
import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.core.csvsafe import SafeWriter
from madoguchi.counter.services import CounterError
from madoguchi.ledger.services import log_access
from madoguchi.organisation.selectors import is_staff_member

from . import permissions, receipts, selectors, services
from .models import BankReceipt, Refund

MAX_EXPORT_DAYS = 400
MAX_STATEMENT_BYTES = 5 * 1024 * 1024


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_staff_member(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _message(error: CounterError) -> str:
    return error.en if (get_language() or "ja").startswith("en") else error.ja


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    day = _date(request.GET.get("day")) or today
    if request.GET.get("day") and _date(request.GET.get("day")) is None:
        messages.error(request, _("日付は 2026-12-01 の形式で入力してください。"))
    query = request.GET.get("q", "").strip()[:40]
    found = list(selectors.applications_payable_by_staff(request.user, query)) if query else []
    context = {
        "day": day,
        "today": today,
        "totals": selectors.daily_totals(request.user, day),
        "mismatches": selectors.mismatches(request.user, today=today),
        "unpaid": selectors.unpaid_fees(request.user)[:50],
        "query": query,
        "found": found,
        "export_from": day.replace(day=1),
        "export_to": day,
    }
    return render(request, "payments/staff/home.html", context)


class Echo:
    def write(self, value: str) -> str:
        return value


@staff_required
def export(request: HttpRequest) -> HttpResponse:
    start = _date(request.GET.get("from"))
    end = _date(request.GET.get("to"))
    if start is None or end is None or end < start or (end - start).days > MAX_EXPORT_DAYS:
        messages.error(
            request,
            _(
                "出力する期間を 2026-12-01 の形式で、開始日 ≦ 終了日（400日以内）で指定してください。"
            ),
        )
        return redirect("payments_staff:home")
    writer = SafeWriter(Echo())

    def rows():
        yield codecs.BOM_UTF8.decode()  # Excel and most 財務会計 imports expect the BOM
        yield writer.writeheader(selectors.EXPORT_HEADER)
        for row in selectors.export_rows(request.user, start, end):
            yield writer.writerow(row)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="payments-{start}-{end}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _fee_context(request, fee) -> dict:
    application = fee.application
    payments = list(fee.payments.order_by("-created_at").select_related("receipt"))
    return {
        "fee": fee,
        "application": application,
        "version": application.procedure_version,
        "breakdown": fee.breakdown,
        "payments": [
            {
                "payment": payment,
                "history": list(selectors.history(payment)),
                "refunds": list(payment.refunds.order_by("created_at")),
                "receipt": getattr(payment, "receipt", None),
            }
            for payment in payments
        ],
        "today": timezone.localdate(),
        "values": {},
        "errors": [],
    }


@staff_required
def fee_detail(request: HttpRequest, application_id) -> HttpResponse:
    fee = selectors.fee_for_staff(request.user, application_id)
    if fee is None:
        from madoguchi.counter.selectors import application_for_staff

        application = application_for_staff(request.user, application_id)
        if application is None or not application.fee_amount:
            raise Http404
        fee = services.ensure_fee(application=application)
    context = _fee_context(request, fee)
    if request.method == "POST":
        action = request.POST.get("action", "")
        values = {key: request.POST.get(key, "")[:500] for key in request.POST}
        try:
            _act(request, fee, action, values)
            return redirect("payments_staff:fee", application_id=fee.application_id)
        except CounterError as exc:
            fee.refresh_from_db()
            context = _fee_context(request, fee)
            context["values"] = values
            context["errors"] = [{"action": action, "message": _message(exc)}]
            status = 403 if isinstance(exc, NotPermitted) else 422
            return render(request, "payments/staff/fee.html", context, status=status)
    return render(request, "payments/staff/fee.html", context)


def _amount(text: str) -> int:
    import unicodedata

    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace("円", "").strip()
    if not cleaned.isdigit():
        raise services.PaymentError(
            "金額は半角または全角の数字（円）で入力してください。", "Enter the amount in yen."
        )
    return int(cleaned)


class NotPermitted(services.PaymentError):
    status = 403
    code = "forbidden"


def _require_process(user, unit) -> None:
    if not permissions.may(user, permissions.PROCESS, unit):
        raise NotPermitted(
            "この操作の権限がありません（申請を処理する役割が必要です）。",
            "You may not do this (a role that processes applications is needed).",
        )


def _act(request, fee, action: str, values: dict) -> None:
    staff = request.user
    _require_process(staff, fee.unit)
    if action == "record":
        paid_on = _date(values.get("paid_on")) if values.get("paid_on") else None
        if values.get("paid_on") and paid_on is None:
            raise services.PaymentError(
                "収納日は 2026-12-01 の形式で入力してください。", "Use YYYY-MM-DD."
            )
        services.record_counter_payment(
            application=fee.application,
            staff=staff,
            amount=_amount(values.get("amount", "")),
            paid_on=paid_on,
            method=values.get("method") or "counter",
        )
        messages.success(request, _("収納を記録し、領収書を発行しました。"))
    elif action == "waive":
        services.waive_fee(
            application=fee.application, staff=staff, reason=values.get("reason", "")
        )
        messages.success(request, _("手数料を免除しました。"))
    elif action in ("refund", "cancel", "refund_done"):
        payment = fee.payments.filter(pk=_uuid_or_none(values.get("payment"))).first()
        if payment is None:
            raise services.PaymentError("対象の納付が見つかりません。", "Unknown payment.")
        if action == "refund":
            services.request_refund(
                payment=payment,
                staff=staff,
                amount=_amount(values.get("amount", "")),
                reason=values.get("reason", ""),
            )
            messages.success(request, _("還付を登録しました。"))
        elif action == "cancel":
            services.cancel_payment(payment=payment, actor=staff, by_staff=True)
            messages.success(request, _("納付を取り消しました。"))
        else:
            refund = payment.refunds.filter(
                pk=_uuid_or_none(values.get("refund")), status=Refund.Status.PENDING
            ).first()
            if refund is None:
                raise services.PaymentError("対象の還付が見つかりません。", "Unknown refund.")
            services.complete_refund(refund=refund, staff=staff)
            messages.success(request, _("還付の完了を記録しました。"))
    elif action == "sync":
        payment = fee.payments.filter(pk=_uuid_or_none(values.get("payment"))).first()
        if payment is None:
            raise services.PaymentError("対象の納付が見つかりません。", "Unknown payment.")
        services.sync_payment(payment=payment, source="staff")
        messages.success(request, _("決済サービスに照会しました。"))
    else:
        raise services.PaymentError("この操作はできません。", "Unknown action.")


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@staff_required
def payment_receipt(request: HttpRequest, pk) -> HttpResponse:
    payment = selectors.payment_for_staff(request.user, pk)
    receipt = getattr(payment, "receipt", None) if payment else None
    if receipt is None:
        raise Http404
    # The receipt names the payer (the applicant): downloading it is an access the
    # person sees on their account, logged before the PDF is served.
    log_access(
        actor=request.user,
        unit=payment.fee.unit,
        subject_user=payment.fee.application.applicant,
        what="document",
        object_type="receipt",
        object_id=str(receipt.pk),
        purpose="issuance",
    )
    return receipts.pdf_response(receipt)


@staff_required
def bank(request: HttpRequest) -> HttpResponse:
    bodies = {unit.body for unit in selectors.staff_units(request.user)}
    context = {
        "bodies": sorted(bodies, key=lambda body: body.code),
        "lines": BankReceipt.objects.filter(body__in=bodies)
        .select_related("payment__fee__application")
        .order_by("-created_at")[:100],
        "problems": [],
        "report": None,
        "values": {},
    }
    status = 200
    if request.method == "POST":
        body = next((b for b in bodies if b.code == request.POST.get("body")), None)
        values = {key: request.POST.get(key, "")[:200] for key in request.POST}
        context["values"] = values
        try:
            if body is None:
                raise services.PaymentError("団体を選んでください。", "Choose the body.")
            if (
                not permissions.units_with(request.user, permissions.PROCESS)
                .filter(body=body)
                .exists()
            ):
                raise NotPermitted(
                    "入金明細を取り込む権限がありません。", "You may not import statements."
                )
            if request.FILES.get("statement"):
                upload = request.FILES["statement"]
                if upload.size > MAX_STATEMENT_BYTES:
                    raise services.PaymentError(
                        "ファイルが大きすぎます（5MBまで）。", "The file is too large (5 MB)."
                    )
                lines = services.parse_statement(upload.read())
            else:
                received_on = _date(values.get("received_on"))
                if received_on is None:
                    raise services.PaymentError(
                        "入金日は 2026-12-01 の形式で入力してください。", "Use YYYY-MM-DD."
                    )
                if not values.get("payer", "").strip():
                    raise services.PaymentError(
                        "振込依頼人名を入力してください。", "Enter the payer."
                    )
                lines = [
                    services.StatementLine(
                        received_on,
                        _amount(values.get("amount", "")),
                        values["payer"].strip(),
                        values.get("transaction_number", "").strip(),
                    )
                ]
            report = services.record_bank_statement(body=body, staff=request.user, lines=lines)
            messages.success(
                request,
                _("消込 %(matched)d件、要確認 %(flagged)d件、取込済みのため省略 %(dup)d件")
                % {
                    "matched": len(report.matched),
                    "flagged": len(report.flagged),
                    "dup": report.duplicates,
                },
            )
            return redirect("payments_staff:bank")
        except services.StatementError as exc:
            context["problems"] = exc.problems
            status = 422
        except CounterError as exc:
            context["problems"] = [(0, exc.ja, exc.en)]
            status = 422
    return render(request, "payments/staff/bank.html", context, status=status)


@staff_required
@require_POST
def resolve_bank_line(request: HttpRequest, pk: int) -> HttpResponse:
    bodies = {unit.body_id for unit in selectors.staff_units(request.user)}
    line = BankReceipt.objects.filter(pk=pk, body_id__in=bodies).first()
    if line is None:
        raise Http404
    try:
        if (
            not permissions.units_with(request.user, permissions.PROCESS)
            .filter(body_id=line.body_id)
            .exists()
        ):
            raise NotPermitted("この操作の権限がありません。", "You may not do this.")
        services.resolve_bank_receipt(
            receipt=line, staff=request.user, note=request.POST.get("note", "")[:500]
        )
        messages.success(request, _("対応を記録しました。"))
    except CounterError as exc:
        messages.error(request, _message(exc))
    return redirect("payments_staff:bank")
