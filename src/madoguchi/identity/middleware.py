"""Session rules on every request: the idle timeout, and for the staff side a second
factor (a passkey where the body requires one).

Kept in identity rather than core because it needs the organisation and the account's
second factors (decision 0009: core imports no capability).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from . import levels, services

STAFF_PREFIXES = ("/staff/",)
# The staff side of the JSON API, when a browser session calls it (a bearer token is an
# integration's credential and is checked by the API itself).
STAFF_API_PREFIXES = ("/api/staff/", "/api/approvals/")
# Writing the session on every request would cost a database write each time.
TOUCH_INTERVAL = 30


class SessionSecurityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            response = self._idle(request) or self._staff(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _idle(self, request):
        session = request.session
        now = time.time()
        if services.STAFF_KEY not in session:
            # A session from before these rules, or made by a test's force_login.
            session[services.STAFF_KEY] = services.is_staff_member(request.user)
        last = session.get(services.LAST_SEEN_KEY)
        if last is not None and now - float(last) > services.idle_limit_minutes(request) * 60:
            logout(request)
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": "The session ended after inactivity / "
                        "一定時間操作がなかったためログアウトしました",
                        "code": "session_expired",
                        "errors": [],
                    },
                    status=401,
                )
            messages.info(
                request,
                _(
                    "一定時間操作がなかったため、安全のためログアウトしました。もう一度ログインしてください。"
                ),
            )
            query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
            return HttpResponseRedirect(reverse("account_login") + (f"?{query}" if query else ""))
        if last is None or now - float(last) > TOUCH_INTERVAL:
            session[services.LAST_SEEN_KEY] = now
        return None

    def _staff(self, request):
        api = request.path.startswith(STAFF_API_PREFIXES)
        if not settings.MADOGUCHI_STAFF_MFA_REQUIRED or not (
            api or request.path.startswith(STAFF_PREFIXES)
        ):
            return None
        if not request.session.get(services.STAFF_KEY):
            return None
        needs = None
        if not levels.satisfies(levels.session_level(request), levels.MFA):
            needs = "second_factor"
        elif services.staff_requirements(request.user).require_passkey and not request.session.get(
            levels.PASSKEY_KEY
        ):
            needs = "passkey"
        if needs is None:
            return None
        if api:
            return JsonResponse(
                {
                    "detail": "Staff actions need a second factor in this session / "
                    "職員の操作には2段階認証が必要です",
                    "code": "second_factor_required",
                    "errors": [],
                },
                status=403,
            )
        next_url = request.get_full_path() if request.method == "GET" else "/staff/"
        query = urlencode({"next": next_url, "needs": needs})
        return HttpResponseRedirect(reverse("identity:staff_second_factor") + "?" + query)
