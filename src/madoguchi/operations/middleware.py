"""Counts requests and their latency for /metrics (by the route's name, not its path, so
that application ids never become labels)."""

from __future__ import annotations

import time

from .metrics import LATENCY, REQUESTS

# Any other method is one label: a client must not be able to create label values.
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.view_name if match else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        LATENCY.labels(method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(method, route, f"{response.status_code // 100}xx").inc()
        return response
