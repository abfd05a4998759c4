from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    VALID = "valid", _("有効")
    INVALID = "invalid", _("無効")
    INDETERMINATE = "indeterminate", _("判定不能")


class Kind(models.TextChoices):
    CMS = "cms", _("CMS/PKCS#7 署名")
    PADES = "pades", _("署名付きPDF（PAdES）")


def evidence_name(instance: ApplicantSignature, filename: str) -> str:
    # Detached evidence beside the application: the uploaded bytes, as they came.
    return f"esign/{timezone.now():%Y/%m}/{instance.id.hex}"


class ApplicantSignature(models.Model):
    """One check of an applicant's signature over their application's canonical bytes,
    with the evidence (the signature as uploaded) and the verdict."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        "counter.Application", on_delete=models.CASCADE, related_name="signatures"
    )
    kind = models.CharField(_("形式"), max_length=10, choices=Kind.choices)
    canonical_sha256 = models.CharField(max_length=64)
    evidence = models.FileField(upload_to=evidence_name, max_length=200)
    evidence_sha256 = models.CharField(max_length=64)
    evidence_size = models.PositiveIntegerField()
    status = models.CharField(_("判定"), max_length=20, choices=Status.choices)
    reason = models.CharField(_("理由"), max_length=40, blank=True)
    demo = models.BooleanField(default=False)
    signer_subject = models.CharField(_("署名者"), max_length=500, blank=True)
    signer_issuer = models.CharField(_("発行者"), max_length=500, blank=True)
    signer_serial = models.CharField(max_length=100, blank=True)
    signer_fingerprint = models.CharField(max_length=64, blank=True)
    signer_not_after = models.DateTimeField(null=True, blank=True)
    signing_time = models.DateTimeField(_("署名日時（申告）"), null=True, blank=True)
    timestamp = models.DateTimeField(_("タイムスタンプ"), null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(auto_now_add=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-checked_at"]
        indexes = [
            models.Index(
                fields=["application", "canonical_sha256", "status"], name="esign_current_idx"
            )
        ]
        verbose_name = _("申請者の電子署名")

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.reason}".strip()
