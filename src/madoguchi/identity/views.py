from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from madoguchi.catalogue.fieldtypes import prefecture_choices
from madoguchi.catalogue.japanese import format_phone, wareki_year_label

from . import levels, services
from .forms import clean_profile


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
        "sources": current.sources,
        "level": levels.LABELS.get(levels.session_level(request) or "", ""),
    }
    return render(request, "identity/profile.html", context, status=422 if errors else 200)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/applications/"


@login_required
def step_up(request: HttpRequest) -> HttpResponse:
    """Raising the identity level of this session.

    The demo provider below only exists in the sample deployment; a real deployment
    configures My Number Card authentication over OpenID Connect instead.
    """
    if not settings.MADOGUCHI_DEMO_IDENTITY:
        raise Http404
    if request.method == "POST":
        levels.raise_session_level(request, levels.MYNUMBER_CARD)
        messages.success(request, _("本人確認ができました（デモ）。"))
        return redirect(_safe_next(request))
    return render(request, "identity/step_up_demo.html", {"next": _safe_next(request)})
