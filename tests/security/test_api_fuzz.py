"""schemathesis against /api/openapi.json, in-process through the WSGI application, with the
bearer token of a resident, of a case worker and of the records officer: no 5xx for any generated request, and every response as the
document says (status code, content type, headers and body schema: schemathesis's checks).

Its first run found the error answers undocumented (madoguchi.api.document_errors adds
them now), the 422 of the signature upload documented with the success schema only, the
postal code's pattern undocumented, and two schemas named `FileOut`, so that /api/files
documented the records file's body."""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.checks
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.django_db


def _schema():
    """The document /api/openapi.json serves (built without a request, so at import time
    without the database), called in-process through the WSGI application."""
    from madoguchi.api import api
    from madoguchi.wsgi import application

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"))
    loaded.app = application
    return loaded


schema = _schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's test client does this too: the request signals would close the test's
    transaction-wrapped connection (on PostgreSQL) after each in-process request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(
    params=[
        "taro@example.jp",  # a resident
        "kankyo.tanto@aoba.example.jp",  # a case worker: the queue, actions, approvals
        "bunsho@aoba.example.jp",  # the records officer: files, holds, dispositions
    ]
)
def bearer(request, sample) -> dict[str, str]:
    from madoguchi.identity.models import ApiToken, User

    _token, raw = ApiToken.issue(user=User.objects.get(email=request.param), name="fuzz")
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_makes_the_api_fail(case, bearer):
    excluded = []
    if "multipart/form-data" in (case.media_type or ""):
        # An upload's rules (its content must be the image or PDF it claims, etc.) cannot be
        # said in OpenAPI: random bytes are rightly refused with 422, checked by the rest.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    response = case.call_and_validate(headers=bearer, excluded_checks=excluded)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )


def test_each_fuzzing_token_opens_its_holders_api(bearer, client):
    """The fuzzing above means something only if its tokens are accepted: each opens an
    operation its holder has (and not only the public ones)."""
    owned = {"/api/applications", "/api/staff/queue", "/api/records/files"}
    opened = {
        url
        for url in owned
        if client.get(url, HTTP_AUTHORIZATION=bearer["Authorization"]).status_code == 200
    }
    assert opened, "the token opened none of its holder's operations"
    without = {url for url in owned if client.get(url).status_code == 200}
    assert not without, f"open without a token: {without}"
