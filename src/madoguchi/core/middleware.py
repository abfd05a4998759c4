from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from django.http import JsonResponse


class NoStoreForPersonalPagesMiddleware:
    """Pages shown to a logged-in person may hold personal data: browsers and proxies
    must not keep them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


class RejectNulCharactersMiddleware:
    """A NUL character has no place in a URL, and PostgreSQL refuses any text containing
    one: a lookup with it (a procedure's code in the path, a search term) would fail with
    a 500. Such requests get a 400 before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": "The URL is not valid / URLが正しくありません",
                        "code": "bad_request",
                        "errors": [],
                    },
                    status=400,
                )
            from .views import bad_request

            return bad_request(request)
        return self.get_response(request)


security_log = logging.getLogger("madoguchi.security")


class AccessFailureLogMiddleware:
    """Logs a 403 or 404 answered to a signed-in person at a URL that names an object
    (an application, a file, a record): a resident or a member of staff trying another's
    object gets the same answer as for one that does not exist, and this log is how an
    operator sees the attempts (OWASP ASVS 7.2). Who (the user's id), the route and the
    ids in the URL, never a name or the request's data."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code not in (403, 404):
            return response
        match = getattr(request, "resolver_match", None)
        if match is None or not match.kwargs:
            return response
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            # An API request names its user through its bearer token (django-ninja).
            user = getattr(request, "auth", None)
        user_id = getattr(user, "pk", None)
        if user_id is None:
            return response
        security_log.warning(
            "access refused or not found: %s %s %s by user %s (%s)",
            response.status_code,
            request.method,
            match.view_name,
            user_id,
            " ".join(
                f"{key}={_loggable(key, value)}" for key, value in sorted(match.kwargs.items())
            ),
        )
        return response


_OPAQUE_ID = re.compile(
    r"[0-9]{1,19}|[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
)


def _loggable(key: str, value: object) -> str:
    """An object's id (`pk`, `…_id`: a number or a UUID) as it is; any other value of the
    URL is left out: a postal code the resident typed, a guest's booking token (a
    password), a file's hash, or text with a line break that would forge a log line."""
    text = str(value)
    named_as_id = key == "pk" or key.endswith("_id")
    return text if named_as_id and _OPAQUE_ID.fullmatch(text) else "…"
