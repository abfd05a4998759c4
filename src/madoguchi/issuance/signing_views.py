"""The resident's signing step (電子署名) of a procedure with `signature_required`.

The counter (layer 2) cannot import this capability; its check-answers page shows the
panel registered here (counter.hooks) and its submission refuses an application that is
not validly signed (counter.services.SignatureRequired, from madoguchi.esign)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.catalogue.errors import FieldError
from madoguchi.counter import selectors as counter_selectors
from madoguchi.esign import canonical
from madoguchi.esign import services as esign
from madoguchi.esign.models import Status

SIGNABLE_STATES = ("draft", "correction_requested")


def _signable(request: HttpRequest, pk):
    application = counter_selectors.application_for_resident(request.user, pk)
    if (
        application is None
        or application.applicant_id != request.user.pk
        or not esign.required(application)
    ):
        raise Http404
    return application


def _back_url(application) -> str:
    if application.state == "correction_requested":
        return reverse("counter:correction", args=[application.pk])
    return reverse("counter:check", args=[application.pk])


def _demo_enabled() -> bool:
    from django.conf import settings

    return bool(settings.MADOGUCHI_DEMO_IDENTITY)


@login_required
def sign(request: HttpRequest, pk) -> HttpResponse:
    application = _signable(request, pk)
    if application.state not in SIGNABLE_STATES:
        return redirect("counter:detail", pk=application.pk)
    errors: list[FieldError] = []
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("signature")
        if upload is None:
            errors.append(
                FieldError(
                    "signature",
                    "署名ファイル（.p7s など）または署名したPDFを選んでください。",
                    "Choose the signature file or the signed PDF.",
                    "required",
                )
            )
        else:
            try:
                check = esign.check_signature(
                    application=application, data=upload.read(), actor=request.user
                )
            except esign.SignatureRejected as exc:
                errors.append(FieldError("signature", exc.ja, exc.en, exc.code))
            else:
                if check.status == Status.VALID:
                    messages.success(request, _signed_message(application))
                    return redirect(_back_url(application))
                problem = esign.submission_problem(application)
                errors.append(
                    FieldError(
                        "signature",
                        problem.ja if problem else check.reason,
                        problem.en if problem else check.reason,
                        check.reason or check.status,
                    )
                )
        status = 422
    return _render(request, application, errors, status)


def _signed_message(application) -> str:
    if application.state == "correction_requested":
        return _("電子署名を確認しました。補正の画面から再提出してください。")
    return _("電子署名を確認しました。内容を確認して申請してください。")


def _render(request, application, errors, status: int = 200) -> HttpResponse:
    current = esign.current_signature(application)
    return render(
        request,
        "issuance/sign.html",
        {
            "application": application,
            "version": application.procedure_version,
            "sha256": canonical.canonical_sha256(application),
            "current": current,
            "problem": esign.submission_problem(application),
            "errors": errors,
            "demo": _demo_enabled(),
            "back_url": _back_url(application),
        },
        status=status,
    )


@login_required
@require_POST
def demo_sign(request: HttpRequest, pk) -> HttpResponse:
    application = _signable(request, pk)
    if not _demo_enabled() or application.state not in SIGNABLE_STATES:
        raise Http404
    esign.demo_sign(application=application, actor=request.user)
    messages.success(request, _signed_message(application))
    return redirect(_back_url(application))


@login_required
def canonical_json(request: HttpRequest, pk) -> HttpResponse:
    """The exact bytes to sign (a detached signature is made over this file)."""
    application = _signable(request, pk)
    response = HttpResponse(canonical.canonical_bytes(application), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="application-{application.pk}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def signing_pdf(request: HttpRequest, pk) -> HttpResponse:
    """The application as a PDF to sign with a PDF signing tool (PAdES)."""
    from . import rendering
    from .keys import SigningConfigError, load_config

    application = _signable(request, pk)
    try:
        demo = load_config().demo
    except SigningConfigError:
        demo = False
    response = HttpResponse(
        rendering.application_for_signing(application, demo=demo), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="application-{application.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- the counter's check-answers panel --------------------------------------------------


def check_panel(request, application):
    """On the check-answers page of a procedure that requires a signature: its state,
    and instead of the submit button a way to sign while it is not validly signed."""
    from madoguchi.counter.hooks import Panel

    if not esign.required(application):
        return None
    current = esign.current_signature(application)
    problem = esign.submission_problem(application)
    return Panel(
        template="issuance/panels/signature.html",
        context={"application": application, "current": current, "problem": problem},
        replaces_submit=problem is not None,
    )
