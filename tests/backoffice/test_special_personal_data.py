"""Special personal data (要配慮個人情報): answers a procedure marks `sensitive` are
sealed at rest, shown to the resident who gave them, masked for staff, and opened only by
staff with the handler role (特定個人情報等取扱担当者) who state a purpose, which is logged."""

from __future__ import annotations

import time

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast
from django.urls import reverse

from madoguchi.counter.models import Application
from madoguchi.identity.models import User
from madoguchi.ledger.models import AccessLog

from ..api.payloads import MY_NUMBER
from ..conftest import login
from ..counter.helpers import fill_parking, submit
from ..counter.uploads import pdf, upload
from .conftest import submit_simple

pytestmark = pytest.mark.django_db

FUKUSHI = "fukushi.tanto@sakura.example.jp"


def _recent_mfa(client):
    session = client.session
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time()}]
    session["account_authentication_methods_user"] = session["_auth_user_id"]
    session.save()
    return client


def _clerk_of(unit) -> User:
    """A case worker of the unit without the handler role."""
    from madoguchi.identity.services import enroll_demo_totp
    from madoguchi.organisation import services as organisation
    from madoguchi.organisation.models import StaffMembership
    from madoguchi.sample.data import DEMO_TOTP_SECRET

    clerk = User.objects.create_user(email="rinji@sakura.example.jp", password="x" * 16)
    colleague = StaffMembership.objects.filter(unit=unit).first()
    StaffMembership.objects.create(
        user=clerk, unit=unit, position=colleague.position, is_primary=True
    )
    organisation.grant_role(actor=None, user=clerk, unit=unit, role="case_worker")
    enroll_demo_totp(user=clerk, secret=DEMO_TOTP_SECRET)
    return clerk


@pytest.fixture
def parking(sample, hanako):
    resident = login(hanako)
    application_id = fill_parking(resident, [upload("手帳.pdf", pdf())])
    submit(resident, application_id)
    return Application.objects.get(pk=application_id)


def _stored_answers_text(application) -> str:
    """The answers column as the database holds it (what a dump or a backup shows)."""
    return str(
        Application.objects.filter(pk=application.pk)
        .annotate(text=Cast("answers", TextField()))
        .values_list("text", flat=True)
        .get()
    )


def test_a_sensitive_answer_is_sealed_at_rest_and_the_resident_sees_it(parking, hanako):
    stored = parking.answers["care_level"]
    assert stored["sealed"] is True and stored["ciphertext"].startswith("gAAAAA")
    raw = _stored_answers_text(parking)
    assert "要介護2" not in raw and "elderly_care" in raw  # the category is not sensitive
    # The condition that showed the field still holds on the sealed value.
    definition = parking.procedure_version.spec
    assert definition.field_visible(definition.fields["care_level"], parking.answers)
    status = login(hanako).get(reverse("counter:detail", args=[parking.pk])).content.decode()
    assert "要介護2" in status


def test_staff_see_a_mask_and_the_handler_reveals_it_with_a_purpose(parking):
    fukushi = User.objects.get(email=FUKUSHI)
    client = _recent_mfa(login(fukushi))
    page = client.get(reverse("backoffice:detail", args=[parking.pk])).content.decode()
    assert "要介護2" not in page and "特別な個人情報のため非表示" in page
    assert 'name="field" value="care_level"' in page
    url = reverse("backoffice:my_number", args=[parking.pk])
    refused = client.post(url, {"field": "care_level", "purpose": ""})
    assert refused.status_code == 422
    body = refused.content.decode()
    assert "要配慮個人情報を表示するには利用目的を選んでください。" in body
    assert "要介護2" not in body
    assert not AccessLog.objects.filter(what="special").exists()
    shown = client.post(url, {"field": "care_level", "purpose": "review"})
    assert shown.status_code == 200 and "要介護2" in shown.content.decode()
    assert shown["Cache-Control"] == "private, no-store"
    log = AccessLog.objects.get(what="special")
    assert (log.actor, log.purpose, log.object_id) == (
        fukushi,
        "review",
        f"{parking.pk}:care_level",
    )
    # A field that is not sensitive is not revealed through this form.
    assert client.post(url, {"field": "category", "purpose": "review"}).status_code == 409


def test_a_case_worker_without_the_role_is_refused(parking):
    clerk = _clerk_of(parking.unit)
    client = _recent_mfa(login(clerk))
    page = client.get(reverse("backoffice:detail", args=[parking.pk])).content.decode()
    assert "要介護2" not in page
    assert "特定個人情報等取扱担当者の役割が必要です" in page
    refused = client.post(
        reverse("backoffice:my_number", args=[parking.pk]),
        {"field": "care_level", "purpose": "review"},
    )
    assert refused.status_code == 403 and "要介護2" not in refused.content.decode()
    file_id = parking.answers["evidence_files"][0]["id"]
    opened = client.get(
        reverse("backoffice:file", args=[parking.pk, file_id]), {"purpose": "review"}
    )
    assert opened.status_code == 403
    assert not AccessLog.objects.filter(what__in=["special", "attachment"]).exists()
    # Refused, and the refusals are in the ledger: who, what, why (no personal data).
    from madoguchi.ledger.models import Event

    refusals = Event.objects.filter(
        event_type="application.special_access_refused", subject_id=str(parking.pk)
    ).order_by("id")
    assert [(e.actor_id, e.details) for e in refusals] == [
        (str(clerk.pk), {"what": "special", "reason": "special_personal_data"}),
        (str(clerk.pk), {"what": "attachment", "reason": "special_personal_data"}),
    ]


def test_my_number_needs_the_handler_role(simple_procedure, hanako, kankyo_staff):
    application = submit_simple(hanako, owner_number=MY_NUMBER)
    client = _recent_mfa(login(kankyo_staff))  # a case worker of the unit, no handler role
    page = client.get(reverse("backoffice:detail", args=[application.pk])).content.decode()
    assert "特定個人情報等取扱担当者の役割が必要です" in page
    response = client.post(
        reverse("backoffice:my_number", args=[application.pk]),
        {"field": "owner_number", "purpose": "review"},
    )
    assert response.status_code == 403
    assert MY_NUMBER not in response.content.decode()
    assert not AccessLog.objects.filter(what="my_number").exists()
    from madoguchi.ledger.models import Event

    refusal = Event.objects.get(event_type="application.special_access_refused")
    assert (refusal.actor_id, refusal.subject_id) == (str(kankyo_staff.pk), str(application.pk))
    assert refusal.details == {"what": "my_number", "reason": "special_personal_data"}


def test_an_unchanged_sensitive_answer_keeps_its_ciphertext(sample, hanako):
    """Sealing encrypts afresh each time; saving the page again with the same answer must
    not change the stored answers (their hash ties the fee and the signed summary)."""
    resident = login(hanako)
    application_id = fill_parking(resident, [upload("手帳.pdf", pdf())])
    before = Application.objects.get(pk=application_id).answers["care_level"]
    page = reverse("counter:page", args=[application_id, "eligibility"])
    data = {"f-category": "elderly_care", "f-care_level": "要介護2", "action": "continue"}
    assert resident.post(page, data).status_code == 302
    assert Application.objects.get(pk=application_id).answers["care_level"] == before
    assert resident.post(page, {**data, "f-care_level": "要介護3"}).status_code == 302
    after = Application.objects.get(pk=application_id).answers["care_level"]
    assert after != before and "要介護3" not in str(after)


def test_the_residents_data_download_has_the_clear_answer(parking, hanako):
    from madoguchi.counter.personal_data import application_rows

    rows = list(application_rows(hanako))
    assert rows and rows[0]["answers"]["care_level"] == "要介護2"


def test_the_signed_canonical_form_has_the_clear_answer(parking):
    from madoguchi.esign.canonical import canonical_bytes

    data = canonical_bytes(parking).decode()
    assert "要介護2" in data and "ciphertext" not in data


def test_what_was_typed_on_a_sensitive_page_rests_sealed_and_comes_back(sample, hanako):
    """A page refused for an error keeps the typed inputs in the draft (nothing typed is
    lost); on a page with a sensitive field they are sealed there too."""
    resident = login(hanako)
    application_id = fill_parking(resident, [upload("手帳.pdf", pdf())])
    page = reverse("counter:page", args=[application_id, "eligibility"])
    data = {
        "f-category": "physical",
        "f-physical_grade": "2級",
        "f-certificate_number": "第98765号",
        "action": "continue",
    }  # the parts of the body are missing
    refused = resident.post(page, data)
    assert refused.status_code == 422 and "第98765号" in refused.content.decode()
    stored = _stored_answers_text(Application.objects.get(pk=application_id))
    pending = str(Application.objects.get(pk=application_id).pending_inputs)
    assert "第98765号" not in stored and "第98765号" not in pending
    again = resident.get(page).content.decode()
    assert "第98765号" in again


def _bytes_in_storage(stored) -> bytes:
    with stored.file.open("rb") as handle:
        return handle.read()


def test_a_sensitive_attachment_is_encrypted_in_storage(parking):
    """The stored bytes are a token; whoever may open the file gets the clear content,
    whose SHA-256 is the one the answers and the ledger hold."""
    import hashlib

    from madoguchi.files.models import StoredFile
    from madoguchi.records.content import stored_file_content

    file_id = parking.answers["evidence_files"][0]["id"]
    stored = StoredFile.objects.get(pk=file_id)
    assert stored.encrypted
    raw = _bytes_in_storage(stored)
    assert raw.startswith(b"gAAAAA") and b"%PDF" not in raw
    client = _recent_mfa(login(User.objects.get(email=FUKUSHI)))
    opened = client.get(
        reverse("backoffice:file", args=[parking.pk, file_id]), {"purpose": "review"}
    )
    content = b"".join(opened.streaming_content)
    assert content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() == stored.sha256
    # What the ledger export writes beside the entry (`ledger verify --content`).
    assert stored_file_content(stored.sha256) == content
    # The resident downloads their own attachment in clear too.
    resident = login(parking.applicant)
    mine = resident.get(reverse("counter:file", args=[parking.pk, file_id]))
    assert b"".join(mine.streaming_content) == content


def test_a_file_uploaded_before_a_sensitive_field_names_it_is_encrypted_then(
    sample, hanako, django_capture_on_commit_callbacks
):
    """Through the API a file is uploaded first, then named in the answers: it is stored
    in clear until then, and the clear copy is deleted once the application commits."""
    from madoguchi.files.models import StoredFile

    from ..issuance.helpers import parking_answers, submitted

    answers = parking_answers(hanako)
    stored = StoredFile.objects.get(pk=answers["evidence_files"][0])
    assert not stored.encrypted
    clear_name, storage = stored.file.name, stored.file.storage
    with django_capture_on_commit_callbacks(execute=True):
        application = submitted("990001", "omoiyari-parking", answers, hanako)
    stored.refresh_from_db()
    assert stored.encrypted and stored.file.name != clear_name
    assert _bytes_in_storage(stored).startswith(b"gAAAAA")
    assert not storage.exists(clear_name)
    assert application.answers["care_level"]["sealed"] is True
