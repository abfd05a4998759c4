"""Applicants' signatures: check one, keep it as evidence with its verdict, and say
whether an application is signed as it stands. The counter calls these; so do the API
and the demo signer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from madoguchi.ledger.services import record_event

from . import canonical, validation
from .models import ApplicantSignature, Status


class SignatureRejected(Exception):
    """Nothing was checked (empty, too large): the message says why."""

    def __init__(self, ja: str, en: str, code: str = "signature") -> None:
        super().__init__(ja)
        self.ja = ja
        self.en = en
        self.code = code


@dataclass(frozen=True)
class Problem:
    ja: str
    en: str
    code: str


def required(application) -> bool:
    return bool(application.procedure_version.definition.get("signature_required"))


@transaction.atomic
def check_signature(*, application, data: bytes, actor, demo: bool = False) -> ApplicantSignature:
    """Validates `data` (detached CMS or signed PDF) against the application's canonical
    bytes as they are now, stores it as evidence with the verdict, and records the check
    in the ledger (hashes and the verdict only)."""
    if not data:
        raise SignatureRejected("署名ファイルを選んでください。", "Choose the signature file.")
    if len(data) > settings.MADOGUCHI_ESIGN_MAX_BYTES:
        limit = settings.MADOGUCHI_ESIGN_MAX_BYTES // (1024 * 1024)
        raise SignatureRejected(
            f"ファイルが大きすぎます。{limit}MB以下にしてください。",
            f"The file is too large; the limit is {limit}MB.",
            "too_large",
        )
    content = canonical.canonical_bytes(application)
    verdict = validation.verify(data, content)
    signature = ApplicantSignature(
        application=application,
        kind=verdict.kind or validation.detect_kind(data),
        canonical_sha256=hashlib.sha256(content).hexdigest(),
        evidence_sha256=hashlib.sha256(data).hexdigest(),
        evidence_size=len(data),
        status=verdict.status,
        reason=verdict.reason,
        demo=demo,
        signer_subject=verdict.signer_subject,
        signer_issuer=verdict.signer_issuer,
        signer_serial=verdict.signer_serial,
        signer_fingerprint=verdict.signer_fingerprint,
        signer_not_after=verdict.signer_not_after,
        signing_time=verdict.signing_time,
        timestamp=verdict.timestamp,
        details=verdict.details,
        checked_by=actor,
    )
    signature.evidence.save(signature.id.hex, ContentFile(data), save=False)
    signature.save()
    record_event(
        event_type="application.signature_checked",
        actor_kind="resident",
        actor_id=getattr(actor, "pk", None),
        subject_type="application",
        subject_id=application.pk,
        body_id=application.body_id,
        content_sha256=signature.evidence_sha256,
        details={
            "kind": signature.kind,
            "verdict": signature.status,
            "reason": signature.reason,
            "canonical_sha256": signature.canonical_sha256,
            # Not the signer's certificate fingerprint: one number for one resident in every
            # ledger that records it, it would link their entries across published logs. The
            # evidence's hash (content_sha256) binds the certificate all the same.
            "demo": demo,
        },
    )
    return signature


def demo_sign(*, application, actor) -> ApplicantSignature:
    """Signs the application with the demo certificate (the sample municipality only)."""
    from . import demo

    if not settings.MADOGUCHI_DEMO_IDENTITY:
        raise SignatureRejected(
            "デモの署名はこの環境では使えません。", "The demo signer is not available here."
        )
    data = demo.demo_sign(canonical.canonical_bytes(application))
    return check_signature(application=application, data=data, actor=actor, demo=True)


def current_signature(application) -> ApplicantSignature | None:
    """The latest check over the application as it stands now (a valid one first)."""
    digest = canonical.canonical_sha256(application)
    checks = ApplicantSignature.objects.filter(application=application, canonical_sha256=digest)
    return checks.filter(status=Status.VALID).first() or checks.first()


def submission_problem(application) -> Problem | None:
    """Why the application cannot be submitted as far as its signature goes, or None."""
    if not required(application):
        return None
    signature = current_signature(application)
    if signature is not None and signature.status == Status.VALID:
        return None
    if signature is None:
        if ApplicantSignature.objects.filter(application=application).exists():
            return Problem(
                "署名の後に申請内容が変わりました。もう一度電子署名をしてください。",
                "The application changed after it was signed; sign it again.",
                "signature_outdated",
            )
        return Problem(
            "この手続には電子署名が必要です。「電子署名」の手順で署名してから送信してください。",
            "This procedure requires the applicant's electronic signature; sign first.",
            "signature_required",
        )
    verdict = validation.Verdict(signature.status, signature.reason)
    return Problem(
        f"電子署名を確認できませんでした: {verdict.message}",
        f"The signature could not be accepted: {verdict.message_en}",
        "signature_invalid",
    )
