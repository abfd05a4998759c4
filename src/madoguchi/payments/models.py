"""Fees owed by applications, the payments that settle them, refunds and receipts.

A `Fee` is what one application owes (one row per application, computed from its
answers by the procedure's fee table). A `Payment` is one attempt to pay it, by one
provider; its life cycle is payments/states.py. At most one payment of a fee is live
(pending, authorised, paid or partially refunded) at a time: a database constraint, so
that no race can charge an application twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    PENDING = "pending", _("支払待ち")
    AUTHORISED = "authorised", _("与信済み")
    PAID = "paid", _("支払済み")
    FAILED = "failed", _("失敗")
    CANCELLED = "cancelled", _("取消し")
    REFUNDED = "refunded", _("還付済み")
    PARTIALLY_REFUNDED = "partially_refunded", _("一部還付")


LIVE_STATUSES = (Status.PENDING, Status.AUTHORISED, Status.PAID, Status.PARTIALLY_REFUNDED)
SETTLED_STATUSES = (Status.PAID, Status.PARTIALLY_REFUNDED)


class Timing(models.TextChoices):
    BEFORE_REVIEW = "before_review", _("審査の前に納付")
    BEFORE_ISSUANCE = "before_issuance", _("交付の前に納付")


class Method(models.TextChoices):
    CARD = "card", _("クレジットカード等")
    BANK_TRANSFER = "bank_transfer", _("銀行振込")
    COUNTER = "counter", _("窓口で支払う")


class Fee(models.Model):
    """The fee (手数料) an application owes, as the fee table computed it."""

    class State(models.TextChoices):
        UNPAID = "unpaid", _("未納")
        PAID = "paid", _("納付済み")
        WAIVED = "waived", _("免除")
        NOT_REQUIRED = "not_required", _("手数料なし")
        REFUNDED = "refunded", _("還付済み")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A discarded draft takes its fee and its unsuccessful payments with it (the counter
    # refuses to discard a draft with a live payment: the guard in payments/apps.py).
    application = models.OneToOneField(
        "counter.Application", on_delete=models.CASCADE, related_name="fee_record"
    )
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey("catalogue.Procedure", on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveIntegerField(_("手数料"))
    breakdown = models.JSONField(default=dict)
    answers_sha256 = models.CharField(max_length=64, blank=True)
    timing = models.CharField(max_length=20, choices=Timing.choices)
    methods = models.JSONField(default=list)
    # Derived from the payments (and a waiver) by services._refresh_fee; a column so that
    # the unpaid fees of a unit are one indexed query.
    state = models.CharField(max_length=20, choices=State.choices, default=State.UNPAID)
    due_date = models.DateField(_("支払期限"), null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    waived_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["unit", "state"], name="fee_unit_state_idx")]
        verbose_name = _("手数料")

    def __str__(self) -> str:
        return f"fee {self.amount} ({self.state})"

    @property
    def settled(self) -> bool:
        return self.state in (self.State.PAID, self.State.WAIVED, self.State.NOT_REQUIRED)


class Payment(models.Model):
    """One attempt to pay a fee with one provider."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fee = models.ForeignKey(Fee, on_delete=models.CASCADE, related_name="payments")
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=40)
    method = models.CharField(max_length=20, choices=Method.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    amount = models.PositiveIntegerField()
    refunded_amount = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="JPY")
    # The key of the request that started it (a form's hidden key or the API's
    # Idempotency-Key): the same request again finds this payment instead of a new one.
    idempotency_key = models.UUIDField(unique=True)
    provider_reference = models.CharField(max_length=200, blank=True, db_index=True)
    provider_payment_id = models.CharField(max_length=200, blank=True, db_index=True)
    redirect_url = models.URLField(max_length=2000, blank=True)
    # 納付番号: what the resident writes with a bank transfer, and staff look up.
    reference_number = models.CharField(max_length=12, unique=True, null=True, blank=True)
    breakdown = models.JSONField(default=dict)
    answers_sha256 = models.CharField(max_length=64, blank=True)
    # A card payment started on the check-answers page submits the draft once
    # authorised; the identity level is that of the session that started it.
    submit_on_authorise = models.BooleanField(default=False)
    identity_level = models.CharField(max_length=20, blank=True)
    # Why staff must look at it (a mismatch), empty when all is consistent.
    attention = models.CharField(max_length=40, blank=True)
    attention_detail = models.CharField(max_length=500, blank=True)
    # Why the payment was stopped, for the resident (e.g. the procedure closed meanwhile).
    resident_message = models.CharField(max_length=500, blank=True)
    paid_on = models.DateField(_("収納日"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    authorised_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fee"],
                condition=Q(status__in=[str(s) for s in LIVE_STATUSES]),
                name="payment_one_live_per_fee",
            )
        ]
        indexes = [
            models.Index(fields=["body", "paid_on"], name="payment_paid_on_idx"),
            models.Index(fields=["status", "updated_at"], name="payment_status_idx"),
        ]
        verbose_name = _("納付")

    def __str__(self) -> str:
        return f"payment {self.amount} {self.status}"

    @property
    def application(self):
        return self.fee.application

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.status in SETTLED_STATUSES else 0


class Refund(models.Model):
    """還付: money returned for a paid payment, in full or in part."""

    class Status(models.TextChoices):
        PENDING = "pending", _("処理中")
        SUCCEEDED = "succeeded", _("還付済み")
        FAILED = "failed", _("失敗")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    provider_reference = models.CharField(max_length=200, blank=True, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("還付")

    def __str__(self) -> str:
        return f"refund {self.amount} {self.status}"


class WebhookEvent(models.Model):
    """A provider's notification, kept by its id so that a replay changes nothing."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100)
    payload_sha256 = models.CharField(max_length=64)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")
        ]
        verbose_name = _("決済通知")

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"


class BankReceipt(models.Model):
    """One line of a bank statement (入金明細), matched to a bank-transfer payment."""

    class Match(models.TextChoices):
        MATCHED = "matched", _("消込済み")
        UNMATCHED = "unmatched", _("該当なし")
        AMOUNT_MISMATCH = "amount_mismatch", _("金額不一致")
        ALREADY_PAID = "already_paid", _("納付済み（重複）")

    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField(_("入金日"))
    amount = models.PositiveIntegerField(_("金額"))
    payer = models.CharField(_("振込依頼人"), max_length=200)
    transaction_number = models.CharField(max_length=100, blank=True)
    # The same statement imported twice must not record the same money twice.
    line_sha256 = models.CharField(max_length=64)
    reference_number = models.CharField(max_length=12, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_receipts"
    )
    match = models.CharField(max_length=20, choices=Match.choices)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_note = models.CharField(max_length=500, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["body", "line_sha256"], name="bank_receipt_once")
        ]
        verbose_name = _("入金明細")

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount} {self.match}"


class Receipt(models.Model):
    """領収書: numbered per body and 年度, issued once per paid payment."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    number = models.CharField(_("領収書番号"), max_length=30, unique=True)
    issued_at = models.DateTimeField()
    issuer = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("領収書")

    def __str__(self) -> str:
        return self.number


class ReceiptSequence(models.Model):
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["body", "fiscal_year"], name="receipt_sequence_once")
        ]

    def __str__(self) -> str:
        return f"{self.body_id}/{self.fiscal_year}: {self.last}"


class BodyPaymentSettings(models.Model):
    """What a body tells residents about paying: its bank account, where the counter is,
    and who issues receipts."""

    body = models.OneToOneField(
        "organisation.Body", on_delete=models.CASCADE, related_name="payment_settings"
    )
    bank_account = models.TextField(_("振込先"), blank=True)
    counter_location = models.CharField(_("窓口での支払場所"), max_length=300, blank=True)
    receipt_issuer = models.CharField(_("領収書の発行者"), max_length=200, blank=True)
    accounting_code = models.CharField(_("歳入科目コード"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("納付の設定")

    def __str__(self) -> str:
        return str(self.body_id)
