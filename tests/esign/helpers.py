"""Signing applications in other capabilities' tests: a procedure with
`signature_required` is submitted only once it is signed (docs/signatures.md). These sign
with the demo certificate of the test settings, as a resident does on the signing page."""

from __future__ import annotations

import json

from django.urls import reverse


def requires_signature(application_id) -> bool:
    from madoguchi.counter.models import Application

    application = Application.objects.select_related("procedure_version").get(pk=application_id)
    return bool(application.procedure_version.definition.get("signature_required"))


def sign_if_required(client, application_id) -> None:
    """The signing step of the resident's pages, with the demo certificate."""
    if not requires_signature(application_id):
        return
    response = client.post(reverse("issuance:sign_demo", args=[application_id]))
    assert response.status_code == 302, response.content.decode()[:2000]


def post_signed_application(client, *, procedure: str, answers: dict, token: str | None = None):
    """What an API client does for a procedure that requires a signature: create a draft,
    fetch its canonical bytes, sign them, upload the signature, submit. Returns the
    response of the submission (200 with the submitted application)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from madoguchi.esign.demo import demo_sign
    from tests.api.payloads import bearer, post_application

    headers = bearer(token) if token else {}
    created = post_application(
        client, token=token, procedure=procedure, answers=answers, submit=False
    )
    assert created.status_code == 201, created.content.decode()
    application_id = created.json()["id"]
    payload = client.get(f"/api/applications/{application_id}/signing-payload", headers=headers)
    assert payload.status_code == 200, payload.content.decode()
    signature = demo_sign(payload.json()["canonical"].encode())
    uploaded = client.post(
        f"/api/applications/{application_id}/signature",
        {"file": SimpleUploadedFile("application.p7s", signature)},
        headers=headers,
    )
    assert uploaded.status_code == 200, json.dumps(uploaded.json(), ensure_ascii=False)
    return client.post(f"/api/applications/{application_id}/submit", headers=headers)
