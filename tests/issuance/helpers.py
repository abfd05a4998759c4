"""Approved applications of the sample procedures, as the back office leaves them.

The decision flow (review, approval route) belongs to the back office; these helpers
submit real applications through the counter's services and record the approval as its
outcome, so that issuance is tested from the state it starts from.
"""

from __future__ import annotations

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

NAME = {"family": "𠮷田", "given": "髙﨑子", "family_kana": "よしだ", "given_kana": "たかさきこ"}
ADDRESS = {
    "postal_code": "9990001",
    "prefecture": "さくら県",
    "city": "あおば市",
    "street": "中央一丁目2番3号",
    "building": "",
}


def png(width: int = 300, height: int = 400) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 200, 220)).save(buffer, format="PNG")
    return buffer.getvalue()


def stored_png(user, name: str = "evidence.png", width: int = 300, height: int = 400) -> str:
    """The id of an uploaded image, as the API names files in answers."""
    from madoguchi.files.services import store_upload

    stored = store_upload(
        SimpleUploadedFile(name, png(width, height), content_type="image/png"),
        owner=user,
        accept=["image", "pdf"],
    )
    return str(stored.pk)


def parking_answers(user, *, category: str = "elderly_care", **extra) -> dict:
    answers = {
        "category": category,
        "evidence_files": [stored_png(user)],
        "user_name": NAME,
        "user_birth_date": "1950-01-02",
        "user_address": ADDRESS,
        "contact_phone": "03-1234-5678",
        "delivery": "download",
        "declaration": True,
    }
    if category == "elderly_care":
        answers["care_level"] = "要介護2"
    answers.update(extra)
    return answers


def highschool_answers(user) -> dict:
    return {
        "applicant_name": NAME,
        "applicant_birth_date": "2011-06-01",
        "applicant_address": ADDRESS,
        "middle_school": "あおば市立第一中学校",
        "graduation": "expected",
        "first_choice": "aoba-futsu",
        "photo": [stored_png(user, "photo.png", 300, 400)],
        "guardian_name": {
            "family": "山田",
            "given": "花子",
            "family_kana": "やまだ",
            "given_kana": "はなこ",
        },
        "guardian_relationship": "母",
        "guardian_phone": "090-1234-5678",
        "guardian_same_address": "same",
        "declaration": True,
    }


def submitted(body: str, procedure: str, answers: dict, applicant):
    from madoguchi.catalogue.selectors import procedure_by_identifier
    from madoguchi.counter import services as counter
    from madoguchi.identity import levels

    application, _created = counter.create_and_submit(
        procedure=procedure_by_identifier(body, procedure),
        applicant=applicant,
        answers=answers,
        idempotency_key=uuid.uuid4(),
        identity_level=levels.MYNUMBER_CARD,
    )
    return application


def approve(application):
    """The back office's outcome: the application approved (its own flow is tested there)."""
    from madoguchi.counter.models import Application

    Application.objects.filter(pk=application.pk).update(
        state="approved", decided_at=timezone.now()
    )
    application.refresh_from_db()
    return application


def approved_parking(applicant, **extra):
    return approve(
        submitted("990001", "omoiyari-parking", parking_answers(applicant, **extra), applicant)
    )
