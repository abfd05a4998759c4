"""The resident's signing step: a procedure with `signature_required` is submitted only
with a valid signature over its canonical bytes; invalid ones are refused with a clear
Japanese message; the verdict is kept with the application for staff."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from madoguchi.counter.models import Application
from madoguchi.esign import canonical, services
from madoguchi.esign.models import ApplicantSignature
from madoguchi.identity import levels
from madoguchi.ledger.models import Event
from tests.conftest import login
from tests.counter.helpers import fill_juminhyo


@pytest.fixture
def resident(hanako):
    return login(hanako, level=levels.MYNUMBER_CARD)


@pytest.fixture
def draft(resident):
    return Application.objects.get(pk=fill_juminhyo(resident))


def _upload(client, application, data: bytes, name: str = "application.p7s"):
    return client.post(
        reverse("issuance:sign", args=[application.pk]),
        {"signature": SimpleUploadedFile(name, data, content_type="application/octet-stream")},
    )


def test_the_check_page_asks_for_a_signature_instead_of_the_submit_button(resident, draft):
    body = resident.get(reverse("counter:check", args=[draft.pk])).content.decode()
    assert "電子署名へ進む" in body
    assert "この内容で申請する" not in body


def test_submitting_unsigned_is_refused_with_a_clear_message(resident, draft):
    response = resident.post(reverse("counter:check", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.state == "draft"
    assert "電子署名が必要です" in response.content.decode()


def test_a_valid_signature_lets_the_resident_submit(resident, draft, trusted):
    content = canonical.canonical_bytes(draft)
    uploaded = trusted["signer"].sign_detached(content)
    response = _upload(resident, draft, uploaded)
    assert response.status_code == 302
    assert response["Location"] == reverse("counter:check", args=[draft.pk])
    page = resident.get(reverse("counter:check", args=[draft.pk])).content.decode()
    assert "署名済み" in page and "この内容で申請する" in page
    response = resident.post(reverse("counter:check", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == "submitted"
    signature = ApplicantSignature.objects.get(application=draft)
    assert (
        signature.status == "valid"
        and signature.canonical_sha256 == hashlib.sha256(content).hexdigest()
    )
    # The evidence is kept beside the application, exactly as uploaded.
    assert signature.evidence.open("rb").read() == uploaded
    event = Event.objects.get(event_type="application.signature_checked", subject_id=str(draft.pk))
    assert event.details["verdict"] == "valid"
    assert "テスト" not in json.dumps(event.details, ensure_ascii=False)  # no names in the ledger
    # Nor the certificate's fingerprint, which would link the resident's entries across logs.
    assert signature.signer_fingerprint not in json.dumps(event.details)
    assert event.content_sha256 == signature.evidence_sha256


def test_an_invalid_signature_blocks_submission_with_the_reason(resident, draft, trusted):
    other = trusted["signer"].sign_detached(b"something else")
    response = _upload(resident, draft, other)
    assert response.status_code == 422
    body = response.content.decode()
    assert 'href="#f-signature"' in body
    assert "署名された内容が、この申請の内容と一致しません" in body
    response = resident.post(reverse("counter:check", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.state == "draft"
    assert "電子署名を確認できませんでした" in response.content.decode()


def test_an_expired_signer_is_refused(resident, draft, trusted):
    content = canonical.canonical_bytes(draft)
    response = _upload(resident, draft, trusted["expired"].sign_detached(content))
    assert response.status_code == 422
    assert "有効期間が過ぎています" in response.content.decode()


def test_a_revoked_signer_is_refused_with_the_crl(resident, draft, with_crl):
    content = canonical.canonical_bytes(draft)
    response = _upload(resident, draft, with_crl["revoked"].sign_detached(content))
    assert response.status_code == 422
    assert "失効しています" in response.content.decode()


def test_changing_an_answer_after_signing_asks_for_a_new_signature(resident, draft, trusted):
    content = canonical.canonical_bytes(draft)
    _upload(resident, draft, trusted["signer"].sign_detached(content))
    answers = dict(draft.answers, purpose="年金の手続")
    Application.objects.filter(pk=draft.pk).update(answers=answers)
    draft.refresh_from_db()
    problem = services.submission_problem(draft)
    assert problem is not None and problem.code == "signature_outdated"


def test_the_demo_signer_signs_in_the_sample_municipality(resident, draft):
    response = resident.post(reverse("issuance:sign_demo", args=[draft.pk]))
    assert response.status_code == 302
    signature = ApplicantSignature.objects.get(application=draft)
    assert signature.status == "valid" and signature.demo
    assert resident.post(reverse("counter:check", args=[draft.pk])).status_code == 302


def test_the_demo_signer_is_off_without_the_demo(resident, draft, settings):
    settings.MADOGUCHI_DEMO_IDENTITY = False
    assert resident.post(reverse("issuance:sign_demo", args=[draft.pk])).status_code == 404


def test_the_bytes_to_sign_and_the_pdf_to_sign_are_downloadable(resident, draft, trusted, tmp_path):
    from tests.esign.test_validation import _signed_pdf  # noqa: F401 - same signing path

    data = resident.get(reverse("issuance:sign_json", args=[draft.pk])).content
    assert data == canonical.canonical_bytes(draft)
    payload = json.loads(data)
    assert payload["format"] == "madoguchi.application/1"
    assert payload["application"] == str(draft.pk)
    pdf = resident.get(reverse("issuance:sign_pdf", args=[draft.pk])).content
    assert pdf.startswith(b"%PDF-")
    # The resident signs the downloaded PDF (PAdES) and uploads it.
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    path = tmp_path / "resident.p12"
    path.write_bytes(trusted["signer"].pkcs12())
    signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=b"test")
    from madoguchi.esign.sync import outside_event_loop

    # pyHanko runs its own event loop: not in a thread where Playwright's is running.
    signed = outside_event_loop(
        signers.PdfSigner(
            signers.PdfSignatureMetadata(field_name="Resident"), signer=signer
        ).sign_pdf,
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
    )
    response = _upload(resident, draft, signed.getvalue(), name="signed.pdf")
    assert response.status_code == 302
    assert ApplicantSignature.objects.get(application=draft).kind == "pades"


def test_other_residents_cannot_sign_or_download(draft, taro):
    other = login(taro, level=levels.MYNUMBER_CARD)
    for name in ("issuance:sign", "issuance:sign_json", "issuance:sign_pdf"):
        assert other.get(reverse(name, args=[draft.pk])).status_code == 404
    assert other.post(reverse("issuance:sign_demo", args=[draft.pk])).status_code == 404


def test_a_procedure_without_signature_has_no_signing_step(hanako_client):
    from tests.counter.helpers import fill_dog_registration

    application_id = fill_dog_registration(hanako_client)
    assert hanako_client.get(reverse("issuance:sign", args=[application_id])).status_code == 404


def test_an_empty_upload_says_what_to_choose(resident, draft):
    response = resident.post(reverse("issuance:sign", args=[draft.pk]), {})
    assert response.status_code == 422
    assert "署名ファイル（.p7s など）または署名したPDFを選んでください" in response.content.decode()


def test_the_services_refuse_an_unsigned_submission_and_accept_a_signed_draft(hanako):
    import uuid

    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from tests.api.payloads import JUMINHYO

    procedure = procedure_by_identifier("992011", "juminhyo-copy")
    with pytest.raises(counter.SignatureRequired) as refused:
        counter.create_and_submit(
            procedure=procedure,
            applicant=hanako,
            answers=JUMINHYO,
            idempotency_key=uuid.uuid4(),
            identity_level=levels.MYNUMBER_CARD,
        )
    assert refused.value.code == "signature_required" and refused.value.status == 422
    # A client of the API creates a draft, signs its canonical bytes, then submits it.
    draft, _created = counter.create_and_submit(
        procedure=procedure,
        applicant=hanako,
        answers=JUMINHYO,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.MYNUMBER_CARD,
        submit=False,
    )
    services.demo_sign(application=draft, actor=hanako)
    submitted = counter.submit_application(
        application=draft, actor=hanako, identity_level=levels.MYNUMBER_CARD
    )
    assert submitted.state == "submitted"


def test_the_api_gives_the_bytes_to_sign_and_checks_the_signature(hanako, trusted):
    import uuid

    from django.test import Client

    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.identity.models import ApiToken
    from tests.api.payloads import JUMINHYO

    draft, _created = counter.create_and_submit(
        procedure=procedure_by_identifier("992011", "juminhyo-copy"),
        applicant=hanako,
        answers=JUMINHYO,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.MYNUMBER_CARD,
        submit=False,
    )
    _token, raw = ApiToken.issue(user=hanako, name="tests")
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client()
    payload = client.get(f"/api/applications/{draft.pk}/signing-payload", headers=headers).json()
    content = payload["canonical"].encode()
    assert hashlib.sha256(content).hexdigest() == payload["sha256"]
    bad = client.post(
        f"/api/applications/{draft.pk}/signature",
        {"file": SimpleUploadedFile("x.p7s", trusted["signer"].sign_detached(b"other"))},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["reason"] == "digest_mismatch"
    good = client.post(
        f"/api/applications/{draft.pk}/signature",
        {"file": SimpleUploadedFile("x.p7s", trusted["signer"].sign_detached(content))},
        headers=headers,
    )
    assert good.status_code == 200 and good.json()["status"] == "valid"
    _token, other = ApiToken.issue(
        user=__import__("madoguchi.identity.models", fromlist=["User"]).User.objects.get(
            email="taro@example.jp"
        ),
        name="t",
    )
    assert (
        client.get(
            f"/api/applications/{draft.pk}/signing-payload",
            headers={"Authorization": f"Bearer {other}"},
        ).status_code
        == 404
    )


def test_staff_see_the_verdict_with_the_application(resident, draft, shimin_staff, trusted):
    content = canonical.canonical_bytes(draft)
    _upload(resident, draft, trusted["signer"].sign_detached(b"wrong"))
    _upload(resident, draft, trusted["signer"].sign_detached(content))
    resident.post(reverse("counter:check", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.state == "submitted"
    staff = login(shimin_staff, level=levels.MFA)
    body = staff.get(reverse("backoffice:detail", args=[draft.pk])).content.decode()
    assert "申請者の電子署名" in body
    assert "テスト 花子" in body and "有効" in body
    assert "（現在の申請内容と一致）" in body
    assert "署名の確認 2回" in body


def test_a_correction_is_signed_again_before_it_is_resubmitted(resident, draft, shimin_staff):
    from madoguchi.counter import services as counter

    resident.post(reverse("issuance:sign_demo", args=[draft.pk]))
    assert resident.post(reverse("counter:check", args=[draft.pk])).status_code == 302
    draft.refresh_from_db()
    counter.staff_transition(application=draft, staff=shimin_staff, name="start_review")
    counter.request_correction(
        application=draft,
        staff=shimin_staff,
        field_ids=["purpose"],
        message="使用目的を具体的に",
        reply_by=None,
    )
    page = resident.get(reverse("counter:correction", args=[draft.pk])).content.decode()
    assert "補正した内容にも電子署名が必要です" in page
    changed = {"f-purpose": "その他", "f-purpose_detail": "奨学金の申請", "action": "continue"}
    response = resident.post(reverse("counter:correction", args=[draft.pk]), changed)
    draft.refresh_from_db()
    assert draft.state == "correction_requested"  # saved, not resubmitted: signed again first
    assert "署名の後に申請内容が変わりました" in response.content.decode()
    response = resident.post(reverse("issuance:sign_demo", args=[draft.pk]))
    assert response["Location"] == reverse("counter:correction", args=[draft.pk])
    resident.post(reverse("counter:correction", args=[draft.pk]), changed)
    draft.refresh_from_db()
    assert draft.state == "resubmitted"
