"""Read paths of payments, each scoped to what the requester may see."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from madoguchi.ledger.services import events_for

from . import permissions
from .models import (
    SETTLED_STATUSES,
    BankReceipt,
    BodyPaymentSettings,
    Fee,
    Method,
    Payment,
    Refund,
    Status,
)


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def body_settings(body) -> BodyPaymentSettings | None:
    return BodyPaymentSettings.objects.filter(body=body).first()


# --- residents --------------------------------------------------------------------------


def payments_for_resident(user) -> QuerySet[Payment]:
    if not user.is_authenticated:
        return Payment.objects.none()
    return (
        Payment.objects.filter(fee__application__applicant=user)
        .select_related("fee", "fee__application", "fee__application__procedure_version")
        .order_by("-created_at")
    )


def payment_for_resident(user, payment_id) -> Payment | None:
    key = _uuid(payment_id)
    return payments_for_resident(user).filter(pk=key).first() if key else None


# --- staff ------------------------------------------------------------------------------


def staff_units(user):
    """The units whose fees a staff member sees: where a role of theirs may view
    applications (and the units below; payments.permissions)."""
    return permissions.units_with(user, permissions.VIEW)


def fees_for_staff(user) -> QuerySet[Fee]:
    return Fee.objects.filter(unit__in=staff_units(user)).select_related(
        "application", "procedure", "body"
    )


def payments_for_staff(user) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(fee__unit__in=staff_units(user))
        .select_related(
            "fee",
            "fee__application",
            "fee__procedure",
            "fee__application__procedure_version",
            "receipt",
        )
        .order_by("-created_at")
    )


def payment_for_staff(user, payment_id) -> Payment | None:
    key = _uuid(payment_id)
    return payments_for_staff(user).filter(pk=key).first() if key else None


def fee_for_staff(user, application_id) -> Fee | None:
    key = _uuid(application_id)
    return fees_for_staff(user).filter(application_id=key).first() if key else None


def applications_payable_by_staff(user, receipt_number: str):
    """Submitted applications of the staff member's units with that 受付番号 (or 納付番号)."""
    from madoguchi.counter.selectors import applications_for_staff

    text = receipt_number.strip()
    queryset = applications_for_staff(user)
    return queryset.filter(
        Q(receipt_number=text) | Q(fee_record__payments__reference_number=text)
    ).distinct()[:5]


def history(payment: Payment):
    return events_for(subject_type="payment", subject_id=payment.pk)


@dataclass
class DailyTotals:
    day: dt.date
    rows: list[dict] = field(default_factory=list)  # procedure, method, count, amount
    refunds: list[dict] = field(default_factory=list)
    total: int = 0
    refunded: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


def daily_totals(user, day: dt.date) -> DailyTotals:
    """収納: what was received on `day` (収納日), by procedure and method, and the refunds
    paid out that day, for the units the staff member handles."""
    result = DailyTotals(day=day)
    received = (
        payments_for_staff(user)
        .filter(paid_on=day, status__in=[*SETTLED_STATUSES, Status.REFUNDED])
        .order_by()
        .values("fee__procedure__identifier", "fee__procedure__body__code", "method")
        .annotate(amount=Sum("amount"))
    )
    names = _procedure_names(user)
    counts = defaultdict(int)
    for payment in (
        payments_for_staff(user)
        .filter(paid_on=day, status__in=[*SETTLED_STATUSES, Status.REFUNDED])
        .values_list("fee__procedure__identifier", "method")
    ):
        counts[payment] += 1
    for row in received:
        key = (row["fee__procedure__identifier"], row["method"])
        result.rows.append(
            {
                "procedure": names.get(row["fee__procedure__identifier"], key[0]),
                "identifier": key[0],
                "method": Method(row["method"]).label,
                "method_code": row["method"],
                "count": counts[key],
                "amount": row["amount"] or 0,
            }
        )
        result.total += row["amount"] or 0
        result.by_method[row["method"]] = result.by_method.get(row["method"], 0) + (
            row["amount"] or 0
        )
    result.rows.sort(key=lambda r: (r["identifier"], r["method_code"]))
    refunds = Refund.objects.filter(
        payment__fee__unit__in=staff_units(user),
        status=Refund.Status.SUCCEEDED,
        refunded_on=day,
    ).select_related("payment", "payment__fee__procedure")
    for refund in refunds:
        result.refunds.append(
            {
                "procedure": names.get(refund.payment.fee.procedure.identifier, ""),
                "method": Method(refund.payment.method).label,
                "amount": refund.amount,
                "receipt_number": refund.payment.fee.application.receipt_number,
            }
        )
        result.refunded += refund.amount
    return result


def _procedure_names(user) -> dict[str, str]:
    from madoguchi.catalogue.models import Procedure

    procedures = Procedure.objects.filter(
        pk__in=fees_for_staff(user).values("procedure_id")
    ).select_related("current_version")
    return {p.identifier: p.current_version.name for p in procedures if p.current_version_id}


@dataclass
class Mismatch:
    kind: str
    label: str
    payment: Payment | None = None
    fee: Fee | None = None
    bank_receipt: BankReceipt | None = None
    detail: str = ""


MISMATCH_LABELS = {
    "amount_mismatch": "決済サービスの金額が手数料と一致しない",
    "capture_pending": "与信済みで売上確定待ち",
    "capture_failed": "売上確定に失敗",
    "submission_pending": "支払済みだが申請の送信待ち",
    "paid_not_submitted": "支払済みだが申請が送信されていない（還付の検討）",
    "cancel_pending": "与信の取消しに失敗",
    "refund_failed": "還付に失敗",
    "fee_changed": "納付額と現在の手数料が異なる（補正などで変更）",
    "paid_closed": "納付済みだが申請が取下げ・不承認",
    "overdue": "支払期限を過ぎて未納",
    "already_paid": "振込が納付済み・取消し済みの納付に対するもの（重複）",
    "bank_unmatched": "該当する納付番号のない振込",
    "bank_amount": "振込額が請求額と一致しない",
}


def mismatches(user, *, today: dt.date | None = None) -> list[Mismatch]:
    """Everything staff must look at: flags set by the services, fees whose amount
    changed after payment, money kept for closed applications, overdue fees, and bank
    lines that matched nothing."""
    today = today or timezone.localdate()
    found: list[Mismatch] = []
    for payment in payments_for_staff(user).exclude(attention="")[:200]:
        kind = payment.attention
        found.append(
            Mismatch(
                kind,
                MISMATCH_LABELS.get(kind, kind),
                payment=payment,
                detail=payment.attention_detail,
            )
        )
    settled = payments_for_staff(user).filter(status__in=SETTLED_STATUSES)
    # The counter recomputes the fee when a 補正 is answered; what was paid stays.
    changed = settled.exclude(amount=F("fee__application__fee_amount"))
    for payment in changed.filter(fee__waived_by__isnull=True)[:200]:
        found.append(
            Mismatch(
                "fee_changed",
                MISMATCH_LABELS["fee_changed"],
                payment=payment,
                detail=f"{payment.amount}円 / {payment.fee.application.fee_amount}円",
            )
        )
    for payment in settled.filter(
        fee__application__state__in=["withdrawn", "rejected", "returned"]
    )[:200]:
        found.append(Mismatch("paid_closed", MISMATCH_LABELS["paid_closed"], payment=payment))
    for fee in fees_for_staff(user).filter(state=Fee.State.UNPAID, due_date__lt=today)[:200]:
        found.append(
            Mismatch(
                "overdue", MISMATCH_LABELS["overdue"], fee=fee, detail=f"{fee.due_date:%Y-%m-%d}"
            )
        )
    bodies = {unit.body_id for unit in staff_units(user)}
    lines = (
        BankReceipt.objects.filter(body_id__in=bodies, resolved_by__isnull=True)
        .exclude(match=BankReceipt.Match.MATCHED)
        .select_related("payment")[:200]
    )
    for line in lines:
        kind = {
            BankReceipt.Match.UNMATCHED: "bank_unmatched",
            BankReceipt.Match.AMOUNT_MISMATCH: "bank_amount",
            BankReceipt.Match.ALREADY_PAID: "already_paid",
        }[line.match]
        found.append(Mismatch(kind, MISMATCH_LABELS[kind], bank_receipt=line, payment=line.payment))
    return found


def unpaid_fees(user) -> QuerySet[Fee]:
    return (
        fees_for_staff(user)
        .filter(state=Fee.State.UNPAID, amount__gt=0)
        .exclude(application__state="draft")
        .order_by("due_date", "created_at")
    )


# --- the accounting export --------------------------------------------------------------

EXPORT_HEADER = [
    "収納日",
    "団体コード",
    "歳入科目コード",
    "手続ID",
    "手続名",
    "受付番号",
    "納付番号",
    "領収書番号",
    "支払方法",
    "決済サービス",
    "金額",
    "還付額",
    "状態",
    "決済ID",
]


def export_rows(user, start: dt.date, end: dt.date):
    """One row per payment received between the dates (収納日), in order; a generator, so
    that a year of payments never sits in memory."""
    queryset = (
        payments_for_staff(user)
        .filter(paid_on__gte=start, paid_on__lte=end)
        .exclude(paid_on__isnull=True)
        .select_related("fee__body__payment_settings", "fee__procedure__current_version")
        .order_by("paid_on", "paid_at", "pk")
    )
    for payment in queryset.iterator(chunk_size=500):
        fee = payment.fee
        body_settings_row = getattr(fee.body, "payment_settings", None)
        receipt = getattr(payment, "receipt", None)
        yield [
            payment.paid_on.isoformat(),
            fee.body.code,
            body_settings_row.accounting_code if body_settings_row else "",
            fee.procedure.identifier,
            fee.procedure.current_version.name,
            fee.application.receipt_number or "",
            payment.reference_number or "",
            receipt.number if receipt else "",
            Method(payment.method).label,
            payment.provider,
            str(payment.amount),
            str(payment.refunded_amount),
            Status(payment.status).label,
            payment.provider_payment_id or payment.provider_reference,
        ]
