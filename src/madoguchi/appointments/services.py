"""Business rules of appointments (来庁予約). Views, the API, the CLI and tasks call these.

Booking takes one seat per slot the visit covers. A seat is a row whose uniqueness the
database enforces, so two requests can never hold the same place: the loser's insert
fails and it tries the next seat, and when none is left the answer is "full" (SlotFull).
No row is locked to count places; each attempt is one short transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from madoguchi.core.languages import name_in, site_language
from madoguchi.counter.services import CounterError, _check_free_text
from madoguchi.ledger.services import record_event
from madoguchi.notifications.services import queue_email

from . import slots, states
from .models import Booking, BookingSeat, Closure, Counter, GuestRequest, SlotBlock

logger = logging.getLogger(__name__)

REFERENCE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"  # no 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B
GUEST_REQUEST_MINUTES = 30
GUEST_REQUESTS_PER_HOUR = 5
CHECK_IN_SALT = "madoguchi.appointments.check-in"
MANAGE_SALT = "madoguchi.appointments.manage"


class AppointmentError(CounterError):
    code = "appointment_refused"


class SlotFull(AppointmentError):
    code = "full"
    status = 409

    def __init__(self) -> None:
        super().__init__(
            "この時間は満員になりました。ほかの時間をお選びください。",
            "This time is fully booked; choose another time.",
        )


class SlotUnavailable(AppointmentError):
    code = "unavailable"
    status = 422


def _now() -> dt.datetime:
    return timezone.now()


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def check_in_token(booking: Booking) -> str:
    """What the QR code on the booking carries: the booking signed with the site's key."""
    return signing.Signer(salt=CHECK_IN_SALT).sign(str(booking.pk))


def booking_from_check_in_token(token: str) -> Booking | None:
    try:
        value = signing.Signer(salt=CHECK_IN_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return Booking.objects.filter(pk=_uuid(value)).first() if _uuid(value) else None


def manage_token(booking: Booking) -> str:
    """A guest's key to their booking (in the confirmation e-mail)."""
    return signing.Signer(salt=MANAGE_SALT).sign(str(booking.pk))


def booking_from_manage_token(token: str) -> Booking | None:
    try:
        value = signing.Signer(salt=MANAGE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return Booking.objects.filter(pk=_uuid(value)).first() if _uuid(value) else None


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def visit_minutes(*, counter: Counter, procedure=None) -> int:
    """The length of the visit: the procedure's `appointment.slot_minutes` if it names
    this counter, else one slot of the counter."""
    if procedure is not None and procedure.current_version_id:
        spec = procedure.current_version.definition.get("appointment") or {}
        if spec.get("counter") == counter.code:
            return int(spec["slot_minutes"])
    return counter.slot_minutes


def counter_for_procedure(procedure) -> Counter | None:
    spec = (procedure.current_version.definition.get("appointment") or {}) if procedure else {}
    if not spec:
        return None
    return Counter.objects.filter(body_id=procedure.body_id, code=spec["counter"]).first()


def _check_slot(counter: Counter, starts_at: dt.datetime, minutes: int, *, staff: bool, now):
    slot = slots.slot_at(counter, starts_at, minutes=minutes, now=now)
    if slot is None:
        raise SlotUnavailable(
            "その時間は予約を受け付けていません（受付時間外・閉庁日）。",
            "No bookable slot starts at that time.",
        )
    if slot.blocked:
        raise SlotUnavailable(
            "その時間は予約を受け付けていません（窓口の都合により停止しています）。",
            "Booking is stopped for that time.",
        )
    if slot.full:
        raise SlotFull()
    if not slot.bookable and not staff:
        raise SlotUnavailable(
            "その時間は予約を受け付けていません（締切を過ぎたか、予約できる期間の外です）。",
            "That time can no longer be booked.",
        )
    return slot


def _take_seats(booking: Booking, counter: Counter, slot: slots.Slot) -> None:
    """One seat per covered slot. Each insert runs in a savepoint: a seat taken by
    someone else a moment ago raises IntegrityError and the next seat is tried."""
    for moment in slots.seat_starts(counter, slot):
        for _round in range(3):
            used = set(
                BookingSeat.objects.filter(counter=counter, starts_at=moment).values_list(
                    "seat", flat=True
                )
            )
            free = [seat for seat in range(1, counter.capacity + 1) if seat not in used]
            if not free:
                raise SlotFull()
            for seat in free:
                try:
                    with transaction.atomic():
                        BookingSeat.objects.create(
                            booking=booking, counter=counter, starts_at=moment, seat=seat
                        )
                    break
                except IntegrityError:
                    continue
            else:
                continue  # every free seat went to someone else: look again
            break
        else:
            raise SlotFull()


def _event(booking: Booking, name: str, *, actor_kind: str, actor_id=None, details=None) -> None:
    record_event(
        event_type=f"appointment.{name}",
        actor_kind=actor_kind,
        actor_id=actor_id,
        subject_type="booking",
        subject_id=booking.pk,
        body_id=booking.body_id,
        details={
            "counter": booking.counter_id,
            "starts_at": booking.starts_at.isoformat(),
            "application": str(booking.application_id) if booking.application_id else None,
            **(details or {}),
        },
    )


def booking_language(booking: Booking) -> str:
    """The language of what is sent about the booking: a resident's account's, a guest's
    the one they booked in."""
    return booking.user.language if booking.user_id else booking.language


def _when(starts: dt.datetime, ends: dt.datetime | None, language: str) -> str:
    """2026年12月18日 10:00〜10:30, or Dec. 18, 2026 10:00–10:30 in English."""
    with translation.override(language):
        day = date_format(starts, "DATE_FORMAT")
    dash = "–" if language == "en" else "〜"
    return f"{day} {starts:%H:%M}" + (f"{dash}{ends:%H:%M}" if ends else "")


def _mail(booking: Booking, template: str, **context) -> None:
    if not booking.email:
        return
    base = settings.MADOGUCHI_BASE_URL.rstrip("/")
    local = timezone.localtime(booking.starts_at)
    if booking.user_id:
        url = f"/account/appointments/{booking.pk}/"
    else:
        url = f"/appointments/manage/{manage_token(booking)}/"
    language = booking_language(booking)
    ends = timezone.localtime(booking.ends_at)
    queue_email(
        to=booking.email,
        template=template,
        language=language,
        context={
            "reference": booking.reference,
            "counter_name": name_in(language, booking.counter.name, booking.counter.name_en),
            "location": booking.counter.location,
            "note": booking.counter.note,
            "when": _when(local, ends, language),
            "url": url,
            "ics_url": url + "booking.ics",
            "base_url": base,
            **context,
        },
        related_type="booking",
        related_id=str(booking.pk),
    )


def book(**kwargs) -> Booking:
    """Books a time; see `reserve`."""
    return reserve(**kwargs)[0]


@transaction.atomic
def reserve(
    *,
    counter: Counter,
    starts_at: dt.datetime,
    idempotency_key: uuid.UUID,
    user=None,
    guest_email: str = "",
    guest_name: str = "",
    language: str = "ja",
    procedure=None,
    application=None,
    staff=None,
    now: dt.datetime | None = None,
) -> tuple[Booking, bool]:
    """Books a time; returns (booking, created). The same key again returns the same
    booking (a double click, a resent request). Raises SlotFull when the last place went
    to someone else."""
    guest_email = guest_email.strip().lower()
    existing = next(iter(Booking.objects.filter(idempotency_key=idempotency_key)[:1]), None)
    if existing is not None:
        same_owner = (user is not None and existing.user_id == user.pk) or (
            user is None and existing.guest_email == guest_email
        )
        if not same_owner:
            raise AppointmentError(
                "この冪等キーは使用済みです。", "This idempotency key has already been used."
            )
        return existing, False
    if user is None and not guest_email:
        raise AppointmentError("予約する方を確認できません。", "Who is booking?")
    if application is not None:
        if user is None or application.applicant_id != user.pk:
            raise AppointmentError(
                "この申請の予約はできません。", "You cannot book for this application."
            )
        procedure = application.procedure
        if Booking.objects.filter(application=application, status=Booking.Status.BOOKED).exists():
            raise AppointmentError(
                "この申請の予約は既にあります。予約の変更をご利用ください。",
                "This application already has a booking; change it instead.",
            )
    # When the first place of the visit is gone, the answer is "full" at once (one
    # query): the common answer when many race for the last places.
    if BookingSeat.objects.filter(counter=counter, starts_at=starts_at).count() >= (
        counter.capacity
    ):
        raise SlotFull()
    minutes = visit_minutes(counter=counter, procedure=procedure)
    slot = _check_slot(counter, starts_at, minutes, staff=staff is not None, now=now)
    for _attempt in range(5):
        reference = _new_reference()
        if not Booking.objects.filter(reference=reference).exists():
            break
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                counter=counter,
                body_id=counter.body_id,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                reference=reference,
                user=user,
                guest_email=guest_email if not user else "",
                guest_name=guest_name[:100] if not user else "",
                language=site_language(language),
                procedure=procedure,
                application=application,
                idempotency_key=idempotency_key,
            )
            _take_seats(booking, counter, slot)
    except IntegrityError:
        # The same key sent twice at once, or a second booking for the application.
        existing = Booking.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
        raise AppointmentError(
            "この申請の予約は既にあります。予約の変更をご利用ください。",
            "This application already has a booking.",
        ) from None
    _event(
        booking,
        "booked",
        actor_kind="staff" if staff else "resident",
        actor_id=(staff or user).pk if (staff or user) else None,
        details={"minutes": minutes, "guest": user is None},
    )
    _mail(booking, "appointment_booked")
    return booking, True


def _locked(booking: Booking) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",)).select_related("counter").get(pk=booking.pk)
    )


@transaction.atomic
def reschedule(
    *,
    booking: Booking,
    starts_at: dt.datetime,
    actor=None,
    by_staff: bool = False,
    now: dt.datetime | None = None,
) -> Booking:
    """Moves a booking to another time: its old seats are given up and new ones taken
    in one transaction, so a full new time leaves the old booking as it was. Staff moves
    notify the resident."""
    booking = _locked(booking)
    if booking.status != Booking.Status.BOOKED:
        raise AppointmentError(
            "この予約は変更できません。", "This booking can no longer be changed."
        )
    if booking.starts_at == starts_at:
        return booking
    counter = booking.counter
    minutes = visit_minutes(counter=counter, procedure=booking.procedure)
    previous = booking.starts_at
    booking.seats.all().delete()
    slot = _check_slot(counter, starts_at, minutes, staff=by_staff, now=now)
    _take_seats(booking, counter, slot)
    booking.starts_at, booking.ends_at = slot.starts_at, slot.ends_at
    booking.reminder_sent_at = None
    booking.lock_version += 1
    booking.save()
    _event(
        booking,
        "rescheduled",
        actor_kind="staff" if by_staff else "resident",
        actor_id=actor.pk if actor else None,
        details={"from": previous.isoformat()},
    )
    _mail(booking, "appointment_changed", by_staff=by_staff)
    return booking


def _fire(booking: Booking, name: str, *, actor_kind: str, actor_id=None, details=None) -> None:
    transition = states.check(name, booking.status)
    booking.status = transition.target
    now = _now()
    if name == "cancel":
        booking.cancelled_at = now
        booking.seats.all().delete()
    booking.lock_version += 1
    booking.save()
    _event(booking, name, actor_kind=actor_kind, actor_id=actor_id, details=details)


@transaction.atomic
def cancel(*, booking: Booking, actor=None, by_staff: bool = False, reason: str = "") -> Booking:
    booking = _locked(booking)
    if booking.status == Booking.Status.CANCELLED:
        return booking
    if not states.allowed("cancel", booking.status):
        raise AppointmentError("この予約は取り消せません。", "This booking cannot be cancelled.")
    _check_free_text(reason)
    _fire(
        booking,
        "cancel",
        actor_kind="staff" if by_staff else "resident",
        actor_id=actor.pk if actor else None,
        details={"by_staff": by_staff, "has_reason": bool(reason.strip())},
    )
    _mail(booking, "appointment_cancelled", by_staff=by_staff, reason=reason.strip()[:500])
    return booking


@transaction.atomic
def check_in(*, booking: Booking, staff, now: dt.datetime | None = None) -> Booking:
    """受付: the resident has arrived (by the QR code on the booking or from the list)."""
    booking = _locked(booking)
    now = now or _now()
    if booking.status == Booking.Status.CHECKED_IN:
        return booking
    if timezone.localtime(booking.starts_at).date() != timezone.localdate(now):
        raise AppointmentError(
            "来庁の受付は予約の当日だけできます。", "Check-in is only possible on the day."
        )
    if not states.allowed("check_in", booking.status):
        raise AppointmentError("この予約は受付できません。", "This booking cannot be checked in.")
    booking.checked_in_at = now
    booking.checked_in_by = staff
    _fire(booking, "check_in", actor_kind="staff", actor_id=staff.pk)
    return booking


@transaction.atomic
def mark_no_show(*, booking: Booking, staff, now: dt.datetime | None = None) -> Booking:
    booking = _locked(booking)
    now = now or _now()
    if booking.status == Booking.Status.NO_SHOW:
        return booking
    if booking.starts_at > now:
        raise AppointmentError(
            "予約の時間になる前に「来庁なし」にはできません。", "The time has not come yet."
        )
    if not states.allowed("no_show", booking.status):
        raise AppointmentError("この予約は変更できません。", "This booking cannot be changed.")
    _fire(booking, "no_show", actor_kind="staff", actor_id=staff.pk)
    return booking


# --- staff: blocks and closures ---------------------------------------------------------


@transaction.atomic
def block_slots(
    *, counter: Counter, staff, starts_at: dt.datetime, ends_at: dt.datetime, reason: str
) -> tuple[SlotBlock, list[Booking]]:
    """Takes a time out of booking; returns the bookings inside it, for staff to move."""
    reason = reason.strip()
    if not reason:
        raise AppointmentError("理由を入力してください。", "Give a reason.")
    _check_free_text(reason)
    if starts_at >= ends_at:
        raise AppointmentError(
            "終了は開始より後にしてください。", "The end must be after the start."
        )
    block = SlotBlock.objects.create(
        counter=counter, starts_at=starts_at, ends_at=ends_at, reason=reason[:200], created_by=staff
    )
    record_event(
        event_type="appointment.slots_blocked",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="counter",
        subject_id=counter.pk,
        body_id=counter.body_id,
        details={"from": starts_at.isoformat(), "to": ends_at.isoformat()},
    )
    affected = list(
        Booking.objects.filter(
            counter=counter,
            status=Booking.Status.BOOKED,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
    )
    return block, affected


@transaction.atomic
def unblock(*, block: SlotBlock, staff) -> None:
    record_event(
        event_type="appointment.slots_unblocked",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="counter",
        subject_id=block.counter_id,
        body_id=block.counter.body_id,
        details={"from": block.starts_at.isoformat(), "to": block.ends_at.isoformat()},
    )
    block.delete()


@transaction.atomic
def add_closure(*, counter: Counter, staff, day: dt.date, reason: str) -> list[Booking]:
    """臨時休業: returns the bookings of that day, for staff to move."""
    reason = reason.strip()
    if not reason:
        raise AppointmentError("理由を入力してください。", "Give a reason.")
    _check_free_text(reason)
    Closure.objects.update_or_create(counter=counter, day=day, defaults={"reason": reason[:200]})
    record_event(
        event_type="appointment.closure_added",
        actor_kind="staff",
        actor_id=staff.pk,
        subject_type="counter",
        subject_id=counter.pk,
        body_id=counter.body_id,
        details={"day": day.isoformat()},
    )
    start = slots._aware(day, dt.time.min)
    return list(
        Booking.objects.filter(
            counter=counter,
            status=Booking.Status.BOOKED,
            starts_at__gte=start,
            starts_at__lt=start + dt.timedelta(days=1),
        )
    )


# --- guests: booking with e-mail verification --------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def request_guest_booking(
    *,
    counter: Counter,
    starts_at: dt.datetime,
    email: str,
    name: str = "",
    procedure=None,
    language: str = "ja",
    now: dt.datetime | None = None,
) -> GuestRequest:
    """Without an account: the slot is checked, and a link to confirm it is e-mailed.
    The place is taken only when the link is followed (nothing is held by an address
    nobody has confirmed)."""
    now = now or _now()
    email = email.strip().lower()
    _check_free_text(name)
    recent = GuestRequest.objects.filter(
        email=email, created_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= GUEST_REQUESTS_PER_HOUR:
        raise AppointmentError(
            "確認メールの送信が多すぎます。1時間ほどしてからお試しください。",
            "Too many confirmation e-mails; try again in an hour.",
        )
    minutes = visit_minutes(counter=counter, procedure=procedure)
    slot = _check_slot(counter, starts_at, minutes, staff=False, now=now)
    token = secrets.token_urlsafe(32)
    request = GuestRequest.objects.create(
        counter=counter,
        starts_at=slot.starts_at,
        procedure=procedure,
        email=email,
        name=name.strip()[:100],
        language=site_language(language),
        token_sha256=_token_hash(token),
        expires_at=now + dt.timedelta(minutes=GUEST_REQUEST_MINUTES),
    )
    local = timezone.localtime(slot.starts_at)
    queue_email(
        to=email,
        template="appointment_verify",
        language=request.language,
        context={
            "counter_name": name_in(request.language, counter.name, counter.name_en),
            "when": _when(local, None, request.language),
            "url": f"/appointments/verify/{token}/",
            "minutes": GUEST_REQUEST_MINUTES,
        },
        related_type="guest_request",
        related_id=str(request.pk),
    )
    return request


def guest_request_for(token: str, *, now: dt.datetime | None = None) -> GuestRequest | None:
    now = now or _now()
    return (
        GuestRequest.objects.filter(token_sha256=_token_hash(token), expires_at__gt=now)
        .select_related("counter", "procedure")
        .first()
    )


@transaction.atomic
def confirm_guest_booking(*, token: str, now: dt.datetime | None = None) -> Booking:
    """The guest followed the link: book the time if it is still free. Following the
    link twice returns the same booking (the request's id is the idempotency key)."""
    request = guest_request_for(token, now=now)
    if request is None:
        raise AppointmentError(
            "確認のリンクが無効か、期限が切れています。もう一度予約してください。",
            "The link is invalid or has expired; book again.",
        )
    request = GuestRequest.objects.select_for_update().get(pk=request.pk)
    booking = book(
        counter=request.counter,
        starts_at=request.starts_at,
        idempotency_key=request.pk,
        guest_email=request.email,
        guest_name=request.name,
        language=request.language,
        procedure=request.procedure,
        now=now,
    )
    if request.used_at is None:
        request.used_at = now or _now()
        request.booking = booking
        request.save(update_fields=["used_at", "booking"])
    return booking


# --- reminders --------------------------------------------------------------------------


def send_reminders(*, now: dt.datetime | None = None) -> int:
    """The e-mail the day before: every booking of tomorrow (local) not reminded yet.
    Each row is locked while its e-mail is written, so two runs send one reminder."""
    now = now or _now()
    if timezone.localtime(now).hour < settings.MADOGUCHI_APPOINTMENT_REMINDER_HOUR:
        return 0
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    start = slots._aware(tomorrow, dt.time.min)
    due = Booking.objects.filter(
        status=Booking.Status.BOOKED,
        reminder_sent_at__isnull=True,
        starts_at__gte=start,
        starts_at__lt=start + dt.timedelta(days=1),
    ).values_list("pk", flat=True)
    sent = 0
    for booking_id in list(due):
        with transaction.atomic():
            booking = (
                Booking.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("counter", "user")
                .filter(pk=booking_id, reminder_sent_at__isnull=True)
                .first()
            )
            if booking is None:
                continue
            booking.reminder_sent_at = now
            booking.save(update_fields=["reminder_sent_at"])
            _mail(booking, "appointment_reminder")
            sent += 1
    return sent


def ics(booking: Booking, language: str | None = None) -> bytes:
    """The booking as an iCalendar file (RFC 5545), for the resident's calendar, in
    `language` (the page's it is downloaded from; else the booking's)."""
    language = site_language(language or booking_language(booking))
    with translation.override(language):
        return _ics(booking, language)


def _ics(booking: Booking, language: str) -> bytes:
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//madoguchi//appointments//JA")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    host = settings.MADOGUCHI_BASE_URL.split("//")[-1].split("/")[0] or "madoguchi"
    event.add("uid", f"{booking.pk}@{host}")
    event.add("dtstamp", booking.updated_at or _now())
    event.add("dtstart", timezone.localtime(booking.starts_at))
    event.add("dtend", timezone.localtime(booking.ends_at))
    counter_name = name_in(language, booking.counter.name, booking.counter.name_en)
    event.add(
        "summary",
        gettext("来庁予約 %(counter)s（予約番号 %(reference)s）")
        % {"counter": counter_name, "reference": booking.reference},
    )
    if booking.counter.location:
        event.add("location", booking.counter.location)
    description = [gettext("予約番号: %(reference)s") % {"reference": booking.reference}]
    if booking.procedure_id and booking.procedure.current_version_id:
        version = booking.procedure.current_version
        description.append(gettext("手続: %(name)s") % {"name": version.name_in(language)})
        appointment = version.definition.get("appointment") or {}
        note = (language == "en" and appointment.get("note_en")) or appointment.get("note")
        if note:
            description.append(note)
    if booking.counter.note:
        description.append(booking.counter.note)
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if booking.status == Booking.Status.CANCELLED else "CONFIRMED")
    event.add("sequence", booking.lock_version)
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", gettext("来庁予約"))
    alarm.add("trigger", dt.timedelta(hours=-1))
    event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()
