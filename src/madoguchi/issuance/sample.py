"""Issued documents of the sample municipality: approved applications with signed PDFs,
one of them revoked, so that a newcomer can download one and verify it at once.

Called from `madoguchi.sample.services.load_sample`. The documents are rendered and
signed right here (not after commit) so that one of them can be revoked in the sample."""

from __future__ import annotations

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

ADDRESS = {
    "postal_code": "9990001",
    "prefecture": "さくら県",
    "city": "あおば市",
    "street": "中央一丁目2番3号",
    "building": "",
}
HANAKO = {"family": "山田", "given": "花子", "family_kana": "やまだ", "given_kana": "はなこ"}


def _evidence(user) -> str:
    from PIL import Image

    from madoguchi.files.services import store_upload

    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), (230, 236, 245)).save(buffer, format="PNG")
    stored = store_upload(
        SimpleUploadedFile("介護保険被保険者証（見本）.png", buffer.getvalue(), "image/png"),
        owner=user,
        accept=["image", "pdf"],
    )
    return str(stored.pk)


def _parking(user, key: int, **answers):
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.identity import levels

    values = {
        "evidence_files": [_evidence(user)],
        "user_name": HANAKO,
        "user_birth_date": "1950-01-02",
        "user_address": ADDRESS,
        "contact_phone": "090-1234-5678",
        "delivery": "download",
        "declaration": True,
        **answers,
    }
    application, _created = counter.create_and_submit(
        procedure=procedure_by_identifier("990001", "omoiyari-parking"),
        applicant=user,
        answers=values,
        idempotency_key=uuid.UUID(int=key),
        identity_level=levels.ACCOUNT,
    )
    return application


def _my_number(first_eleven: str) -> str:
    from stdnum.jp import in_ as individual_number

    return first_eleven + str(individual_number.calc_check_digit(first_eleven))


def _child_allowance(user, key: int):
    """A procedure that requires the applicant's signature: signed with the demo
    certificate, as a resident of the sample does on the signing page."""
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.esign import services as esign
    from madoguchi.identity import levels

    answers = {
        "claimant_name": HANAKO,
        "claimant_birth_date": "1988-06-15",
        "claimant_address": ADDRESS,
        "claimant_phone": "090-1234-5678",
        # Made up, with a valid check digit; it belongs to nobody.
        "claimant_my_number": _my_number("31415926535"),
        "public_servant": "no",
        "has_spouse": "no",
        "children": [
            {
                "child_name": {
                    "family": "山田",
                    "given": "𠮷乃",
                    "family_kana": "やまだ",
                    "given_kana": "よしの",
                },
                "child_birth_date": "2021-05-05",
                "child_relationship": "子",
                "child_living": "together",
            }
        ],
        "older_siblings": 0,
        "bank_name": "あおば銀行",
        "branch_name": "本店",
        "account_type": "普通",
        "account_number": "1234567",
        "account_holder_kana": "ヤマダ ハナコ",
        "declaration": True,
    }
    draft, _created = counter.create_and_submit(
        procedure=procedure_by_identifier("992011", "child-allowance"),
        applicant=user,
        answers=answers,
        idempotency_key=uuid.UUID(int=key),
        identity_level=levels.MYNUMBER_CARD,
        submit=False,
    )
    if draft.state != "draft":
        return draft
    esign.demo_sign(application=draft, actor=user)
    return counter.submit_application(
        application=draft, actor=user, identity_level=levels.MYNUMBER_CARD
    )


def _approve_and_issue(application, staff):
    from madoguchi.counter import services as counter

    from . import services

    if application.state in ("submitted", "resubmitted"):
        counter.staff_transition(application=application, staff=staff, name="start_review")
    application.refresh_from_db()
    if application.state == "under_review":
        counter.staff_transition(application=application, staff=staff, name="approve")
    document = services.schedule_issuance(application_id=application.pk, decided_by=staff)
    if document is not None and document.state == "pending":
        services.issue_document(document_id=document.pk)
        document.refresh_from_db()
    return document


def _in_days(days: int) -> str:
    import datetime as dt

    from django.utils import timezone

    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def load_sample(*, with_applications: bool = True) -> None:
    if not with_applications:
        return
    from madoguchi.identity.models import User

    from . import services
    from .models import DocumentState

    hanako = User.objects.get(email="hanako@example.jp")
    prefecture = User.objects.get(email="fukushi.tanto@sakura.example.jp")
    city = User.objects.get(email="kodomo.tanto@aoba.example.jp")

    _approve_and_issue(
        _parking(hanako, 501, category="elderly_care", care_level="要介護2"), prefecture
    )
    withdrawn = _approve_and_issue(
        _parking(hanako, 502, category="injury", recovery_date=_in_days(120)), prefecture
    )
    if withdrawn is not None and withdrawn.state == DocumentState.ISSUED:
        services.revoke_document(
            document=withdrawn,
            staff=prefecture,
            reason="returned",
            note="けがが治ったため返納（見本）",
        )
    _approve_and_issue(_child_allowance(hanako, 503), city)
