"""来庁予約: counters (窓口) with opening hours and closures, bookings of their slots.

Capacity is a database invariant, not a count checked in Python: each booking holds one
`BookingSeat` per slot it covers, and (counter, slot start, seat number) is unique with
seat numbers 1…capacity. However many requests race for the last place, only as many
inserts as there are seats can succeed (decision 0019).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Counter(models.Model):
    """A 窓口 where residents are received, run by a unit."""

    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(_("窓口コード"), max_length=50)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("名称（英語）"), max_length=200, blank=True)
    location = models.CharField(_("場所"), max_length=200, blank=True)
    note = models.TextField(_("来庁される方へ"), max_length=2000, blank=True)
    slot_minutes = models.PositiveSmallIntegerField(_("1枠の長さ（分）"), default=15)
    capacity = models.PositiveSmallIntegerField(_("1枠の定員"), default=1)
    horizon_days = models.PositiveSmallIntegerField(_("予約できる先の日数"), default=60)
    lead_minutes = models.PositiveIntegerField(_("予約の締切（開始の何分前）"), default=60)
    is_active = models.BooleanField(_("受付中"), default=True)

    class Meta:
        ordering = ["body__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["body", "code"], name="counter_code_unique_in_body"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, capacity__gte=1), name="counter_slot_capacity"
            ),
        ]
        verbose_name = _("窓口")

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """Hours on one weekday (0 = Monday); several rows make a lunch break."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField()
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hours_weekday"),
            models.CheckConstraint(condition=Q(opens__lt=F("closes")), name="hours_order"),
        ]
        verbose_name = _("受付時間")

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens}-{self.closes}"


class Closure(models.Model):
    """A day the counter is closed besides weekends, holidays and 年末年始."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="closures")
    day = models.DateField(_("休業日"))
    reason = models.CharField(_("理由"), max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["counter", "day"], name="closure_once_per_day")
        ]
        verbose_name = _("臨時休業日")

    def __str__(self) -> str:
        return f"{self.counter_id} {self.day}"


class SlotBlock(models.Model):
    """Staff took these times out of booking (a meeting, a system outage)."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="blocks")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(_("理由"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="block_order")
        ]
        verbose_name = _("予約停止")

    def __str__(self) -> str:
        return f"{self.counter_id} {self.starts_at}-{self.ends_at}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValidationError(_("終了は開始より後にしてください。"))


class Booking(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("予約済み")
        CHECKED_IN = "checked_in", _("来庁済み")
        NO_SHOW = "no_show", _("来庁なし")
        CANCELLED = "cancelled", _("取消し")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="bookings")
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("開始"))
    ends_at = models.DateTimeField(_("終了"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    # 予約番号: read out at the counter; letters that cannot be confused.
    reference = models.CharField(_("予約番号"), max_length=12, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    guest_email = models.EmailField(blank=True)
    guest_name = models.CharField(max_length=100, blank=True)
    # A guest's e-mails are in the language they booked in (a resident's follow their
    # account's `language`).
    language = models.CharField(max_length=8, default="ja")
    procedure = models.ForeignKey(
        "catalogue.Procedure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The draft or application the visit is for: staff read it before the visit. A
    # discarded draft leaves the booking, unlinked.
    application = models.ForeignKey(
        "counter.Application",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
    )
    idempotency_key = models.UUIDField(unique=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["counter", "starts_at"], name="booking_counter_day_idx"),
            models.Index(fields=["status", "starts_at"], name="booking_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status="booked"),
                name="booking_one_active_per_application",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(guest_email=""),
                name="booking_has_someone",
            ),
        ]
        verbose_name = _("来庁予約")

    def __str__(self) -> str:
        return self.reference

    @property
    def email(self) -> str:
        return self.user.email if self.user_id else self.guest_email

    @property
    def person(self) -> str:
        if self.user_id:
            return self.user.display_name or self.user.email
        return self.guest_name or self.guest_email


class BookingSeat(models.Model):
    """One place in one slot, held by a booking. The unique constraint is the capacity."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="seats")
    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    seat = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["counter", "starts_at", "seat"], name="booking_seat_once"
            )
        ]
        verbose_name = _("予約枠")

    def __str__(self) -> str:
        return f"{self.counter_id} {self.starts_at} #{self.seat}"


class GuestRequest(models.Model):
    """A booking asked for without an account, waiting for its e-mail to be confirmed.
    It holds no place: the slot is booked when the link is followed (if still free)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    procedure = models.ForeignKey(
        "catalogue.Procedure", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField()
    name = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8, default="ja")
    token_sha256 = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["email", "created_at"], name="guest_request_email_idx")]
        verbose_name = _("予約の確認待ち")

    def __str__(self) -> str:
        return str(self.id)
