from __future__ import annotations

import ipaddress
import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from .checks import run_checks
from .metrics import exposition


@never_cache
def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers (no database, no storage), for a supervisor that
    restarts a hung process and must not restart every node when the database is away."""
    return JsonResponse({"status": "ok"})


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Readiness and the state of every dependency; 503 naming the failed checks.
    Public: it shows names, counts and ages only (see checks.py)."""
    results = run_checks()
    failed = [result.name for result in results if not result.ok]
    return JsonResponse(
        {
            "status": "fail" if failed else "ok",
            "failed": failed,
            "checks": {result.name: result.as_json() for result in results},
        },
        status=503 if failed else 200,
    )


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.MADOGUCHI_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    allow = settings.MADOGUCHI_METRICS_ALLOW
    if not token and not allow:
        allow = ["127.0.0.1", "::1"] if settings.DEBUG else []
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in ipaddress.ip_network(entry, strict=False) for entry in allow)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for a scraper with the token or from an allowed address;
    anyone else gets 404, as if there were no such page."""
    if not _metrics_allowed(request):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
