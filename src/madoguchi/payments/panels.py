"""The fee on the resident's check-answers, done and application pages (counter.hooks)."""

from __future__ import annotations

import uuid

from madoguchi.counter.hooks import Panel
from madoguchi.counter.models import State as ApplicationState

from . import selectors, services
from .models import LIVE_STATUSES, Fee, Status, Timing


def _breakdown_context(application) -> dict | None:
    breakdown = services.current_breakdown(application)
    if breakdown is None:
        return None
    return {
        "breakdown": breakdown,
        "settings": services.fee_settings(application.procedure_version.definition),
    }


def check_panel(request, application) -> Panel | None:
    """On the check-answers page: every line of the fee, the 減免 and its basis, the
    total; for a fee paid by card before review, the payment replaces the submit button
    (the application is sent once the payment is authorised)."""
    context = _breakdown_context(application)
    if context is None:
        return None
    breakdown = context["breakdown"]
    methods = services.available_methods(application)
    online = [(method, provider) for method, provider in methods if provider.online]
    offline = [(method, provider) for method, provider in methods if not provider.online]
    pay_first = (
        breakdown.total > 0
        and context["settings"].timing == Timing.BEFORE_REVIEW
        and bool(online)
        and application.applicant_id == request.user.pk
    )
    fee = Fee.objects.filter(application=application).first()
    live = fee.payments.filter(status__in=LIVE_STATUSES).first() if fee else None
    last = fee.payments.order_by("-created_at").first() if fee else None
    context.update(
        {
            "application": application,
            "pay_first": pay_first,
            "online": online,
            "offline": offline,
            "live": live,
            "last": last,
            "key": uuid.uuid4(),
        }
    )
    return Panel("payments/panels/check.html", context, replaces_submit=pay_first)


def after_submission_panel(request, application) -> Panel | None:
    """On the done and application pages: what is owed and how to pay it, or the receipt."""
    if application.state == ApplicationState.DRAFT:
        return None
    fee = Fee.objects.filter(application=application).first()
    if fee is None:
        if not application.fee_amount:
            context = _breakdown_context(application)
            if context is None:
                return None
            return Panel("payments/panels/after.html", {**context, "fee": None})
        fee = services.ensure_fee(application=application)
    payments = list(fee.payments.order_by("-created_at"))
    live = next((p for p in payments if p.status in LIVE_STATUSES), None)
    own = application.applicant_id == request.user.pk
    open_ = application.state not in services.CLOSED_APPLICATION
    return Panel(
        "payments/panels/after.html",
        {
            "fee": fee,
            "breakdown": services.current_breakdown(application),
            "application": application,
            "live": live,
            "payments": payments,
            "can_pay": own
            and open_
            and fee.state == Fee.State.UNPAID
            and fee.amount > 0
            and (live is None or live.status == Status.PENDING),
            "methods": services.available_methods(application),
            "settings": services.fee_settings(application.procedure_version.definition),
            "body_settings": selectors.body_settings(application.body),
            "key": uuid.uuid4(),
        },
    )
