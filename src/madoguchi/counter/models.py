from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    DRAFT = "draft", _("下書き")
    SUBMITTED = "submitted", _("受付済み")
    UNDER_REVIEW = "under_review", _("審査中")
    CORRECTION_REQUESTED = "correction_requested", _("補正依頼中")
    RESUBMITTED = "resubmitted", _("補正済み")
    APPROVED = "approved", _("承認")
    REJECTED = "rejected", _("不承認")
    WITHDRAWN = "withdrawn", _("取下げ")


class ApplicantRole(models.TextChoices):
    SELF = "self", _("本人")
    LEGAL_REPRESENTATIVE = "legal_representative", _("法定代理人（親権者・後見人など）")
    POWER_OF_ATTORNEY = "power_of_attorney", _("代理人（委任状あり）")


class Application(models.Model):
    """An application (申請・届出) from its first draft to its decision."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    procedure = models.ForeignKey(
        "catalogue.Procedure", on_delete=models.PROTECT, related_name="applications"
    )
    procedure_version = models.ForeignKey(
        "catalogue.ProcedureVersion", on_delete=models.PROTECT, related_name="applications"
    )
    unit = models.ForeignKey(
        "organisation.Unit", on_delete=models.PROTECT, related_name="applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications"
    )
    applicant_role = models.CharField(
        max_length=30, choices=ApplicantRole.choices, default=ApplicantRole.SELF
    )
    # For an application made for someone else: who it is for, and their account if they
    # have one and the procedure lets them see it.
    subject_person = models.JSONField(default=dict, blank=True)
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications_about_me",
    )
    authority_file = models.ForeignKey(
        "files.StoredFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状態"), max_length=30, choices=State.choices, default=State.DRAFT)
    answers = models.JSONField(default=dict, blank=True)
    # What the resident typed on a page that did not validate yet: kept so nothing is lost.
    pending_inputs = models.JSONField(default=dict, blank=True)
    current_page = models.CharField(max_length=63, blank=True)
    completed_pages = models.JSONField(default=list, blank=True)
    use_profile = models.BooleanField(default=False)
    receipt_number = models.CharField(
        _("受付番号"), max_length=20, unique=True, null=True, blank=True
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    fee_amount = models.PositiveIntegerField(null=True, blank=True)
    answers_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["applicant", "state"], name="application_applicant_idx"),
            models.Index(fields=["unit", "state", "submitted_at"], name="application_unit_idx"),
        ]
        verbose_name = _("申請")

    def __str__(self) -> str:
        return self.receipt_number or str(self.id)

    @property
    def is_draft(self) -> bool:
        return self.state == State.DRAFT


class ApplicationFile(models.Model):
    """Which application a stored file belongs to, for access checks on download."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="files")
    stored_file = models.OneToOneField(
        "files.StoredFile", on_delete=models.PROTECT, related_name="application_link"
    )
    field_id = models.CharField(max_length=63)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("添付ファイル")

    def __str__(self) -> str:
        return f"{self.field_id}: {self.stored_file_id}"


class Message(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_staff = models.BooleanField(default=False)
    body = models.TextField(_("本文"), max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)
    read_by_resident_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("メッセージ")

    def __str__(self) -> str:
        return f"message {self.pk}"


class CorrectionRequest(models.Model):
    """補正: staff name what to correct; the resident edits those only and resubmits."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="corrections"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    field_ids = models.JSONField(default=list)
    message = models.TextField(max_length=4000)
    reply_by = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answers_before = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("補正依頼")

    def __str__(self) -> str:
        return f"correction {self.pk}"
