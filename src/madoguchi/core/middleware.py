from __future__ import annotations

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
