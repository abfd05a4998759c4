"""Residents' and guests' pages of 来庁予約. Choosing a time is two lists — the days with
their free times, then the times of one day as radio buttons — so that it works with a
keyboard, a screen reader and without JavaScript."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.catalogue.errors import FieldError
from madoguchi.catalogue.fieldtypes import localized
from madoguchi.counter import selectors as counter_selectors
from madoguchi.counter.services import CounterError

from . import selectors, services, slots
from .models import Booking, Counter

DAYS_PER_PAGE = 14
VERIFIED_EMAIL_KEY = "madoguchi_appointments_verified"


def _message(error: CounterError) -> str:
    return error.en if (get_language() or "ja").startswith("en") else error.ja


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _moment(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else None


def qr_data_uri(text: str) -> str:
    import segno

    return segno.make(text, error="m").svg_data_uri(border=2)


def check_in_url(booking: Booking) -> str:
    return settings.MADOGUCHI_BASE_URL.rstrip("/") + reverse(
        "appointments_staff:check_in", args=[services.check_in_token(booking)]
    )


def choice_context(
    request: HttpRequest, counter: Counter, minutes: int, *, staff: bool = False
) -> dict:
    """The lists of days and times for a visit of `minutes` at `counter`."""
    today = timezone.localdate()
    day = _date(request.GET.get("day"))
    start = _date(request.GET.get("from")) or today
    start = max(start, today) if not staff else start
    context = {
        "counter": counter,
        "minutes": minutes,
        "today": today,
        "day": None,
        "times": [],
        "days": [],
        "start": start,
        "previous_start": max(start - dt.timedelta(days=DAYS_PER_PAGE), today),
        "next_start": start + dt.timedelta(days=DAYS_PER_PAGE),
        "key": uuid.uuid4(),
        "staff": staff,
    }
    if day is not None:
        (found,) = slots.days(counter, day, 1, minutes=minutes)
        context["day"] = found
        context["times"] = [
            slot for slot in found.slots if slot.bookable or (staff and not slot.full)
        ]
    else:
        context["days"] = slots.days(counter, start, DAYS_PER_PAGE, minutes=minutes)
    return context


def _finish(context: dict) -> None:
    """What the lists' links and the error summary need from the rest of the context."""
    context["query"] = urlencode(context.get("hidden") or {})
    context["error_by"] = {error.path: error.message for error in context.get("errors", [])}


def _booking_target(request: HttpRequest):
    """What the resident books for: an application of theirs, a procedure, or a counter."""
    application = None
    application_id = request.GET.get("application") or request.POST.get("application")
    if application_id:
        application = counter_selectors.application_for_resident(request.user, application_id)
        if application is None or application.applicant_id != request.user.pk:
            raise Http404
        counter = services.counter_for_procedure(application.procedure)
        if counter is None:
            raise Http404
        return counter, application, application.procedure
    counter_id = request.GET.get("counter") or request.POST.get("counter")
    counter = (
        selectors.public_counters().filter(pk=counter_id).first()
        if str(counter_id or "").isdigit()
        else None
    )
    if counter is None:
        raise Http404
    return counter, None, None


@login_required
def new(request: HttpRequest) -> HttpResponse:
    """Book (or, with ?change=<booking>, move) a visit from the account."""
    changing = None
    if request.GET.get("change") or request.POST.get("change"):
        changing = selectors.booking_for_resident(
            request.user, request.GET.get("change") or request.POST.get("change")
        )
        if changing is None or changing.status != Booking.Status.BOOKED:
            raise Http404
        counter, application, procedure = changing.counter, changing.application, changing.procedure
    else:
        counter, application, procedure = _booking_target(request)
    minutes = services.visit_minutes(counter=counter, procedure=procedure)
    errors: list[FieldError] = []
    status = 200
    if request.method == "POST":
        starts_at = _moment(request.POST.get("starts_at", ""))
        try:
            key = uuid.UUID(request.POST.get("key", ""))
        except ValueError:
            key = None
        if starts_at is None or key is None:
            errors.append(
                FieldError("starts_at", "時間を選んでください。", "Choose a time.", "required")
            )
        else:
            try:
                if changing:
                    booking = services.reschedule(
                        booking=changing, starts_at=starts_at, actor=request.user
                    )
                    messages.success(request, _("予約の日時を変更しました。"))
                else:
                    booking = services.book(
                        counter=counter,
                        starts_at=starts_at,
                        idempotency_key=key,
                        user=request.user,
                        procedure=procedure,
                        application=application,
                    )
                    messages.success(
                        request, _("来庁の予約をしました。確認のメールをお送りしました。")
                    )
                return redirect("appointments:detail", pk=booking.pk)
            except CounterError as exc:
                errors.append(FieldError("starts_at", exc.ja, exc.en, exc.code))
                status = 409 if isinstance(exc, services.SlotFull) else 422
        request.GET = request.GET.copy()
        request.GET["day"] = request.POST.get("day", "")
    context = choice_context(request, counter, minutes)
    context.update(
        {
            "errors": errors,
            "application": application,
            "procedure": procedure,
            "changing": changing,
            "hidden": {
                key: value
                for key, value in (
                    ("application", application.pk if application else ""),
                    ("counter", "" if application or changing else counter.pk),
                    ("change", changing.pk if changing else ""),
                )
                if value
            },
            "form_action": reverse("appointments:new"),
        }
    )
    _finish(context)
    return render(request, "appointments/choose.html", context, status=status)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    bookings = list(selectors.bookings_for_resident(request.user)[:100])
    now = timezone.now()
    return render(
        request,
        "appointments/mine.html",
        {
            "upcoming": [b for b in bookings if b.ends_at >= now and b.status == "booked"],
            "past": [b for b in bookings if not (b.ends_at >= now and b.status == "booked")],
        },
    )


def _booking_context(booking: Booking) -> dict:
    note = ""
    if booking.procedure_id and booking.procedure.current_version_id:
        note = localized(
            booking.procedure.current_version.definition.get("appointment") or {}, "note"
        )
    return {
        "booking": booking,
        "qr": qr_data_uri(check_in_url(booking)),
        "procedure_note": note,
        "can_change": booking.status == Booking.Status.BOOKED
        and booking.starts_at > timezone.now(),
    }


@login_required
def detail(request: HttpRequest, pk) -> HttpResponse:
    booking = selectors.booking_for_resident(request.user, pk)
    if booking is None:
        raise Http404
    context = _booking_context(booking)
    context.update(
        {
            "ics_url": reverse("appointments:ics", args=[booking.pk]),
            "cancel_url": reverse("appointments:cancel", args=[booking.pk]),
            "change_url": reverse("appointments:new") + f"?change={booking.pk}",
        }
    )
    return render(request, "appointments/detail.html", context)


@login_required
@require_POST
def cancel(request: HttpRequest, pk) -> HttpResponse:
    booking = selectors.booking_for_resident(request.user, pk)
    if booking is None:
        raise Http404
    try:
        services.cancel(booking=booking, actor=request.user)
        messages.success(request, _("予約を取り消しました。"))
    except CounterError as exc:
        messages.error(request, _message(exc))
    return redirect("appointments:detail", pk=booking.pk)


def _ics_response(booking: Booking) -> HttpResponse:
    response = HttpResponse(
        services.ics(booking, get_language()), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="madoguchi-{booking.reference}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def ics_file(request: HttpRequest, pk) -> HttpResponse:
    booking = selectors.booking_for_resident(request.user, pk)
    if booking is None:
        raise Http404
    return _ics_response(booking)


# --- guests -----------------------------------------------------------------------------


def _verified_email(request: HttpRequest) -> str:
    data = request.session.get(VERIFIED_EMAIL_KEY) or {}
    if data.get("until", 0) < timezone.now().timestamp():
        return ""
    return data.get("email", "")


def guest(request: HttpRequest, body_code: str, code: str) -> HttpResponse:
    """A counter's times for someone without an account: the e-mail address is confirmed
    by a link before anything is booked. Logged-in residents book from their account."""
    counter = selectors.counter_by_code(body_code, code)
    if counter is None:
        raise Http404
    if request.user.is_authenticated:
        return redirect(reverse("appointments:new") + f"?counter={counter.pk}")
    procedure = None
    managing = (
        services.booking_from_manage_token(request.GET.get("manage", ""))
        if (request.GET.get("manage"))
        else None
    )
    minutes = services.visit_minutes(
        counter=counter, procedure=managing.procedure if managing else None
    )
    errors: list[FieldError] = []
    values = {"email": _verified_email(request), "name": ""}
    status = 200
    if request.method == "POST":
        managing = (
            services.booking_from_manage_token(request.POST.get("manage", ""))
            if request.POST.get("manage")
            else None
        )
        values = {
            "email": request.POST.get("email", "").strip()[:254],
            "name": request.POST.get("name", "").strip()[:100],
        }
        starts_at = _moment(request.POST.get("starts_at", ""))
        if starts_at is None:
            errors.append(
                FieldError("starts_at", "時間を選んでください。", "Choose a time.", "required")
            )
        if not managing:
            try:
                validate_email(values["email"])
            except ValidationError:
                errors.append(
                    FieldError(
                        "email",
                        "メールアドレスの形式で入力してください。",
                        "Enter a valid e-mail address.",
                        "email",
                    )
                )
        if not errors:
            try:
                if managing:
                    services.reschedule(booking=managing, starts_at=starts_at)
                    messages.success(request, _("予約の日時を変更しました。"))
                    return redirect("appointments:manage", token=services.manage_token(managing))
                if values["email"] and values["email"].lower() == _verified_email(request):
                    booking = services.book(
                        counter=counter,
                        starts_at=starts_at,
                        idempotency_key=uuid.UUID(request.POST.get("key")),
                        guest_email=values["email"],
                        guest_name=values["name"],
                        language=get_language(),
                    )
                    return redirect("appointments:manage", token=services.manage_token(booking))
                services.request_guest_booking(
                    counter=counter,
                    starts_at=starts_at,
                    email=values["email"],
                    name=values["name"],
                    procedure=procedure,
                    language=get_language(),
                )
                return render(
                    request,
                    "appointments/guest_sent.html",
                    {"counter": counter, "email": values["email"]},
                )
            except (CounterError, ValueError) as exc:
                if isinstance(exc, CounterError):
                    errors.append(FieldError("starts_at", exc.ja, exc.en, exc.code))
                    status = 409 if isinstance(exc, services.SlotFull) else 422
                else:
                    errors.append(
                        FieldError(
                            "starts_at",
                            "画面が古くなっています。もう一度お選びください。",
                            "The page is out of date.",
                            "stale",
                        )
                    )
                    status = 422
        else:
            status = 422
        request.GET = request.GET.copy()
        request.GET["day"] = request.POST.get("day", "")
    context = choice_context(request, counter, minutes)
    context.update(
        {
            "errors": errors,
            "guest": True,
            "values": values,
            "changing": managing,
            "hidden": {"manage": request.GET.get("manage") or request.POST.get("manage", "")}
            if managing
            else {},
            "form_action": reverse("appointments:guest", args=[body_code, code]),
        }
    )
    _finish(context)
    return render(request, "appointments/choose.html", context, status=status)


def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the confirmation e-mail. A GET shows what will be booked (mail
    scanners follow links); the button books it."""
    guest_request = services.guest_request_for(token)
    if guest_request is None:
        return render(request, "appointments/verify.html", {"invalid": True}, status=410)
    if request.method == "POST":
        try:
            booking = services.confirm_guest_booking(token=token)
            return redirect("appointments:manage", token=services.manage_token(booking))
        except services.SlotFull as exc:
            # The address is proven: the guest may pick another time without a new e-mail.
            request.session[VERIFIED_EMAIL_KEY] = {
                "email": guest_request.email,
                "until": (timezone.now() + dt.timedelta(minutes=30)).timestamp(),
            }
            messages.error(request, _message(exc))
            counter = guest_request.counter
            day = timezone.localtime(guest_request.starts_at).date()
            return redirect(
                reverse("appointments:guest", args=[counter.body.code, counter.code])
                + f"?day={day:%Y-%m-%d}"
            )
        except CounterError as exc:
            messages.error(request, _message(exc))
    return render(request, "appointments/verify.html", {"request_": guest_request})


def manage(request: HttpRequest, token: str) -> HttpResponse:
    booking = services.booking_from_manage_token(token)
    if booking is None:
        raise Http404
    if request.method == "POST":
        try:
            services.cancel(booking=booking)
            messages.success(request, _("予約を取り消しました。"))
        except CounterError as exc:
            messages.error(request, _message(exc))
        return redirect("appointments:manage", token=token)
    context = _booking_context(booking)
    counter = booking.counter
    context.update(
        {
            "guest": True,
            "ics_url": reverse("appointments:manage_ics", args=[token]),
            "cancel_url": reverse("appointments:manage", args=[token]),
            "change_url": reverse("appointments:guest", args=[counter.body.code, counter.code])
            + f"?manage={token}",
        }
    )
    return render(request, "appointments/detail.html", context)


def manage_ics(request: HttpRequest, token: str) -> HttpResponse:
    booking = services.booking_from_manage_token(token)
    if booking is None:
        raise Http404
    return _ics_response(booking)
