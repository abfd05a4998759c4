"""Staff pages of 来庁予約 (/staff/appointments/): today's list per counter, check-in
(from the list or the booking's QR code), no-shows, moving bookings, blocking times and
closing days. Only the counters of the staff member's units."""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.catalogue.errors import FieldError
from madoguchi.catalogue.fieldtypes import DisplayContext
from madoguchi.counter.selectors import data_subjects
from madoguchi.counter.services import CounterError
from madoguchi.ledger.services import log_access
from madoguchi.organisation.selectors import is_staff_member

from . import permissions, selectors, services, slots
from .models import Booking, Closure, SlotBlock
from .views import _date, _finish, _moment, choice_context


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not is_staff_member(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


class NotPermitted(services.AppointmentError):
    status = 403
    code = "forbidden"


def _require_process(user, counter) -> None:
    if not permissions.may(user, permissions.PROCESS, counter.unit):
        raise NotPermitted(
            "この操作の権限がありません（申請を処理する役割が必要です）。",
            "You may not do this (a role that processes applications is needed).",
        )


def _message(error: CounterError) -> str:
    return error.en if (get_language() or "ja").startswith("en") else error.ja


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    counters = list(selectors.counters_for_staff(request.user))
    counts = selectors.today_counts(counters)
    return render(
        request,
        "appointments/staff/home.html",
        {"rows": [(counter, counts.get(counter.pk, {})) for counter in counters]},
    )


@staff_required
def day(request: HttpRequest, counter_id: int) -> HttpResponse:
    counter = selectors.counter_for_staff(request.user, counter_id)
    if counter is None:
        raise Http404
    today = timezone.localdate()
    chosen = _date(request.GET.get("day"))
    if request.GET.get("day") and chosen is None:
        messages.error(request, _("日付は 2026-12-01 の形式で入力してください。"))
    chosen = chosen or today
    return render(
        request,
        "appointments/staff/day.html",
        {
            "counter": counter,
            "day": chosen,
            "today": today,
            "bookings": selectors.bookings_of_day(counter, chosen),
            "now": timezone.now(),
            "previous_day": chosen - dt.timedelta(days=1),
            "next_day": chosen + dt.timedelta(days=1),
        },
    )


def _application_rows(booking: Booking):
    """The application the visit is for, as staff read it before the visit (a draft too:
    the resident linked it to the booking to be shown)."""
    application = booking.application
    if application is None:
        return []
    definition = application.procedure_version.spec
    return definition.display_rows(application.answers, DisplayContext())


def _log_application_access(staff, booking: Booking) -> None:
    """The page shows the linked application's answers and the person's name: an access
    to the application, which the person sees on their account (as when the back office
    opens it), written before the page is shown. For an application made for someone
    else, it is that person's data too, when they have an account that may see it."""
    application = booking.application
    if application is None:
        return
    for person in data_subjects(application):
        log_access(
            actor=staff,
            unit=booking.counter.unit,
            subject_user=person,
            what="application",
            object_type="application",
            object_id=str(application.pk),
            purpose="counter",
        )


@staff_required
def booking(request: HttpRequest, pk) -> HttpResponse:
    found = selectors.booking_for_staff(request.user, pk)
    if found is None:
        raise Http404
    _log_application_access(request.user, found)
    return render(
        request,
        "appointments/staff/booking.html",
        {"booking": found, "sections": _application_rows(found), "now": timezone.now()},
    )


@staff_required
@require_POST
def act(request: HttpRequest, pk) -> HttpResponse:
    found = selectors.booking_for_staff(request.user, pk)
    if found is None:
        raise Http404
    action = request.POST.get("action", "")
    try:
        _require_process(request.user, found.counter)
        if action == "check_in":
            services.check_in(booking=found, staff=request.user)
            messages.success(request, _("来庁を受け付けました。"))
        elif action == "no_show":
            services.mark_no_show(booking=found, staff=request.user)
            messages.success(request, _("来庁なしにしました。"))
        elif action == "cancel":
            services.cancel(
                booking=found,
                actor=request.user,
                by_staff=True,
                reason=request.POST.get("reason", "")[:500],
            )
            messages.success(request, _("予約を取り消し、ご本人にお知らせしました。"))
        else:
            raise services.AppointmentError("この操作はできません。", "Unknown action.")
    except CounterError as exc:
        messages.error(request, _message(exc))
    back = request.POST.get("back", "")
    if back == "day":
        day_text = timezone.localtime(found.starts_at).date().isoformat()
        return redirect(
            reverse("appointments_staff:day", args=[found.counter_id]) + f"?day={day_text}"
        )
    return redirect("appointments_staff:booking", pk=found.pk)


@staff_required
def move(request: HttpRequest, pk) -> HttpResponse:
    found = selectors.booking_for_staff(request.user, pk)
    if found is None or found.status != Booking.Status.BOOKED:
        raise Http404
    minutes = services.visit_minutes(counter=found.counter, procedure=found.procedure)
    errors: list[FieldError] = []
    status = 200
    if request.method == "POST":
        starts_at = _moment(request.POST.get("starts_at", ""))
        if starts_at is None:
            errors.append(
                FieldError("starts_at", "時間を選んでください。", "Choose a time.", "required")
            )
        else:
            try:
                _require_process(request.user, found.counter)
                services.reschedule(
                    booking=found, starts_at=starts_at, actor=request.user, by_staff=True
                )
                messages.success(request, _("予約を移動し、ご本人にお知らせしました。"))
                return redirect("appointments_staff:booking", pk=found.pk)
            except CounterError as exc:
                errors.append(FieldError("starts_at", exc.ja, exc.en, exc.code))
                status = 409
        request.GET = request.GET.copy()
        request.GET["day"] = request.POST.get("day", "")
    context = choice_context(request, found.counter, minutes, staff=True)
    context.update(
        {
            "errors": errors,
            "changing": found,
            "hidden": {},
            "form_action": reverse("appointments_staff:move", args=[found.pk]),
            "staff_layout": True,
        }
    )
    _finish(context)
    return render(request, "appointments/staff/move.html", context, status=status)


@staff_required
def check_in_by_code(request: HttpRequest, token: str) -> HttpResponse:
    """The address in the booking's QR code: staff scan it, see the booking, confirm."""
    found = services.booking_from_check_in_token(token)
    if found is None or selectors.booking_for_staff(request.user, found.pk) is None:
        raise Http404
    if request.method == "POST":
        try:
            _require_process(request.user, found.counter)
            services.check_in(booking=found, staff=request.user)
            messages.success(request, _("来庁を受け付けました。"))
            return redirect("appointments_staff:booking", pk=found.pk)
        except CounterError as exc:
            messages.error(request, _message(exc))
    return render(
        request,
        "appointments/staff/check_in.html",
        {"booking": found, "sections": _application_rows(found)},
    )


@staff_required
def blocks(request: HttpRequest, counter_id: int) -> HttpResponse:
    counter = selectors.counter_for_staff(request.user, counter_id)
    if counter is None:
        raise Http404
    errors: list[FieldError] = []
    affected: list[Booking] = []
    values = {key: request.POST.get(key, "")[:200] for key in request.POST}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        day = _date(values.get("day"))
        try:
            _require_process(request.user, counter)
            if action == "unblock":
                block = SlotBlock.objects.filter(
                    counter=counter, pk=values.get("block") or 0
                ).first()
                if block is None:
                    raise Http404
                services.unblock(block=block, staff=request.user)
                messages.success(request, _("予約の停止を解除しました。"))
                return redirect("appointments_staff:blocks", counter_id=counter.pk)
            if day is None:
                raise services.AppointmentError(
                    "日付は 2026-12-01 の形式で入力してください。", "Use YYYY-MM-DD."
                )
            if action == "closure":
                affected = services.add_closure(
                    counter=counter, staff=request.user, day=day, reason=values.get("reason", "")
                )
                messages.success(request, _("臨時休業日にしました。"))
            else:
                try:
                    start = dt.time.fromisoformat(values.get("from", ""))
                    end = dt.time.fromisoformat(values.get("to", ""))
                except ValueError:
                    raise services.AppointmentError(
                        "時刻は 09:00 の形式で入力してください。", "Use HH:MM."
                    ) from None
                _block, affected = services.block_slots(
                    counter=counter,
                    staff=request.user,
                    starts_at=slots._aware(day, start),
                    ends_at=slots._aware(day, end),
                    reason=values.get("reason", ""),
                )
                messages.success(request, _("その時間の予約を停止しました。"))
            if not affected:
                return redirect("appointments_staff:blocks", counter_id=counter.pk)
            values = {}
        except CounterError as exc:
            errors.append(FieldError("day", exc.ja, exc.en, exc.code))
            status = 422
    today = timezone.localdate()
    return render(
        request,
        "appointments/staff/blocks.html",
        {
            "counter": counter,
            "blocks": SlotBlock.objects.filter(
                counter=counter, ends_at__gte=timezone.now()
            ).order_by("starts_at"),
            "closures": Closure.objects.filter(counter=counter, day__gte=today).order_by("day"),
            "affected": affected,
            "errors": errors,
            "values": values,
        },
        status=status,
    )
