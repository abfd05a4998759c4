"""Log-in, step-up, linking and re-authentication at OpenID Connect providers."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import levels, oidc, services
from .claims import LABELS as CLAIM_LABELS
from .oidc import Authenticated, OidcError
from .views import safe_next

PENDING_KEY = "madoguchi_oidc_pending"
INTENTS = ("login", "step_up", "link", "reauthenticate")


def _error(request: HttpRequest, error: OidcError | services.IdentityError) -> HttpResponse:
    status = 503 if getattr(error, "code", "") == "provider_unavailable" else 400
    return render(
        request,
        "identity/oidc_error.html",
        {"message": error.ja, "code": error.code},
        status=status,
    )


@require_POST
def start(request: HttpRequest, name: str) -> HttpResponse:
    """Sends the person to the provider. A POST with the CSRF token, so that no other site
    can start a log-in in the person's browser."""
    provider = oidc.provider(name)
    if provider is None:
        raise Http404
    intent = request.POST.get("intent", "login")
    if intent not in INTENTS:
        intent = "login"
    if request.user.is_authenticated and intent == "login":
        intent = "step_up"
    if not request.user.is_authenticated and intent != "login":
        return redirect(reverse("account_login"))
    if provider.audience == "staff" and intent not in ("login", "reauthenticate"):
        raise Http404
    try:
        url = oidc.begin(request, provider, intent=intent, next_url=safe_next(request, ""))
    except OidcError as exc:
        return _error(request, exc)
    return redirect(url)


def callback(request: HttpRequest, name: str) -> HttpResponse:
    try:
        flow = oidc.take_flow(request, request.GET.get("state", ""))
        provider = oidc.provider(name)
        if provider is None or flow["provider"] != name:
            raise OidcError(
                "state_mismatch",
                _("ログインの手続きが見つかりません。もう一度最初からお試しください。"),
                "The flow belongs to another provider.",
            )
        authenticated = oidc.complete(provider, flow, request.GET.dict())
    except OidcError as exc:
        return _error(request, exc)
    intent, next_url = flow["intent"], flow.get("next") or ""
    try:
        if provider.audience == "staff":
            return _staff_login(request, authenticated, intent, next_url)
        if intent == "login" and not request.user.is_authenticated:
            return _resident_login(request, authenticated, next_url)
        if not request.user.is_authenticated:
            return redirect("account_login")
        return _for_current_user(request, authenticated, intent, next_url)
    except services.IdentityError as exc:
        return _error(request, exc)


def _log_in(request: HttpRequest, user, authenticated: Authenticated) -> None:
    if not user.is_active or user.deleted_at is not None:
        raise services.NotPermitted(
            _("このアカウントは利用できません。"), "The account is not active.", code="inactive"
        )
    services.record_authentication(
        request,
        user,
        "oidc",
        provider=authenticated.provider.name,
        acr=authenticated.acr,
        level=authenticated.level,
    )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    levels.raise_session_level(request, authenticated.level)
    services.track_session(request)


def _keep_pending(request: HttpRequest, authenticated: Authenticated, next_url: str) -> None:
    # Only what is needed to finish the link is kept, for a few minutes.
    request.session[PENDING_KEY] = {
        "provider": authenticated.provider.name,
        "issuer": authenticated.issuer,
        "subject": authenticated.subject,
        "claims": authenticated.claims,
        "acr": authenticated.acr,
        "amr": authenticated.amr,
        "level": authenticated.level,
        "next": next_url,
        "at": time.time(),
    }


def _linked(request: HttpRequest, user, authenticated: Authenticated) -> None:
    """Tells the person, here and by mail (someone else might have done it)."""
    from allauth.account.adapter import get_adapter

    messages.success(
        request,
        _(
            "%(provider)sでのログインをこのアカウントに連携しました。次からはこちらでログインできます。"
        )
        % {"provider": authenticated.provider.label},
    )
    get_adapter(request).send_notification_mail(
        "account/email/identity_linked", user, {"provider": authenticated.provider.label}
    )


def _resident_login(request: HttpRequest, authenticated: Authenticated, next_url: str):
    link = services.link_for(issuer=authenticated.issuer, subject=authenticated.subject)
    if link is None:
        # Not linked yet: the person chooses an account they prove they control, or a new one.
        _keep_pending(request, authenticated, next_url)
        return redirect("identity:oidc_link")
    _log_in(request, link.user, authenticated)
    services.touch_link(link)
    _apply_claims(request, link.user, authenticated)
    return redirect(next_url or reverse("counter:my_applications"))


def _for_current_user(request: HttpRequest, authenticated: Authenticated, intent, next_url):
    user = request.user
    link = services.link_for(issuer=authenticated.issuer, subject=authenticated.subject)
    if link is not None and link.user_id != user.pk:
        raise services.NotPermitted(
            _(
                "このマイナンバーカード（またはログイン）は、別のアカウントに連携されています。"
                "そのアカウントでログインし直してください。"
            ),
            "The log-in is linked to another account.",
            code="linked_elsewhere",
        )
    if intent == "reauthenticate":
        if link is None:
            raise services.NotPermitted(
                _("このアカウントに連携されたログインで本人確認をしてください。"),
                "Re-authenticate with a log-in linked to this account.",
                code="not_linked",
            )
        services.record_authentication(
            request,
            user,
            "oidc",
            provider=authenticated.provider.name,
            level=authenticated.level,
            reauthenticated=True,
        )
        levels.raise_session_level(request, authenticated.level)
        return _resume(request, next_url, default="identity:account")
    if link is None and not services.recently_authenticated(request):
        # A session logged in long ago may be a computer someone left: linking a new log-in
        # to it waits until the account's password (or second factor) is entered again.
        _keep_pending(request, authenticated, next_url)
        confirm = reverse("identity:oidc_link_confirm")
        return redirect(reverse("account_reauthenticate") + "?" + urlencode({"next": confirm}))
    if link is None:
        link = services.link_identity(
            user=user,
            provider=authenticated.provider,
            issuer=authenticated.issuer,
            subject=authenticated.subject,
        )
        _linked(request, user, authenticated)
    services.touch_link(link)
    services.record_authentication(
        request, user, "oidc", provider=authenticated.provider.name, level=authenticated.level
    )
    levels.raise_session_level(request, authenticated.level)
    if intent == "step_up" and levels.satisfies(authenticated.level, levels.MYNUMBER_CARD):
        messages.success(request, _("マイナンバーカードで本人確認ができました。"))
    _apply_claims(request, user, authenticated)
    return redirect(next_url or "identity:account")


def _resume(request: HttpRequest, next_url: str, *, default: str) -> HttpResponse:
    """After re-authentication, the request that asked for it (a POST with what was typed)
    runs now, as allauth's own re-authentication pages do."""
    from allauth.account.internal.flows.reauthentication import STATE_SESSION_KEY
    from allauth.core.internal.httpkit import deserialize_request
    from allauth.core.internal.urlkit import script_aware_resolve

    state = request.session.pop(STATE_SESSION_KEY, None)
    if next_url and state and "request" in state:
        suspended = deserialize_request(state["request"], request)
        if suspended.path == next_url.split("?")[0]:
            resolved = script_aware_resolve(suspended.path)
            return resolved.func(suspended, *resolved.args, **resolved.kwargs)
    return redirect(next_url or default)


def _apply_claims(request: HttpRequest, user, authenticated: Authenticated) -> None:
    missing = services.apply_provider_claims(user=user, authenticated=authenticated)
    if missing:
        names = "、".join(str(CLAIM_LABELS[scope]) for scope in missing)
        messages.warning(
            request,
            _(
                "%(provider)sから%(names)sを受け取れませんでした。必要なときは登録情報で"
                "入力してください。"
            )
            % {"provider": authenticated.provider.label, "names": names},
        )


def _staff_login(request: HttpRequest, authenticated: Authenticated, intent, next_url):
    user = services.staff_user_for_provider(authenticated=authenticated)
    if user is None:
        raise services.NotPermitted(
            _(
                "このログインに対応する職員のアカウントがありません。"
                "所属の管理者に連携を依頼してください。"
            ),
            "No staff account for this log-in.",
            code="no_staff_account",
        )
    if intent == "reauthenticate" and request.user.is_authenticated:
        if request.user.pk != user.pk:
            raise services.NotPermitted(
                _("別の職員のログインです。"), "Another staff member's log-in.", code="other"
            )
        services.record_authentication(
            request,
            user,
            "oidc",
            provider=authenticated.provider.name,
            level=authenticated.level,
            reauthenticated=True,
        )
        levels.raise_session_level(request, authenticated.level)
        return _resume(request, next_url, default="backoffice:home")
    _log_in(request, user, authenticated)
    return redirect(next_url or "backoffice:home")


def _pending(request: HttpRequest) -> dict | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > oidc.FLOW_MAX_AGE:
        request.session.pop(PENDING_KEY, None)
        return None
    return pending


def _authenticated_from(pending: dict) -> Authenticated | None:
    provider = oidc.provider(pending["provider"])
    if provider is None:
        return None
    return Authenticated(
        provider=provider,
        issuer=pending["issuer"],
        subject=pending["subject"],
        claims=pending["claims"],
        acr=pending["acr"],
        amr=pending["amr"],
        level=pending["level"],
    )


def link_choice(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    authenticated = _authenticated_from(pending) if pending else None
    if authenticated is None:
        return _error(
            request,
            OidcError(
                "state_mismatch",
                _(
                    "ログインの手続きが見つからないか、時間が経ちすぎています。もう一度最初からお試しください。"
                ),
                "No pending log-in.",
            ),
        )
    return render(
        request,
        "identity/oidc_link.html",
        {
            "provider": authenticated.provider,
            "login_url": reverse("account_login")
            + "?next="
            + reverse("identity:oidc_link_confirm"),
            "email": request.POST.get("email", ""),
        },
    )


def link_confirm(request: HttpRequest) -> HttpResponse:
    """Links the pending log-in to the account the person logged in to after it: they have
    proved they control both."""
    pending = _pending(request)
    authenticated = _authenticated_from(pending) if pending else None
    if authenticated is None:
        return redirect("identity:account" if request.user.is_authenticated else "account_login")
    if not request.user.is_authenticated:
        return redirect(reverse("account_login") + "?next=" + request.path)
    proved_after = [
        record
        for record in services.authentication_records(request)
        if record.get("method") in ("password", "mfa") and record.get("at", 0) >= pending["at"]
    ]
    if not proved_after:
        # Logged in before the provider's log-in: the account may be someone else's session.
        return redirect(reverse("account_reauthenticate") + "?" + urlencode({"next": request.path}))
    if request.method != "POST":
        return render(
            request, "identity/oidc_link_confirm.html", {"provider": authenticated.provider}
        )
    try:
        services.link_identity(
            user=request.user,
            provider=authenticated.provider,
            issuer=authenticated.issuer,
            subject=authenticated.subject,
        )
    except services.IdentityError as exc:
        request.session.pop(PENDING_KEY, None)
        return _error(request, exc)
    request.session.pop(PENDING_KEY, None)
    services.record_authentication(
        request,
        request.user,
        "oidc",
        provider=authenticated.provider.name,
        level=authenticated.level,
    )
    levels.raise_session_level(request, authenticated.level)
    _apply_claims(request, request.user, authenticated)
    _linked(request, request.user, authenticated)
    return redirect(pending.get("next") or "identity:account")


@require_POST
def signup(request: HttpRequest) -> HttpResponse:
    """A new account for the pending log-in, with an e-mail address for messages."""
    from allauth.account.internal.flows.email_verification import (
        send_verification_email_to_address,
    )
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    pending = _pending(request)
    authenticated = _authenticated_from(pending) if pending else None
    if authenticated is None or request.user.is_authenticated:
        return redirect("identity:oidc_link")
    email = request.POST.get("email", "").strip()[:254]
    error = ""
    try:
        validate_email(email)
    except ValidationError:
        error = _("メールアドレスを正しく入力してください（例: hanako@example.jp）。")
    if not error:
        try:
            user = services.create_account_for_provider(email=email, authenticated=authenticated)
        except services.IdentityError as exc:
            error = exc.ja
    if error:
        return render(
            request,
            "identity/oidc_link.html",
            {
                "provider": authenticated.provider,
                "login_url": reverse("account_login")
                + "?next="
                + reverse("identity:oidc_link_confirm"),
                "email": email,
                "error": error,
            },
            status=422,
        )
    request.session.pop(PENDING_KEY, None)
    _log_in(request, user, authenticated)
    _apply_claims(request, user, authenticated)
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.get(user=user, email__iexact=user.email)
    send_verification_email_to_address(request, address, signup=True)
    messages.success(
        request,
        _(
            "アカウントを作成しました。確認のメールを送りましたので、メール内のリンクを開いてください。"
        ),
    )
    return redirect(pending.get("next") or "identity:account")
