from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DocumentState(models.TextChoices):
    PENDING = "pending", _("作成中")
    ISSUED = "issued", _("交付済み")
    FAILED = "failed", _("作成できませんでした")
    REVOKED = "revoked", _("失効")


class RevocationReason(models.TextChoices):
    """Shown publicly on the verification page: categories only, never the note."""

    WITHDRAWN = "withdrawn", _("許可等の取消し")
    REISSUED = "reissued", _("再交付による失効")
    ERROR = "error", _("記載事項の誤り")
    RETURNED = "returned", _("返納")
    OTHER = "other", _("その他")


def document_storage_name(instance: IssuedDocument, filename: str) -> str:
    # A new name per attempt: two runs of the same task never overwrite each other's file.
    return f"issued/{instance.body_id}/{instance.id.hex}-{uuid.uuid4().hex[:8]}.pdf"


class IssuedDocument(models.Model):
    """An official document issued on a decision: a signed PDF with a QR code."""

    # The document ID printed in the QR code and on the document.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        "counter.Application", on_delete=models.PROTECT, related_name="issued_documents"
    )
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("交付番号"), max_length=40, unique=True)
    title = models.CharField(_("文書の種類"), max_length=200)
    template = models.CharField(max_length=63)
    delivery = models.JSONField(default=list, blank=True)
    state = models.CharField(
        _("状態"), max_length=20, choices=DocumentState.choices, default=DocumentState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    valid_until = models.DateField(_("有効期限"), null=True, blank=True)
    pdf = models.FileField(upload_to=document_storage_name, max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    pdf_size = models.PositiveIntegerField(null=True, blank=True)
    signature_level = models.CharField(max_length=20, blank=True)
    signer_subject = models.CharField(max_length=500, blank=True)
    signer_fingerprint = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(_("交付日時"), null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    revocation_reason = models.CharField(
        _("失効の理由"), max_length=20, choices=RevocationReason.choices, blank=True
    )
    revocation_note = models.TextField(_("失効の理由（詳細）"), max_length=2000, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            # One current document per application; a revoked one may be followed by another.
            models.UniqueConstraint(
                fields=["application"],
                condition=~Q(state="revoked"),
                name="issued_document_one_current",
            )
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="issued_document_state_idx")]
        verbose_name = _("交付文書")

    def __str__(self) -> str:
        return self.number


class DocumentSequence(models.Model):
    """The last 交付番号 given per body and 年度 (fiscal year from April)."""

    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["body", "fiscal_year"], name="issued_document_sequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.body_id}/{self.fiscal_year}: {self.last}"
