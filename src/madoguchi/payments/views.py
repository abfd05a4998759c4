"""The resident's side of payments: start, return from the provider, receipts; and the
providers' notifications. Views stay thin: every rule is in services."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from madoguchi.counter import selectors as counter_selectors
from madoguchi.counter.models import State as ApplicationState
from madoguchi.counter.services import CounterError
from madoguchi.identity import levels

from . import receipts, registry, selectors, services
from .models import Status

logger = logging.getLogger(__name__)


def _message(error: CounterError) -> str:
    return error.en if (get_language() or "ja").startswith("en") else error.ja


def _absolute(path: str) -> str:
    return settings.MADOGUCHI_BASE_URL.rstrip("/") + path


def _back_to(application) -> str:
    if application.state == ApplicationState.DRAFT:
        return reverse("counter:check", args=[application.pk])
    return reverse("counter:detail", args=[application.pk]) + "#fee"


@login_required
@require_POST
def start(request: HttpRequest, application_id) -> HttpResponse:
    """Pay the fee of one's own application by the chosen method. The form carries a
    key made when the page was shown: a double click starts one payment, not two."""
    application = counter_selectors.application_for_resident(request.user, application_id)
    if application is None or application.applicant_id != request.user.pk:
        raise Http404
    try:
        key = uuid.UUID(request.POST.get("key", ""))
    except ValueError:
        messages.error(request, _("画面が古くなっています。もう一度お選びください。"))
        return redirect(_back_to(application))
    try:
        payment = services.start_payment(
            application=application,
            actor=request.user,
            method=request.POST.get("method", "")[:40],
            idempotency_key=key,
            identity_level=levels.session_level(request),
        )
        if payment.status != Status.PENDING:
            return redirect("payments:detail", pk=payment.pk)
        url = services.open_at_provider(
            payment=payment,
            return_url=_absolute(reverse("payments:returned", args=[payment.pk])),
            cancel_url=_absolute(reverse("payments:abandoned", args=[payment.pk])),
        )
    except CounterError as exc:
        messages.error(request, _message(exc))
        return redirect(_back_to(application))
    if url:
        # A page with a link to the provider's, not a redirect: the site's CSP allows
        # forms to post only to this site (form-action 'self'), and a browser applies that
        # to a redirect after the form too. The resident also sees that they now leave
        # for the payment service's site.
        return render(
            request,
            "payments/leave_for_provider.html",
            {
                "payment": payment,
                "url": url,
                "provider": registry.get(payment.provider),
                "application": application,
                "version": application.procedure_version,
            },
        )
    return redirect("payments:detail", pk=payment.pk)


@login_required
def returned(request: HttpRequest, pk) -> HttpResponse:
    """The provider sends the resident back here. What happened is asked of the provider,
    never read from the address (which anyone can type)."""
    payment = selectors.payment_for_resident(request.user, pk)
    if payment is None:
        raise Http404
    try:
        payment = services.sync_payment(payment=payment, source="return")
    except CounterError as exc:
        messages.warning(request, _message(exc))
        return redirect("payments:detail", pk=payment.pk)
    application = payment.fee.application
    application.refresh_from_db()
    if payment.status == Status.PAID:
        messages.success(request, _("お支払いを確認しました。"))
        if payment.submit_on_authorise:
            return redirect("counter:done", pk=application.pk)
        return redirect("counter:detail", pk=application.pk)
    if payment.status == Status.CANCELLED and payment.resident_message:
        messages.error(request, payment.resident_message + _("（料金は請求されていません）"))
        return redirect(_back_to(application))
    if payment.status in (Status.FAILED, Status.CANCELLED):
        messages.error(request, _("お支払いは完了しませんでした。料金は請求されていません。"))
        return redirect(_back_to(application))
    if payment.status == Status.AUTHORISED and application.state != ApplicationState.DRAFT:
        messages.info(
            request, _("お支払いを受け付けました。決済の確定を待っています。申請は送信済みです。")
        )
        return redirect("counter:done", pk=application.pk)
    messages.info(
        request, _("お支払いの結果を確認しています。確認でき次第、メールでお知らせします。")
    )
    return redirect("payments:detail", pk=payment.pk)


@login_required
def abandoned(request: HttpRequest, pk) -> HttpResponse:
    """The resident left the provider's page without paying."""
    payment = selectors.payment_for_resident(request.user, pk)
    if payment is None:
        raise Http404
    try:
        payment = services.sync_payment(payment=payment, source="abandoned")
        if payment.status == Status.PENDING:
            payment = services.cancel_payment(payment=payment, actor=request.user)
    except CounterError as exc:
        messages.warning(request, _message(exc))
        return redirect("payments:detail", pk=payment.pk)
    if payment.status == Status.CANCELLED:
        messages.info(request, _("お支払いを中止しました。料金は請求されていません。"))
    return redirect(_back_to(payment.fee.application))


@login_required
def my_payments(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "payments/my_payments.html",
        {"payments": selectors.payments_for_resident(request.user)[:200]},
    )


@login_required
def detail(request: HttpRequest, pk) -> HttpResponse:
    payment = selectors.payment_for_resident(request.user, pk)
    if payment is None:
        raise Http404
    application = payment.fee.application
    return render(
        request,
        "payments/detail.html",
        {
            "payment": payment,
            "application": application,
            "version": application.procedure_version,
            "body_settings": selectors.body_settings(application.body),
            "receipt": getattr(payment, "receipt", None),
        },
    )


@login_required
@require_POST
def cancel(request: HttpRequest, pk) -> HttpResponse:
    payment = selectors.payment_for_resident(request.user, pk)
    if payment is None:
        raise Http404
    try:
        services.cancel_payment(payment=payment, actor=request.user)
        messages.success(request, _("お支払いを中止しました。"))
    except CounterError as exc:
        messages.error(request, _message(exc))
    return redirect(_back_to(payment.fee.application))


@login_required
def receipt_pdf(request: HttpRequest, pk) -> HttpResponse:
    payment = selectors.payment_for_resident(request.user, pk)
    receipt = getattr(payment, "receipt", None) if payment else None
    if receipt is None:
        raise Http404
    return receipts.pdf_response(receipt)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's notification: signed, checked against the provider, applied once."""
    try:
        outcome = services.handle_webhook(
            provider_id=provider[:40], body=request.body, headers=request.headers
        )
    except services.WebhookRejected:
        return HttpResponse("rejected\n", status=400, content_type="text/plain")
    except services.ProviderUnavailable:
        # The provider sends it again later; nothing was changed.
        return HttpResponse("retry later\n", status=503, content_type="text/plain")
    except CounterError as exc:
        logger.warning("webhook from %s not applied: %s", provider[:40], exc.code)
        return HttpResponse("not applied\n", status=200, content_type="text/plain")
    return HttpResponse(f"{outcome}\n", content_type="text/plain")
