from __future__ import annotations

import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from madoguchi.catalogue.fieldtypes import prefecture_choices
from madoguchi.catalogue.japanese import format_phone, wareki_year_label
from madoguchi.core.csvsafe import SafeWriter
from madoguchi.core.languages import is_site_language

from . import levels, oidc, personal_data, services
from .forms import clean_profile

PROFILE_SOURCE_FIELDS = (
    ("family_name", gettext_lazy("姓")),
    ("given_name", gettext_lazy("名")),
    ("birth_date", gettext_lazy("生年月日")),
    ("sex", gettext_lazy("性別")),
    ("postal_code", gettext_lazy("郵便番号")),
    ("prefecture", gettext_lazy("都道府県")),
    ("city", gettext_lazy("市区町村")),
    ("street", gettext_lazy("町名・番地")),
    ("phone", gettext_lazy("電話番号")),
)


def safe_next(request: HttpRequest, default: str = "/applications/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _source_rows(profile) -> list[dict]:
    rows = []
    for key, label in PROFILE_SOURCE_FIELDS:
        if not getattr(profile, key):
            continue
        source = services.value_source(profile, key)
        if source.get("verified"):
            text = _("%(provider)sで確認済み") % {"provider": source.get("label", "")}
        elif source.get("by") == "sample":
            text = _("見本のデータ")
        else:
            text = _("ご本人が入力")
        rows.append(
            {
                "key": key,
                "label": label,
                "text": text,
                "verified": bool(source.get("verified")),
                "at": (source.get("at") or "")[:10],
            }
        )
    return rows


@login_required
@sensitive_post_parameters()
def profile(request: HttpRequest) -> HttpResponse:
    current = services.profile_of(request.user)
    errors = []
    if request.method == "POST":
        values, errors = clean_profile(request.POST)
        if not errors:
            services.update_profile(user=request.user, values=values)
            messages.success(request, _("登録情報を保存しました。"))
            return redirect("identity:profile")
        raw = {key: request.POST.get(key, "") for key in request.POST}
    else:
        raw = {
            "family_name": current.family_name,
            "given_name": current.given_name,
            "family_name_kana": current.family_name_kana,
            "given_name_kana": current.given_name_kana,
            "birth_year": wareki_year_label(current.birth_date) if current.birth_date else "",
            "birth_month": str(current.birth_date.month) if current.birth_date else "",
            "birth_day": str(current.birth_date.day) if current.birth_date else "",
            "sex": current.sex,
            "postal_code": f"{current.postal_code[:3]}-{current.postal_code[3:]}"
            if current.postal_code
            else "",
            "prefecture": current.prefecture,
            "city": current.city,
            "street": current.street,
            "building": current.building,
            "phone": format_phone(current.phone) if current.phone else "",
            "date_style": current.date_style,
        }
    context = {
        "raw": raw,
        "errors": errors,
        "error_by": {error.path.split(".")[0]: error.message for error in errors},
        "prefectures": prefecture_choices(),
        "sources": _source_rows(current),
        "level": levels.LABELS.get(levels.session_level(request) or "", ""),
        "card_providers": [
            p for p in oidc.providers("residents") if p.level == levels.MYNUMBER_CARD
        ],
    }
    return render(request, "identity/profile.html", context, status=422 if errors else 200)


def _card_providers():
    return [p for p in oidc.providers("residents") if p.level == levels.MYNUMBER_CARD]


@login_required
def step_up(request: HttpRequest) -> HttpResponse:
    """Raising the identity level of this session to My Number Card: with a configured
    provider (the Digital Agency's app), or, in the sample deployment only, the demo."""
    providers = _card_providers()
    demo = settings.MADOGUCHI_DEMO_IDENTITY
    if not providers and not demo:
        raise Http404
    if request.method == "POST":
        if not demo:
            raise Http404
        levels.raise_session_level(request, levels.MYNUMBER_CARD)
        messages.success(request, _("本人確認ができました（デモ）。"))
        return redirect(safe_next(request))
    return render(
        request,
        "identity/step_up.html",
        {"next": safe_next(request), "providers": providers, "demo": demo},
    )


@login_required
def account(request: HttpRequest) -> HttpResponse:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    user = request.user
    authenticators = list(Authenticator.objects.filter(user=user))
    links = list(services.links_of(user))
    linked = {link.provider for link in links}
    providers = {p.name: p for p in oidc.providers()}
    context = {
        "emails": EmailAddress.objects.filter(user=user).order_by("-primary", "email"),
        "has_password": user.has_usable_password(),
        "totp": any(a.type == Authenticator.Type.TOTP for a in authenticators),
        "passkeys": [a for a in authenticators if a.type == Authenticator.Type.WEBAUTHN],
        "links": [(link, providers.get(link.provider)) for link in links],
        "linkable": [p for p in oidc.providers("residents") if p.name not in linked],
        "level": levels.LABELS.get(levels.session_level(request) or "", ""),
        "is_staff_member": request.session.get(services.STAFF_KEY, False),
    }
    return render(request, "identity/account.html", context)


@login_required
@require_POST
@services.require_recent_auth
def unlink(request: HttpRequest, link_id: int) -> HttpResponse:
    try:
        services.unlink_identity(user=request.user, link_id=link_id)
        messages.success(request, _("連携を解除しました。"))
    except services.IdentityError as exc:
        messages.error(request, exc.ja)
    return redirect("identity:account")


@login_required
def password_reauthenticate(request: HttpRequest) -> HttpResponse:
    """allauth's password form for proving again who one is, closed to people with a
    second factor: they are sent to confirm with it (allauth's own pages would otherwise
    accept the password alone before changing their passkeys or codes)."""
    from allauth.account.views import reauthenticate as allauth_reauthenticate

    if request.user.is_authenticated and services.has_second_factor(request.user):
        target = reverse("mfa_reauthenticate")
        next_url = request.GET.get("next") or request.POST.get("next")
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target += "?" + urlencode({"next": next_url})
        return redirect(target)
    return allauth_reauthenticate(request)


@login_required
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """The ways this person can prove again who they are, before a sensitive action."""
    from allauth.mfa.models import Authenticator

    user = request.user
    next_url = safe_next(request, reverse("identity:account"))
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    linked = {link.provider for link in services.links_of(user)}
    context = {
        "next": next_url,
        # With a second factor, a password alone is not enough (see require_recent_auth).
        "password": user.has_usable_password() and not services.has_second_factor(user),
        "code": bool(types & {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}),
        "passkey": Authenticator.Type.WEBAUTHN in types,
        "providers": [p for p in oidc.providers() if p.name in linked],
    }
    return render(request, "identity/reauthenticate.html", context)


@login_required
def staff_second_factor(request: HttpRequest) -> HttpResponse:
    """Where the staff side sends a session without the second factor it requires."""
    from allauth.mfa.models import Authenticator

    user = request.user
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    needs_passkey = request.GET.get("needs") == "passkey" or (
        services.staff_requirements(user).require_passkey
        and not request.session.get(levels.PASSKEY_KEY)
    )
    context = {
        "next": safe_next(request, "/staff/"),
        "needs_passkey": needs_passkey,
        "has_totp": Authenticator.Type.TOTP in types,
        "has_passkey": Authenticator.Type.WEBAUTHN in types,
        "level_ok": levels.satisfies(levels.session_level(request), levels.MFA),
        "demo": settings.MADOGUCHI_DEMO_IDENTITY,
        "email": user.email,
        "staff_providers": oidc.providers("staff"),
    }
    return render(request, "identity/staff_second_factor.html", context)


# --- my data ----------------------------------------------------------------------------


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "identity/my_data.html",
        {"sources": personal_data.sources_for_download(), "kept": None},
    )


@login_required
def my_data_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(
        personal_data.export(request.user),
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@login_required
def my_data_csv(request: HttpRequest, name: str) -> HttpResponse:
    source = personal_data.source(name)
    if source is None:
        raise Http404
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so that spreadsheet software reads it as UTF-8
    writer = SafeWriter(buffer)
    writer.writeheader(source.columns)
    for row in source.rows(request.user):
        writer.writerow([row.get(column) for column in source.columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _delete_account(request)
    return render(
        request,
        "identity/delete_account.html",
        {
            "kept": personal_data.deletion_preview(request.user),
            "is_staff_member": services.is_staff_member(request.user),
        },
    )


@require_POST
@services.require_recent_auth
def _delete_account(request: HttpRequest) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "identity/delete_account.html",
            {
                "kept": personal_data.deletion_preview(request.user),
                "is_staff_member": services.is_staff_member(request.user),
                "error": _("削除してよいことを確認し、チェックを入れてください。"),
            },
            status=422,
        )
    try:
        report = personal_data.delete_account(user=request.user)
    except services.IdentityError as exc:
        messages.error(request, exc.ja)
        return redirect("identity:delete_account")
    logout(request)
    return render(request, "identity/account_deleted.html", {"kept": report.kept})


# --- staff log-in policy ----------------------------------------------------------------


@login_required
def staff_policy(request: HttpRequest) -> HttpResponse:
    bodies = list(services.administered_bodies(request.user).order_by("code"))
    if not bodies:
        raise Http404
    if request.method == "POST":
        return _save_staff_policy(request, bodies)
    return render(
        request,
        "identity/staff_policy.html",
        {"rows": _policy_rows(bodies), "defaults": _defaults()},
    )


def _policy_rows(bodies, *, error: str = "", error_body: str = "", raw: str = "") -> list[dict]:
    rows = []
    for body in bodies:
        policy = services.policy_of(body)
        failed = bool(error) and body.code == error_body
        rows.append(
            {
                "policy": policy,
                "error": error if failed else "",
                "minutes": raw if failed else (policy.idle_minutes or ""),
            }
        )
    return rows


def _defaults() -> dict:
    return {"idle_minutes": settings.MADOGUCHI_STAFF_IDLE_MINUTES}


@require_POST
@services.require_recent_auth
def _save_staff_policy(request: HttpRequest, bodies) -> HttpResponse:
    by_code = {body.code: body for body in bodies}
    body = by_code.get(request.POST.get("body", ""))
    if body is None:
        raise Http404
    raw_minutes = request.POST.get("idle_minutes", "").strip()
    error = ""
    minutes = None
    if raw_minutes:
        if raw_minutes.isdigit():
            minutes = int(raw_minutes)
        else:
            error = _("分数は半角数字で入力してください（例: 30）。")
    if not error:
        try:
            services.set_staff_policy(
                actor=request.user,
                body=body,
                require_passkey=request.POST.get("require_passkey") == "yes",
                idle_minutes=minutes,
            )
            messages.success(request, _("職員のログイン方針を保存しました。"))
            return redirect("staff_security:policy")
        except services.IdentityError as exc:
            error = exc.ja
    return render(
        request,
        "identity/staff_policy.html",
        {
            "rows": _policy_rows(bodies, error=error, error_body=body.code, raw=raw_minutes),
            "defaults": _defaults(),
            "error": error,
            "error_body": body.code,
        },
        status=422,
    )


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch (the cookie, the redirect back), and for a signed-in person
    the language of their e-mails as well."""
    from django.views.i18n import set_language as switch

    response = switch(request)
    if request.method != "POST":
        return response
    language = request.POST.get("language")
    if not is_site_language(language):
        # Django sets the cookie for any language it has a catalogue for (fr, de …),
        # which this site then ignores; set nothing rather than a value that means nothing.
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    elif request.user.is_authenticated:
        services.remember_language(request.user, language)
    return response
