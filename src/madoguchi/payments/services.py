"""Business rules of fees and payments. Views, the API, the CLI and tasks call these.

The flows (docs/payments.md, decision 0018):
- A card payment started on the check-answers page pays for a draft: the provider only
  authorises it; once authorised, the draft is submitted, and only a submitted
  application's payment is captured. A refused submission cancels the authorisation:
  nothing is charged for an application that was not received.
- A payment after submission (card, bank transfer, counter) settles the fee of a
  submitted application; a fee that must be paid before review blocks the review until
  then (a guard registered with the counter).
- Every change of a payment is a transition of states.py with its ledger event, in the
  transaction of the change. Provider calls happen outside row locks and carry
  idempotency keys derived from our rows; every outcome is re-read at the provider, so
  the return page, a webhook and the reconciliation may all run, in any order, any
  number of times, and the result is the same.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from madoguchi.core import calendar
from madoguchi.counter import services as counter_services
from madoguchi.counter.models import Application
from madoguchi.counter.models import State as ApplicationState
from madoguchi.counter.services import CounterError
from madoguchi.ledger.services import content_hash, record_event

from . import registry, states
from .models import (
    LIVE_STATUSES,
    SETTLED_STATUSES,
    BankReceipt,
    BodyPaymentSettings,
    Fee,
    Method,
    Payment,
    Receipt,
    ReceiptSequence,
    Refund,
    Status,
    Timing,
    WebhookEvent,
)
from .registry import ProviderError, ProviderState

logger = logging.getLogger(__name__)

DEFAULT_METHODS = [Method.BANK_TRANSFER, Method.COUNTER]
# The application states in which a fee can still be paid.
PAYABLE_DRAFT = (ApplicationState.DRAFT,)
CLOSED_APPLICATION = ("withdrawn", "rejected", "returned")


class PaymentError(CounterError):
    code = "payment_refused"


class PaymentRequired(CounterError):
    code = "payment_required"
    status = 409


class ProviderUnavailable(CounterError):
    code = "provider_unavailable"
    status = 503


def _now() -> dt.datetime:
    return timezone.now()


# --- the fee an application owes -----------------------------------------------------


@dataclass(frozen=True)
class FeeSettings:
    timing: str
    methods: list[str]
    due_days: int | None


def fee_settings(definition_data: Mapping[str, Any]) -> FeeSettings:
    payment = (definition_data.get("fee") or {}).get("payment") or {}
    return FeeSettings(
        timing=payment.get("timing", Timing.BEFORE_ISSUANCE),
        methods=list(payment.get("methods") or DEFAULT_METHODS),
        due_days=payment.get("due_days"),
    )


def _answers_for_fee(application: Application) -> dict[str, Any]:
    """What the fee is computed from: the submitted answers, or what a draft would
    submit (hidden fields dropped), exactly as counter.submit_application computes it."""
    definition = application.procedure_version.spec
    if application.state == ApplicationState.DRAFT:
        return definition.relevant_answers(application.answers)
    return application.answers


def current_breakdown(application: Application):
    return application.procedure_version.spec.fee_breakdown(_answers_for_fee(application))


def available_methods(application: Application) -> list[tuple[str, registry.Provider]]:
    """The methods the procedure offers that a configured provider takes, in its order."""
    result = []
    for method in fee_settings(application.procedure_version.definition).methods:
        provider = registry.for_method(method)
        if provider is not None:
            result.append((method, provider))
    return result


def _due_date(application: Application, settings_: FeeSettings) -> dt.date | None:
    if not settings_.due_days or application.submitted_at is None:
        return None
    return calendar.add_open_days(timezone.localdate(application.submitted_at), settings_.due_days)


def _ensure_fee(application: Application) -> Fee | None:
    """The application's fee row, created or brought up to date; locked. None when the
    procedure has no fee."""
    breakdown = current_breakdown(application)
    if breakdown is None:
        return None
    settings_ = fee_settings(application.procedure_version.definition)
    answers_sha = content_hash(_answers_for_fee(application))
    fee = Fee.objects.select_for_update().filter(application=application).first()
    if fee is None:
        try:
            with transaction.atomic():
                fee = Fee.objects.create(
                    application=application,
                    body_id=application.body_id,
                    unit_id=application.unit_id,
                    procedure_id=application.procedure_id,
                    amount=breakdown.total,
                    breakdown=breakdown.as_dict(),
                    answers_sha256=answers_sha,
                    timing=settings_.timing,
                    methods=settings_.methods,
                    state=Fee.State.NOT_REQUIRED if breakdown.total == 0 else Fee.State.UNPAID,
                    due_date=_due_date(application, settings_),
                )
                record_event(
                    event_type="fee.assessed",
                    actor_kind="system",
                    actor_id=None,
                    subject_type="application",
                    subject_id=application.pk,
                    body_id=application.body_id,
                    content_sha256=answers_sha,
                    details={
                        "amount": fee.amount,
                        "reduction": (breakdown.reduction.id if breakdown.reduction else None),
                    },
                )
        except IntegrityError:
            fee = Fee.objects.select_for_update().get(application=application)
        return fee
    live = fee.payments.filter(status__in=LIVE_STATUSES).exclude(status=Status.PENDING).exists()
    if not live and fee.answers_sha256 != answers_sha and fee.state != Fee.State.WAIVED:
        # The answers changed (a draft edited, a 補正 answered) before anything was
        # paid: the fee follows them.
        fee.amount = breakdown.total
        fee.breakdown = breakdown.as_dict()
        fee.answers_sha256 = answers_sha
        fee.save(update_fields=["amount", "breakdown", "answers_sha256", "updated_at"])
        _refresh_fee(fee)
    if fee.due_date is None and application.submitted_at is not None:
        fee.due_date = _due_date(application, settings_)
        if fee.due_date:
            fee.save(update_fields=["due_date", "updated_at"])
    return fee


def ensure_fee(*, application: Application) -> Fee | None:
    with transaction.atomic():
        return _ensure_fee(application)


def _refresh_fee(fee: Fee) -> None:
    """Fee.state from its payments and waiver (a summary, not a life cycle of its own)."""
    payments = list(fee.payments.all())
    if fee.waived_by_id:
        state = Fee.State.WAIVED
    elif any(p.status in SETTLED_STATUSES for p in payments):
        state = Fee.State.PAID
    elif fee.amount == 0:
        state = Fee.State.NOT_REQUIRED
    elif any(p.status == Status.REFUNDED for p in payments) and not any(
        p.status in LIVE_STATUSES for p in payments
    ):
        state = Fee.State.REFUNDED
    else:
        state = Fee.State.UNPAID
    if state != fee.state:
        was_settled = fee.settled
        fee.state = state
        fee.save(update_fields=["state", "updated_at"])
        if fee.settled and not was_settled:
            from madoguchi.counter import hooks

            hooks.fee_settled(fee.application)


def settled(application: Application) -> bool:
    fee = Fee.objects.filter(application=application).first()
    if fee is not None:
        return fee.settled
    return not application.fee_amount


# --- the payment life cycle -------------------------------------------------------------


def _fire(
    payment: Payment,
    name: str,
    *,
    actor_kind: str,
    actor_id=None,
    details: dict[str, Any] | None = None,
) -> None:
    """One transition of states.py: the new status, its time, the lock version and the
    ledger event, in the caller's transaction."""
    transition = states.check(name, payment.status)
    previous = payment.status
    payment.status = transition.target
    now = _now()
    if transition.target == Status.AUTHORISED:
        payment.authorised_at = now
    if transition.target == Status.PAID:
        payment.paid_at = now
        payment.paid_on = payment.paid_on or timezone.localdate(now)
        if payment.attention in TRANSIENT_FLAGS:
            payment.attention = payment.attention_detail = ""
    if transition.target in states.FINAL:
        payment.closed_at = now
    payment.lock_version += 1
    payment.save()
    record_event(
        event_type=f"payment.{name}",
        actor_kind=actor_kind,
        actor_id=actor_id,
        subject_type="payment",
        subject_id=payment.pk,
        body_id=payment.body_id,
        details={
            "from": previous,
            "to": transition.target,
            "application": str(payment.fee.application_id),
            "provider": payment.provider,
            "amount": payment.amount,
            "refunded_amount": payment.refunded_amount,
            **(details or {}),
        },
    )
    _refresh_fee(payment.fee)
    if transition.target == Status.PAID:
        _issue_receipt(payment)


# Flags that only say "not done yet": cleared when the payment gets there.
TRANSIENT_FLAGS = frozenset({"capture_pending", "submission_pending"})


def _locked(payment: Payment) -> Payment:
    # of=("self",): the payment's row only. Locking the joined application too would
    # deadlock with start_payment, which locks the application and then the payments.
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("fee", "fee__application")
        .get(pk=payment.pk)
    )


def _flag(payment: Payment, code: str, detail: str) -> None:
    if payment.attention == code and payment.attention_detail == detail[:500]:
        return
    payment.attention = code
    payment.attention_detail = detail[:500]
    payment.save(update_fields=["attention", "attention_detail", "updated_at"])
    record_event(
        event_type="payment.flagged",
        actor_kind="system",
        actor_id=None,
        subject_type="payment",
        subject_id=payment.pk,
        body_id=payment.body_id,
        details={"attention": code, "application": str(payment.fee.application_id)},
    )


def _clear_flag(payment: Payment) -> None:
    if payment.attention:
        payment.attention = ""
        payment.attention_detail = ""
        payment.save(update_fields=["attention", "attention_detail", "updated_at"])


def _new_reference_number() -> str:
    """納付番号: 10 random digits and a Luhn check digit, unique by a constraint."""
    digits = f"{secrets.randbelow(10**10):010d}"
    return digits + _luhn_digit(digits)


def _luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_reference_number(text: str) -> bool:
    return len(text) == 11 and text.isdigit() and _luhn_digit(text[:-1]) == text[-1]


# --- starting a payment -----------------------------------------------------------------


class _DryRun(Exception):
    pass


def _submission_refusal(application: Application, identity_level: str | None):
    """Why submitting the draft now would be refused, or None: the real submission, run
    in a savepoint that is rolled back, so that every rule of the counter (and of other
    capabilities' steps) is the one checked — before the resident pays."""
    try:
        with transaction.atomic():
            counter_services.submit_application(
                application=application, actor=application.applicant, identity_level=identity_level
            )
            raise _DryRun
    except _DryRun:
        return None
    except CounterError as exc:
        return exc


@transaction.atomic
def start_payment(
    *,
    application: Application,
    actor,
    method: str,
    idempotency_key: uuid.UUID,
    identity_level: str | None = None,
) -> Payment:
    """Starts paying the application's fee by `method`. The same key again (a double
    click, a resent form) returns the payment it started. At most one payment of a fee
    is live: a second start resumes it, or replaces a pending one of another method."""
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.fee.application_id != application.pk:
            raise PaymentError(
                "この冪等キーは使用済みです。", "This idempotency key has already been used."
            )
        return existing
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.applicant_id != actor.pk:
        raise PaymentError(
            "申請した方だけが手数料を支払えます。", "Only the applicant can pay the fee."
        )
    if application.state in CLOSED_APPLICATION:
        raise PaymentError(
            "この申請は終了しているため、お支払いは不要です。",
            "This application is closed; nothing is to be paid.",
        )
    choices = dict(available_methods(application))
    provider = choices.get(method)
    if provider is None:
        raise PaymentError(
            "この手続では、その方法でお支払いいただけません。",
            "This payment method is not available for this procedure.",
        )
    draft = application.state == ApplicationState.DRAFT
    if draft:
        timing = fee_settings(application.procedure_version.definition).timing
        if not provider.online or timing != Timing.BEFORE_REVIEW:
            raise PaymentError("お支払いは申請の後にお願いします。", "Please pay after submitting.")
        refusal = _submission_refusal(application, identity_level)
        if refusal is not None:
            raise refusal
    fee = _ensure_fee(application)
    if fee is None or fee.amount == 0:
        raise PaymentError("この申請には手数料のお支払いは不要です。", "No fee is due.")
    if fee.settled:
        raise PaymentError("手数料は納付済みです。", "The fee has already been paid.")
    live = fee.payments.select_for_update().filter(status__in=LIVE_STATUSES).first()
    if live is not None:
        if live.status != Status.PENDING:
            raise PaymentError(
                "お支払いの手続が進んでいます。完了までお待ちください。",
                "A payment is already being processed.",
            )
        if live.method == method and live.amount == fee.amount:
            return live
        if registry.get(live.provider).online and live.provider_reference:
            raise PaymentError(
                "前のお支払い手続が完了していません。中止してから、別の方法をお選びください。",
                "Another payment is still open; cancel it before choosing another method.",
            )
        _fire(
            live, "cancel", actor_kind="resident", actor_id=actor.pk, details={"reason": "replaced"}
        )
    payment = Payment(
        fee=fee,
        body_id=fee.body_id,
        provider=provider.identifier,
        method=method,
        amount=fee.amount,
        breakdown=fee.breakdown,
        answers_sha256=fee.answers_sha256,
        idempotency_key=idempotency_key,
        submit_on_authorise=draft,
        identity_level=identity_level or "",
    )
    for _attempt in range(5):
        if not provider.online:
            payment.reference_number = _new_reference_number()
        try:
            with transaction.atomic():
                payment.save(force_insert=True)
            break
        except IntegrityError:
            if Payment.objects.filter(idempotency_key=idempotency_key).exists():
                raise PaymentError(
                    "この冪等キーは使用済みです。", "This idempotency key has already been used."
                ) from None
            if provider.online:
                raise
    record_event(
        event_type="payment.started",
        actor_kind="resident",
        actor_id=actor.pk,
        subject_type="payment",
        subject_id=payment.pk,
        body_id=payment.body_id,
        content_sha256=payment.answers_sha256,
        details={
            "application": str(application.pk),
            "provider": payment.provider,
            "method": method,
            "amount": payment.amount,
            "before_submission": draft,
        },
    )
    return payment


def open_at_provider(*, payment: Payment, return_url: str, cancel_url: str) -> str:
    """The provider's payment page for an online payment, created once. A timeout leaves
    the payment pending; calling again sends the same idempotency key, so the provider
    answers with the page it created the first time rather than a second one."""
    provider = registry.get(payment.provider)
    if not provider.online:
        return ""
    if payment.redirect_url:
        state = _fetch(payment, provider)
        if state.status == "pending":
            return payment.redirect_url
        payment = apply_provider_state(payment=payment, state=state, source="resume")
        raise PaymentError(
            "お支払いの受付期限が過ぎたか、既に処理されています。状況をご確認ください。",
            "This payment page has expired or was already used.",
        )
    try:
        url = provider.start(payment, return_url=return_url, cancel_url=cancel_url)
    except ProviderError as exc:
        if exc.transient:
            raise ProviderUnavailable(
                "決済サービスに接続できませんでした。しばらくしてからもう一度お試しください。"
                "（お支払いはまだ行われていません）",
                "The payment service could not be reached; nothing was charged. Try again.",
            ) from None
        with transaction.atomic():
            locked = _locked(payment)
            if locked.status == Status.PENDING:
                _fire(locked, "fail", actor_kind="system", details={"reason": exc.code[:60]})
        raise PaymentError(
            "決済サービスがお支払いを受け付けませんでした。別の方法をお選びください。",
            "The payment service refused the payment.",
        ) from None
    with transaction.atomic():
        locked = _locked(payment)
        locked.provider_reference = payment.provider_reference
        locked.redirect_url = payment.redirect_url
        locked.save(update_fields=["provider_reference", "redirect_url", "updated_at"])
    return url


# --- what the provider says -------------------------------------------------------------


def _fetch(payment: Payment, provider: registry.Provider) -> ProviderState:
    try:
        return provider.fetch(payment)
    except ProviderError as exc:
        if exc.transient:
            raise ProviderUnavailable(
                "決済サービスからお支払いの結果を確認できませんでした。"
                "確認でき次第、処理を続けます。",
                "The payment service could not be reached; the payment will be checked later.",
            ) from None
        raise PaymentError(
            "決済サービスの応答を確認できませんでした。担当課にお問い合わせください。",
            "The payment service's answer could not be used.",
        ) from None


@transaction.atomic
def apply_provider_state(*, payment: Payment, state: ProviderState, source: str) -> Payment:
    """Applies what the provider reports. Amounts are compared with ours: a payment whose
    amount or currency differs is flagged and never counted as paid."""
    payment = _locked(payment)
    if state.payment_id and not payment.provider_payment_id:
        payment.provider_payment_id = state.payment_id
        payment.save(update_fields=["provider_payment_id", "updated_at"])
    if state.status in ("authorised", "paid") and (
        state.amount != payment.amount or state.currency not in ("JPY",)
    ):
        _flag(
            payment,
            "amount_mismatch",
            f"provider reports {state.amount} {state.currency}, expected {payment.amount} JPY",
        )
        return payment
    details = {"source": source}
    if state.status == "authorised" and payment.status == Status.PENDING:
        _fire(payment, "authorise", actor_kind="system", details=details)
    elif state.status == "paid" and payment.status in (Status.PENDING, Status.AUTHORISED):
        _fire(payment, "pay", actor_kind="system", details=details)
    elif state.status == "failed" and payment.status in (Status.PENDING, Status.AUTHORISED):
        _fire(payment, "fail", actor_kind="system", details={**details, "reason": state.detail})
    elif state.status == "cancelled" and payment.status in (Status.PENDING, Status.AUTHORISED):
        _fire(payment, "cancel", actor_kind="system", details=details)
    return payment


def sync_payment(*, payment: Payment, source: str) -> Payment:
    """Asks the provider about an online payment and carries it as far as it can go:
    authorised → (the draft submitted) → captured. Safe to repeat at any time."""
    provider = registry.get(payment.provider)
    if not provider.online or payment.status in states.FINAL:
        return payment
    reported = None
    if payment.status in (Status.PENDING, Status.AUTHORISED):
        reported = _fetch(payment, provider)
        payment = apply_provider_state(payment=payment, state=reported, source=source)
    if payment.attention == "amount_mismatch" and (
        payment.status == Status.AUTHORISED or (reported and reported.status == "authorised")
    ):
        # Never capture an amount that is not the fee: release the authorisation.
        payment = _void(payment, provider, reason="amount_mismatch")
    elif payment.status == Status.AUTHORISED:
        payment = complete_authorised(payment=payment)
    elif payment.status == Status.PAID and payment.submit_on_authorise:
        _submit_after_capture(payment)
    if payment.status in SETTLED_STATUSES:
        _sync_refunds(payment, provider)
    return payment


def _submit_after_capture(payment: Payment) -> None:
    """A provider that captured by itself, before the draft was submitted: submit it now;
    if that is refused, staff must refund (the money is not lost: it is flagged)."""
    application = Application.objects.get(pk=payment.fee.application_id)
    if application.state != ApplicationState.DRAFT:
        return
    try:
        with transaction.atomic():
            counter_services.submit_application(
                application=application,
                actor=application.applicant,
                identity_level=payment.identity_level or None,
            )
    except CounterError as exc:
        with transaction.atomic():
            _flag(_locked(payment), "paid_not_submitted", f"submission refused: {exc.code}")


def _void(payment: Payment, provider: registry.Provider, *, reason: str) -> Payment:
    """Cancels an authorisation: the resident is not charged."""
    try:
        state = provider.cancel(payment)
    except ProviderError as exc:
        logger.warning("payment %s: cancelling failed (%s)", payment.pk, exc.code)
        with transaction.atomic():
            _flag(_locked(payment), "cancel_pending", f"cancel failed: {exc.code}")
        return Payment.objects.get(pk=payment.pk)
    with transaction.atomic():
        locked = _locked(payment)
        if state.status == "cancelled" and locked.status in (Status.PENDING, Status.AUTHORISED):
            _fire(locked, "cancel", actor_kind="system", details={"reason": reason})
        return locked


class _AlreadySubmitted(Exception):
    pass


def complete_authorised(*, payment: Payment) -> Payment:
    """An authorised card payment: submits the draft it pays for, then captures it.
    A permanent refusal of the submission cancels the authorisation; a crash or a
    timeout leaves it authorised, and the reconciliation carries on from there."""
    provider = registry.get(payment.provider)
    application = Application.objects.get(pk=payment.fee.application_id)
    if payment.submit_on_authorise and application.state == ApplicationState.DRAFT:
        refusal = None
        try:
            with transaction.atomic():
                locked = _locked(payment)
                if locked.status != Status.AUTHORISED:
                    return locked
                # The return page and a webhook may both be here: the one that holds the
                # payment's lock second finds the application already submitted.
                application = Application.objects.select_for_update().get(pk=application.pk)
                if application.state != ApplicationState.DRAFT:
                    raise _AlreadySubmitted
                breakdown = current_breakdown(application)
                if breakdown is None or breakdown.total != locked.amount:
                    raise PaymentError(
                        "お支払いの手続中に入力内容が変わったため、お支払いを取り消しました。"
                        "内容を確認して、もう一度お支払いください。",
                        "The answers changed during the payment; it was cancelled.",
                    )
                submitted = counter_services.submit_application(
                    application=application,
                    actor=application.applicant,
                    identity_level=locked.identity_level or None,
                )
                fee = Fee.objects.select_for_update().get(pk=locked.fee_id)
                fee.due_date = _due_date(
                    submitted, fee_settings(submitted.procedure_version.definition)
                )
                fee.save(update_fields=["due_date", "updated_at"])
                record_event(
                    event_type="payment.application_submitted",
                    actor_kind="system",
                    actor_id=None,
                    subject_type="payment",
                    subject_id=locked.pk,
                    body_id=locked.body_id,
                    details={
                        "application": str(application.pk),
                        "receipt_number": submitted.receipt_number,
                    },
                )
        except _AlreadySubmitted:
            pass
        except CounterError as exc:
            refusal = exc
        except Exception:
            logger.exception("payment %s: submission after authorisation failed", payment.pk)
            with transaction.atomic():
                _flag(_locked(payment), "submission_pending", "the submission will be retried")
            return Payment.objects.get(pk=payment.pk)
        if refusal is not None:
            with transaction.atomic():
                locked = _locked(payment)
                locked.resident_message = refusal.ja[:500]
                locked.save(update_fields=["resident_message", "updated_at"])
            return _void(payment, provider, reason=f"submission_refused:{refusal.code}")
        application.refresh_from_db()
    if application.state in CLOSED_APPLICATION or application.state == ApplicationState.DRAFT:
        return _void(payment, provider, reason=f"application_{application.state}")
    try:
        state = provider.capture(payment)
    except ProviderError as exc:
        logger.warning("payment %s: capture failed (%s)", payment.pk, exc.code)
        with transaction.atomic():
            locked = _locked(payment)
            if exc.transient:
                _flag(locked, "capture_pending", f"capture will be retried: {exc.code}")
            else:
                _flag(locked, "capture_failed", f"capture refused: {exc.code}")
        return Payment.objects.get(pk=payment.pk)
    payment = apply_provider_state(payment=payment, state=state, source="capture")
    if payment.status == Status.PAID:
        with transaction.atomic():
            _clear_flag(_locked(payment))
        payment.refresh_from_db()
    return payment


def cancel_payment(*, payment: Payment, actor, by_staff: bool = False) -> Payment:
    """Stops a pending payment (the resident chose to pay otherwise, or staff closed it).
    An online one is cancelled at the provider first, outside any row lock; if it was
    completed there meanwhile, it is not cancelled but recorded as what it is."""
    payment = Payment.objects.select_related("fee__application").get(pk=payment.pk)
    if not by_staff and payment.fee.application.applicant_id != actor.pk:
        raise PaymentError("このお支払いは取り消せません。", "You cannot cancel this payment.")
    if payment.status == Status.CANCELLED:
        return payment
    if payment.status != Status.PENDING:
        raise PaymentError(
            "手続中または完了したお支払いは取り消せません。",
            "Only a payment that has not started can be cancelled.",
        )
    provider = registry.get(payment.provider)
    if provider.online and payment.provider_reference:
        try:
            state = provider.cancel(payment)
        except ProviderError:
            raise ProviderUnavailable(
                "決済サービスに接続できませんでした。しばらくしてからもう一度お試しください。",
                "The payment service could not be reached; try again.",
            ) from None
        if state.status != "cancelled":
            # Completed meanwhile: it is not ours to cancel any more.
            payment = apply_provider_state(payment=payment, state=state, source="cancel")
            if payment.status == Status.AUTHORISED:
                sync_payment(payment=payment, source="cancel")
            raise PaymentError(
                "お支払いは既に完了しています。", "The payment has already been completed."
            )
    with transaction.atomic():
        payment = _locked(payment)
        if payment.status == Status.PENDING:
            _fire(
                payment,
                "cancel",
                actor_kind="staff" if by_staff else "resident",
                actor_id=actor.pk,
                details={"reason": "cancelled_by_staff" if by_staff else "cancelled_by_resident"},
            )
    return payment


# --- notifications from providers -------------------------------------------------------


class WebhookRejected(Exception):
    pass


def handle_webhook(*, provider_id: str, body: bytes, headers: Mapping[str, str]) -> str:
    """Verifies and processes one notification. Returns the outcome; raises
    WebhookRejected (→ 400) for anything not genuine, ProviderUnavailable (→ 503, the
    provider sends it again) when the provider could not be asked."""
    try:
        provider = registry.get(provider_id)
    except LookupError:
        raise WebhookRejected("unknown provider") from None
    if not provider.online or not provider.is_configured():
        raise WebhookRejected("provider not configured")
    try:
        message = provider.parse_webhook(body, headers)
    except registry.WebhookRejected as exc:
        logger.warning("webhook from %s rejected: %s", provider_id, exc)
        raise WebhookRejected(str(exc)) from None
    with transaction.atomic():
        event, created = WebhookEvent.objects.select_for_update().get_or_create(
            provider=provider_id,
            event_id=message.event_id,
            defaults={
                "event_type": message.event_type[:100],
                "payload_sha256": hashlib.sha256(body).hexdigest(),
                "outcome": "received",
            },
        )
        if not created and event.outcome.startswith("processed"):
            return "duplicate"
    payment = _payment_for_message(provider_id, message)
    if payment is None:
        outcome = "processed:unknown_payment"
    else:
        payment = sync_payment(payment=payment, source="webhook")
        outcome = f"processed:{payment.status}"
    WebhookEvent.objects.filter(pk=event.pk).update(
        outcome=outcome, payment=payment if payment else None
    )
    return outcome


def _payment_for_message(provider_id: str, message: registry.WebhookMessage) -> Payment | None:
    queryset = Payment.objects.filter(provider=provider_id)
    reference = message.payment_reference
    if reference:
        try:
            found = queryset.filter(pk=uuid.UUID(reference)).first()
        except ValueError:
            found = None
        if found:
            return found
    obj = message.objects or {}
    candidates = [obj.get("payment_intent")] if isinstance(obj.get("payment_intent"), str) else []
    if obj.get("object") == "payment_intent":
        candidates.append(obj.get("id"))
    for candidate in candidates:
        found = queryset.filter(provider_payment_id=candidate).first() if candidate else None
        if found:
            return found
    if obj.get("object") == "checkout.session" and obj.get("id"):
        return queryset.filter(provider_reference=obj["id"]).first()
    return None


# --- staff: payments received outside the platform ---------------------------------------


@transaction.atomic
def record_counter_payment(
    *,
    application: Application,
    staff,
    amount: int,
    paid_on: dt.date | None = None,
    method: str = Method.COUNTER,
) -> Payment:
    """窓口収納: staff took the fee at the counter (or found the transfer themselves).
    The amount typed must be the fee: a different amount is refused, not booked."""
    if method not in (Method.COUNTER, Method.BANK_TRANSFER):
        raise PaymentError("窓口または振込の収納だけを記録できます。", "Counter or transfer only.")
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.state == ApplicationState.DRAFT:
        raise PaymentError(
            "送信されていない申請の手数料は受け取れません。",
            "The application has not been submitted.",
        )
    fee = _ensure_fee(application)
    if fee is None or fee.amount == 0:
        raise PaymentError("この申請には手数料がありません。", "No fee is due.")
    if fee.settled:
        raise PaymentError("手数料は納付済みです。", "The fee has already been paid.")
    if amount != fee.amount:
        raise PaymentError(
            f"受領額（{amount:,}円）が手数料（{fee.amount:,}円）と一致しません。",
            f"The amount received ({amount}) differs from the fee ({fee.amount}).",
        )
    today = timezone.localdate()
    if paid_on and paid_on > today:
        raise PaymentError("収納日に未来の日付は指定できません。", "paid_on is in the future.")
    live = fee.payments.select_for_update().filter(status__in=LIVE_STATUSES).first()
    if live is not None and (live.status != Status.PENDING or registry.get(live.provider).online):
        raise PaymentError(
            "オンラインのお支払いが手続中です。完了または取消しを確認してください。",
            "An online payment is in progress for this fee.",
        )
    if live is not None and live.method == method:
        payment = live
    else:
        if live is not None:
            _fire(
                live,
                "cancel",
                actor_kind="staff",
                actor_id=staff.pk,
                details={"reason": "replaced"},
            )
        payment = Payment.objects.create(
            fee=fee,
            body_id=fee.body_id,
            provider=method,
            method=method,
            amount=fee.amount,
            breakdown=fee.breakdown,
            answers_sha256=fee.answers_sha256,
            idempotency_key=uuid.uuid4(),
            reference_number=_new_reference_number(),
        )
    payment.recorded_by = staff
    payment.paid_on = paid_on or today
    _fire(payment, "pay", actor_kind="staff", actor_id=staff.pk, details={"recorded": True})
    return payment


@transaction.atomic
def waive_fee(*, application: Application, staff, reason: str) -> Fee:
    """免除 decided by staff (e.g. a 減免 applied for on paper), with its reason."""
    reason = reason.strip()
    if not reason:
        raise PaymentError("免除の理由を入力してください。", "Give the reason for the waiver.")
    counter_services._check_free_text(reason)
    fee = _ensure_fee(Application.objects.select_for_update().get(pk=application.pk))
    if fee is None or fee.amount == 0:
        raise PaymentError("この申請には手数料がありません。", "No fee is due.")
    if fee.payments.filter(status__in=LIVE_STATUSES).exclude(status=Status.PENDING).exists():
        raise PaymentError(
            "支払われた手数料は免除できません。還付してください。",
            "A paid fee cannot be waived; refund it instead.",
        )
    for pending in fee.payments.select_for_update().filter(status=Status.PENDING):
        if registry.get(pending.provider).online and pending.provider_reference:
            raise PaymentError(
                "オンラインのお支払いが手続中です。", "An online payment is in progress."
            )
        _fire(
            pending, "cancel", actor_kind="staff", actor_id=staff.pk, details={"reason": "waived"}
        )
    fee.waived_by = staff
    fee.waived_reason = reason[:500]
    fee.save(update_fields=["waived_by", "waived_reason", "updated_at"])
    _refresh_fee(fee)
    record_event(
        event_type="fee.waived",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="application",
        subject_id=application.pk,
        body_id=fee.body_id,
        content=reason,
        details={"amount": fee.amount},
    )
    return fee


# --- bank transfers ---------------------------------------------------------------------


@dataclass
class StatementLine:
    received_on: dt.date
    amount: int
    payer: str
    transaction_number: str = ""


@dataclass
class ImportReport:
    matched: list[BankReceipt] = field(default_factory=list)
    flagged: list[BankReceipt] = field(default_factory=list)
    duplicates: int = 0


def _reference_in(text: str) -> str:
    """The 納付番号 a payer wrote in the 振込依頼人名 (digits, full-width accepted)."""
    import re
    import unicodedata

    normalised = unicodedata.normalize("NFKC", text)
    for candidate in re.findall(r"\d{11}", normalised):
        if is_valid_reference_number(candidate):
            return candidate
    return ""


def _record_line(body, staff, line: StatementLine, line_sha: str) -> BankReceipt | None:
    if BankReceipt.objects.filter(body=body, line_sha256=line_sha).exists():
        return None
    reference = _reference_in(line.payer)
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("fee")
        .filter(body=body, reference_number=reference)
        .first()
        if reference
        else None
    )
    match = BankReceipt.Match.UNMATCHED
    if payment is not None:
        if payment.status != Status.PENDING or payment.fee.settled:
            match = BankReceipt.Match.ALREADY_PAID
        elif line.amount != payment.amount:
            match = BankReceipt.Match.AMOUNT_MISMATCH
        else:
            match = BankReceipt.Match.MATCHED
    receipt = BankReceipt.objects.create(
        body=body,
        received_on=line.received_on,
        amount=line.amount,
        payer=line.payer[:200],
        transaction_number=line.transaction_number[:100],
        line_sha256=line_sha,
        reference_number=reference,
        payment=payment,
        match=match,
        imported_by=staff,
    )
    if match == BankReceipt.Match.MATCHED:
        payment.paid_on = line.received_on
        payment.recorded_by = staff
        _fire(
            payment,
            "pay",
            actor_kind="staff",
            actor_id=staff.pk,
            details={"bank_receipt": receipt.pk},
        )
    elif payment is not None:
        _flag(
            payment, str(match), f"bank receipt {receipt.pk}: {line.amount} on {line.received_on}"
        )
    record_event(
        event_type="payment.bank_receipt",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="bank_receipt",
        subject_id=receipt.pk,
        body_id=body.pk,
        content_sha256=line_sha,
        details={"match": match, "amount": line.amount},
    )
    return receipt


def _line_hashes(body, lines: list[StatementLine]) -> list[str]:
    """A key per line that is the same when the same statement is imported again: the
    bank's transaction number when there is one, else the line's values and how many
    identical lines came before it that day."""
    seen: dict[tuple, int] = {}
    keys = []
    for line in lines:
        values = (body.pk, line.received_on.isoformat(), line.amount, line.payer.strip())
        if line.transaction_number:
            key = (*values, "tx", line.transaction_number)
        else:
            seen[values] = seen.get(values, 0) + 1
            key = (*values, "n", seen[values])
        keys.append(hashlib.sha256(repr(key).encode()).hexdigest())
    return keys


@transaction.atomic
def record_bank_statement(*, body, staff, lines: list[StatementLine]) -> ImportReport:
    report = ImportReport()
    for line, line_sha in zip(lines, _line_hashes(body, lines), strict=True):
        receipt = _record_line(body, staff, line, line_sha)
        if receipt is None:
            report.duplicates += 1
        elif receipt.match == BankReceipt.Match.MATCHED:
            report.matched.append(receipt)
        else:
            report.flagged.append(receipt)
    return report


class StatementError(CounterError):
    code = "statement"
    status = 422

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        super().__init__("入金明細に誤りがあります。", "The statement has errors.")
        self.problems = problems  # (row number, ja, en)


STATEMENT_COLUMNS = {
    "received_on": ("入金日", "received_on", "date"),
    "amount": ("金額", "入金額", "amount"),
    "payer": ("振込依頼人名", "振込依頼人", "payer"),
    "transaction_number": ("取引番号", "transaction_number"),
}


def _decode_statement(data: bytes) -> str:
    """UTF-8 (with or without BOM), else CP932; a copy cut inside a character and a UTF-16
    file get their own message, since 'wrong encoding' would send staff looking elsewhere."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise StatementError(
            [
                (
                    0,
                    "UTF-16 のファイルです。CSV（UTF-8 か Shift_JIS）で保存し直してください。",
                    "The file is UTF-16: save it as CSV in UTF-8 or Shift_JIS.",
                )
            ]
        )
    truncated = StatementError(
        [
            (
                0,
                "ファイルが途中で切れています（最後の文字が欠けています）。",
                "The file is cut off inside its last character.",
            )
        ]
    )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            raise truncated from None
    try:
        return data.decode("cp932")
    except UnicodeDecodeError as exc:
        if exc.start == len(data) - 1 and 0x81 <= data[-1] <= 0xFC:
            raise truncated from None
    raise StatementError(
        [
            (
                0,
                "文字コードを読み取れません（UTF-8かShift_JIS）。",
                "Unreadable encoding (use UTF-8 or Shift_JIS).",
            )
        ]
    )


def parse_statement(data: bytes) -> list[StatementLine]:
    """A bank statement as CSV: a header row naming 入金日, 金額, 振込依頼人名 (and
    optionally 取引番号). UTF-8 (with or without BOM) or Shift_JIS/CP932, as banks export.
    Every bad row is reported with its number; nothing is imported if any is bad."""
    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        row = data[: data.index(b"\x00")].count(b"\n") + 1
        raise StatementError(
            [
                (
                    row,
                    "NUL文字（\\0）が含まれています。CSVファイルか確かめてください。",
                    "The file contains a NUL character: is it a CSV file?",
                )
            ]
        )
    text = _decode_statement(data)
    # Universal newlines: a lone CR (old Mac exports) ends a row instead of breaking csv.
    reader = csv.reader(io.StringIO(text, newline=None))
    try:
        rows = list(reader)
    except csv.Error:
        raise StatementError(
            [
                (
                    reader.line_num,
                    'CSVとして読めません（引用符 " の対応など）。',
                    "Not readable as CSV (unbalanced quotes?).",
                )
            ]
        ) from None
    if not rows:
        raise StatementError([(0, "明細が空です。", "The file is empty.")])
    header = [cell.strip() for cell in rows[0]]
    positions: dict[str, int] = {}
    for key, names in STATEMENT_COLUMNS.items():
        for index, cell in enumerate(header):
            if cell in names:
                positions[key] = index
    missing = [
        STATEMENT_COLUMNS[k][0] for k in ("received_on", "amount", "payer") if k not in positions
    ]
    if missing:
        raise StatementError(
            [
                (
                    1,
                    f"見出しに「{'」「'.join(missing)}」がありません。",
                    f"Missing columns: {', '.join(missing)}.",
                )
            ]
        )
    lines: list[StatementLine] = []
    problems: list[tuple[int, str, str]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key: str, row=row) -> str:
            index = positions.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        try:
            raw_date = cell("received_on").replace("/", "-")
            received_on = dt.date.fromisoformat(
                "-".join(part.zfill(2) for part in raw_date.split("-"))
            )
        except ValueError:
            problems.append(
                (
                    number,
                    "入金日は 2026-12-01 の形式で書いてください。",
                    "Write the date as 2026-12-01.",
                )
            )
            continue
        import unicodedata

        raw_amount = unicodedata.normalize("NFKC", cell("amount")).replace(",", "").rstrip("円")
        if not raw_amount.isdigit() or int(raw_amount) <= 0:
            problems.append(
                (
                    number,
                    "金額は正の整数（円）で書いてください。",
                    "The amount must be a positive whole number of yen.",
                )
            )
            continue
        if not cell("payer"):
            problems.append((number, "振込依頼人名がありません。", "The payer is missing."))
            continue
        lines.append(
            StatementLine(received_on, int(raw_amount), cell("payer"), cell("transaction_number"))
        )
    if problems:
        raise StatementError(problems)
    return lines


@transaction.atomic
def resolve_bank_receipt(*, receipt: BankReceipt, staff, note: str) -> BankReceipt:
    """Staff dealt with a line that matched nothing (returned the money, found the payer)."""
    note = note.strip()
    if not note:
        raise PaymentError("対応の内容を入力してください。", "Describe what was done.")
    counter_services._check_free_text(note)
    receipt = BankReceipt.objects.select_for_update().get(pk=receipt.pk)
    receipt.resolved_by = staff
    receipt.resolved_note = note[:500]
    receipt.save(update_fields=["resolved_by", "resolved_note"])
    record_event(
        event_type="payment.bank_receipt_resolved",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="bank_receipt",
        subject_id=receipt.pk,
        body_id=receipt.body_id,
        content=note,
    )
    return receipt


# --- refunds (還付) ----------------------------------------------------------------------


@transaction.atomic
def request_refund(*, payment: Payment, staff, amount: int, reason: str) -> Refund:
    """Staff decide a 還付. An online payment is refunded at the provider (after
    commit, with the refund's id as the idempotency key); one paid at the counter or by
    transfer is paid back by the accounting office and confirmed with complete_refund."""
    reason = reason.strip()
    if not reason:
        raise PaymentError("還付の理由を入力してください。", "Give the reason for the refund.")
    counter_services._check_free_text(reason)
    payment = _locked(payment)
    pending = payment.refunds.filter(status=Refund.Status.PENDING)
    available = payment.refundable - sum(r.amount for r in pending)
    if payment.status not in SETTLED_STATUSES:
        raise PaymentError("支払済みのお支払いだけ還付できます。", "Only paid payments.")
    if not 0 < amount <= available:
        raise PaymentError(
            f"還付額は1円以上{available:,}円以下で入力してください。",
            f"The refund must be between 1 and {available} yen.",
        )
    refund = Refund.objects.create(
        payment=payment, amount=amount, reason=reason[:500], requested_by=staff
    )
    record_event(
        event_type="refund.requested",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="payment",
        subject_id=payment.pk,
        body_id=payment.body_id,
        content=reason,
        details={"refund": str(refund.pk), "amount": amount},
    )
    if registry.get(payment.provider).online:
        transaction.on_commit(lambda: send_refund(refund=refund))
    return refund


def send_refund(*, refund: Refund) -> Refund:
    """Asks the provider to refund (repeatable: the refund's id is the idempotency key)."""
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.status != Refund.Status.PENDING:
        return refund
    provider = registry.get(refund.payment.provider)
    try:
        if refund.provider_reference and hasattr(provider, "fetch_refund"):
            result = provider.fetch_refund(refund)
        else:
            result = provider.refund(refund.payment, refund)
    except ProviderError as exc:
        logger.warning("refund %s not sent: %s", refund.pk, exc.code)
        if not exc.transient:
            with transaction.atomic():
                _finish_refund(refund.pk, "failed", "", actor=None)
        return Refund.objects.get(pk=refund.pk)
    with transaction.atomic():
        return _finish_refund(refund.pk, result.status, result.reference, actor=None)


@transaction.atomic
def complete_refund(*, refund: Refund, staff, refunded_on: dt.date | None = None) -> Refund:
    """A manual refund has been paid out (by the accounting office)."""
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if registry.get(refund.payment.provider).online:
        raise PaymentError(
            "オンライン決済の還付は決済サービスが行います。", "Online refunds complete themselves."
        )
    return _finish_refund(refund.pk, "succeeded", "", actor=staff, refunded_on=refunded_on)


def _finish_refund(refund_id, status: str, reference: str, *, actor, refunded_on=None) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if reference and not refund.provider_reference:
        refund.provider_reference = reference
        refund.save(update_fields=["provider_reference"])
    if refund.status != Refund.Status.PENDING or status == "pending":
        return refund
    payment = _locked(refund.payment)
    refund.status = Refund.Status.SUCCEEDED if status == "succeeded" else Refund.Status.FAILED
    refund.completed_at = _now()
    refund.refunded_on = refunded_on or timezone.localdate()
    refund.save(update_fields=["status", "completed_at", "refunded_on"])
    actor_kind = "staff" if actor is not None else "system"
    actor_id = actor.pk if actor is not None else None
    if refund.status == Refund.Status.SUCCEEDED:
        payment.refunded_amount += refund.amount
        name = "refund" if payment.refunded_amount >= payment.amount else "refund_partially"
        _fire(
            payment,
            name,
            actor_kind=actor_kind,
            actor_id=actor_id,
            details={"refund": str(refund.pk), "refund_amount": refund.amount},
        )
    else:
        _flag(payment, "refund_failed", f"refund {refund.pk} failed")
        record_event(
            event_type="refund.failed",
            actor_kind=actor_kind,
            actor_id=actor_id,
            subject_type="payment",
            subject_id=payment.pk,
            body_id=payment.body_id,
            details={"refund": str(refund.pk)},
        )
    return refund


def _sync_refunds(payment: Payment, provider: registry.Provider) -> None:
    for refund in payment.refunds.filter(status=Refund.Status.PENDING):
        send_refund(refund=refund)


# --- receipts ---------------------------------------------------------------------------


def fiscal_year(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def _issue_receipt(payment: Payment) -> Receipt:
    """領収書番号 R<年度>-<団体コード>-<連番>, consecutive per body and 年度 (the
    accounting office counts them); the sequence row is locked for the increment."""
    existing = Receipt.objects.filter(payment=payment).first()
    if existing:
        return existing
    day = payment.paid_on or timezone.localdate()
    year = fiscal_year(day)
    sequence, _created = ReceiptSequence.objects.get_or_create(
        body_id=payment.body_id, fiscal_year=year
    )
    sequence = ReceiptSequence.objects.select_for_update().get(pk=sequence.pk)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    body = payment.fee.body
    settings_row = BodyPaymentSettings.objects.filter(body=body).first()
    return Receipt.objects.create(
        payment=payment,
        number=f"R{year}-{body.code}-{sequence.last:06d}",
        issued_at=_now(),
        issuer=(
            settings_row.receipt_issuer
            if settings_row and settings_row.receipt_issuer
            else body.name
        ),
    )


# --- the review guard -------------------------------------------------------------------

GUARDED_TRANSITIONS = frozenset({"start_review", "approve", "route_approve"})


def review_guard(application: Application, name: str) -> None:
    """No review (and no approval) of an application whose fee must be paid first."""
    if name not in GUARDED_TRANSITIONS or not application.fee_amount:
        return
    settings_ = fee_settings(application.procedure_version.definition)
    if settings_.timing != Timing.BEFORE_REVIEW or settled(application):
        return
    raise PaymentRequired(
        "手数料の納付が確認できていないため、審査を始められません（審査の前に納付が必要な手続です）。",
        "The fee must be paid before the review.",
    )


def discard_guard(application: Application, name: str) -> None:
    """A draft whose payment is under way (or done) is not deleted with its money."""
    if name != "discard":
        return
    live = Payment.objects.filter(fee__application=application, status__in=LIVE_STATUSES)
    if live.exclude(status=Status.PENDING, provider_reference="").exists():
        raise PaymentError(
            "お支払いの手続中のため、この下書きは削除できません。お支払いを中止してから削除してください。",
            "A payment for this draft is in progress; cancel it first.",
        )


def issuance_allowed(application: Application) -> bool:
    """For issuance (a gate in counter.hooks): whether the document may be issued — a fee
    due before issuance must be settled; one due before review was settled already."""
    if not application.fee_amount:
        return True
    if fee_settings(application.procedure_version.definition).timing != Timing.BEFORE_ISSUANCE:
        return True
    return settled(application)


# --- reconciliation ---------------------------------------------------------------------


def reconcile(*, now: dt.datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Carries every online payment as far as the provider's truth allows: pending ones
    without news, authorised ones not yet captured (or whose draft is not yet
    submitted), refunds still pending. Run periodically (`madoguchi payments reconcile`)."""
    from django.conf import settings

    now = now or _now()
    stale = now - dt.timedelta(minutes=settings.MADOGUCHI_PAYMENT_STALE_MINUTES)
    online = [p.identifier for p in registry.all_providers() if p.online and p.is_configured()]
    counts: dict[str, int] = {}
    due = (
        Payment.objects.filter(provider__in=online)
        .filter(
            (Q(status=Status.PENDING, updated_at__lte=stale) & ~Q(provider_reference=""))
            | Q(status=Status.AUTHORISED)
            | Q(status__in=SETTLED_STATUSES, refunds__status=Refund.Status.PENDING)
            | Q(
                status=Status.PAID,
                submit_on_authorise=True,
                fee__application__state=ApplicationState.DRAFT,
            )
        )
        .distinct()
    )
    for payment in list(due.order_by("updated_at")[:limit]):
        try:
            result = sync_payment(payment=payment, source="reconcile").status
        except (ProviderUnavailable, PaymentError) as exc:
            result = f"error:{exc.code}"
        counts[result] = counts.get(result, 0) + 1
    return counts
