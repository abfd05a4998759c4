"""Read paths of applicants' signatures (staff and the resident see their own)."""

from __future__ import annotations

from django.db.models import QuerySet

from . import canonical, validation
from .models import ApplicantSignature


def signatures_of(application) -> QuerySet[ApplicantSignature]:
    return ApplicantSignature.objects.filter(application=application).order_by("-checked_at")


def signature_summary(application) -> dict | None:
    """What staff see: the verdict of the check that counts, and whether it is over the
    application as submitted."""
    from .services import current_signature, required

    checks = list(signatures_of(application)[:20])
    if not checks and not required(application):
        return None
    current = current_signature(application) if checks else None
    verdict = validation.Verdict(current.status, current.reason) if current else None
    return {
        "required": required(application),
        "current": current,
        "message": verdict.message if verdict else "",
        "checks": checks,
        "canonical_sha256": canonical.canonical_sha256(application),
    }
