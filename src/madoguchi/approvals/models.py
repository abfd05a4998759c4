from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- route definitions ------------------------------------------------------------------


class Route(models.Model):
    """A 決裁ルート of one body; its definitions are the versions below it."""

    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    identifier = models.SlugField(_("ルートID"), max_length=80)
    current_version = models.ForeignKey(
        "RouteVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["body", "identifier"], name="route_unique_in_body")
        ]
        ordering = ["body__code", "identifier"]
        verbose_name = _("決裁ルート")

    def __str__(self) -> str:
        return self.current_version.name if self.current_version_id else self.identifier


class RouteVersion(models.Model):
    """One immutable version of a route definition. Instances keep the version they started
    under, so a route changed mid-flight does not change the documents already in it."""

    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版"))
    definition = models.JSONField()
    definition_sha256 = models.CharField(max_length=64)
    source_path = models.CharField(max_length=500, blank=True)
    loaded_at = models.DateTimeField(default=timezone.now)
    name = models.CharField(_("ルート名"), max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["route", "number"], name="route_version_unique")
        ]
        ordering = ["route", "number"]
        verbose_name = _("決裁ルートの版")

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("route versions are immutable")
        super().save(*args, **kwargs)

    @property
    def subjects(self) -> list[str]:
        return list(self.definition.get("subjects") or [])

    @property
    def allows_bulk(self) -> bool:
        return bool(self.definition.get("allow_bulk", False))


# --- instances --------------------------------------------------------------------------


class InstanceState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("決裁中")
    RETURNED = "returned", _("差戻し")
    RECALLED = "recalled", _("引上げ")
    COMPLETED = "completed", _("決裁済み")
    CANCELLED = "cancelled", _("取りやめ")


class StepState(models.TextChoices):
    PENDING = "pending", _("未処理")
    APPROVED = "approved", _("承認")
    RETURNED = "returned", _("差戻し")
    WITHDRAWN = "withdrawn", _("取消し")  # the stage ended another way before this one acted


class StepKind(models.TextChoices):
    APPROVAL = "approval", _("審査・決裁")
    CONSULTATION = "consultation", _("合議")


class ApprovalInstance(models.Model):
    """One subject travelling one route: who drafted it, where it is, and its version for
    optimistic locking of the instance-wide actions (引上げ, 再提出, 取りやめ)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("種類"), max_length=40)
    subject_id = models.CharField(max_length=64)
    title = models.CharField(_("件名"), max_length=200)
    route_version = models.ForeignKey(
        RouteVersion, on_delete=models.PROTECT, related_name="instances"
    )
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="drafted_approvals"
    )
    drafter_unit = models.ForeignKey(
        "organisation.Unit", on_delete=models.PROTECT, related_name="drafted_approvals"
    )
    # The facts the route's conditions were evaluated on (amount …): never personal data.
    context = models.JSONField(default=dict, blank=True)
    # {"stages": [...], "skipped": [...]}: the route after its conditions and 専決 rules,
    # with the units resolved when the instance started (see services.plan_route).
    plan = models.JSONField(default=dict)
    state = models.CharField(
        _("状態"), max_length=20, choices=InstanceState.choices, default=InstanceState.IN_PROGRESS
    )
    current_stage = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=1)
    version = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A subject is in at most one route at a time.
            models.UniqueConstraint(
                fields=["kind", "subject_id"],
                condition=models.Q(state__in=["in_progress", "returned", "recalled"]),
                name="approval_one_open_instance_per_subject",
            )
        ]
        indexes = [
            models.Index(fields=["kind", "subject_id"], name="approval_subject_idx"),
            models.Index(fields=["drafter", "state"], name="approval_drafter_idx"),
        ]
        ordering = ["-started_at"]
        verbose_name = _("決裁")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in (
            InstanceState.IN_PROGRESS,
            InstanceState.RETURNED,
            InstanceState.RECALLED,
        )

    @property
    def stages(self) -> list[dict]:
        return list((self.plan or {}).get("stages", []))

    @property
    def stage_count(self) -> int:
        return len(self.stages)


class ApprovalStep(models.Model):
    """One approver's part in one stage of one round. A parallel 合議 stage has one row
    per consulted unit; a stage run again after a return gets new rows, so every row is
    acted on at most once and its version only ever goes from 1 to 2."""

    instance = models.ForeignKey(ApprovalInstance, on_delete=models.PROTECT, related_name="steps")
    round = models.PositiveSmallIntegerField()
    stage = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=63)
    label = models.CharField(_("段階"), max_length=100)
    kind = models.CharField(max_length=20, choices=StepKind.choices, default=StepKind.APPROVAL)
    is_final = models.BooleanField(_("決裁"), default=False)
    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    position = models.CharField(max_length=30, blank=True)
    role = models.CharField(max_length=30, blank=True)
    state = models.CharField(
        max_length=20, choices=StepState.choices, default=StepState.PENDING, db_index=True
    )
    version = models.PositiveIntegerField(default=1)
    activated_at = models.DateTimeField(default=timezone.now)
    acted_at = models.DateTimeField(null=True, blank=True)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 代決: the approver the deputy acted for (acted_by is the deputy).
    acted_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(_("コメント"), blank=True)
    # Set when a later return makes this approval count no more (the stage runs again).
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "unit"], name="approval_step_inbox_idx"),
            models.Index(fields=["instance", "round", "stage"], name="approval_step_stage_idx"),
        ]
        ordering = ["instance", "round", "stage", "pk"]
        verbose_name = _("決裁の段階")

    def __str__(self) -> str:
        return f"{self.label} ({self.get_state_display()})"


# --- internal documents (起案文書) --------------------------------------------------------


class DocumentState(models.TextChoices):
    DRAFT = "draft", _("起案中")
    IN_APPROVAL = "in_approval", _("決裁中")
    RETURNED = "returned", _("差戻し")
    APPROVED = "approved", _("決裁済み")
    CANCELLED = "cancelled", _("廃案")


class InternalDocument(models.Model):
    """A 起案文書 that is not an application: a title, a body text, attachments, a route."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "organisation.Unit", on_delete=models.PROTECT, related_name="internal_documents"
    )
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="internal_documents"
    )
    title = models.CharField(_("件名"), max_length=200)
    text = models.TextField(_("本文"), blank=True)
    amount = models.PositiveBigIntegerField(_("金額（円）"), null=True, blank=True)
    route = models.ForeignKey(
        Route, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("状態"), max_length=20, choices=DocumentState.choices, default=DocumentState.DRAFT
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # 文書番号, given when the route completes: per numbering unit and 年度.
    fiscal_year = models.PositiveSmallIntegerField(null=True, blank=True)
    number_unit = models.ForeignKey(
        "organisation.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    serial = models.PositiveIntegerField(null=True, blank=True)
    document_number = models.CharField(_("文書番号"), max_length=60, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["number_unit", "fiscal_year", "serial"],
                condition=models.Q(serial__isnull=False),
                name="document_number_unique",
            )
        ]
        indexes = [models.Index(fields=["unit", "state"], name="document_unit_state_idx")]
        ordering = ["-updated_at"]
        verbose_name = _("起案文書")

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.state in (DocumentState.DRAFT, DocumentState.RETURNED)


class InternalDocumentFile(models.Model):
    document = models.ForeignKey(
        InternalDocument, on_delete=models.CASCADE, related_name="attachments"
    )
    stored_file = models.OneToOneField(
        "files.StoredFile", on_delete=models.PROTECT, related_name="internal_document_link"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "pk"]
        verbose_name = _("起案文書の添付ファイル")

    def __str__(self) -> str:
        return str(self.stored_file_id)


class DocumentNumberSequence(models.Model):
    """The last 文書番号 given by a unit in a 年度; the row is locked while a number is taken."""

    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    fiscal_year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "fiscal_year"], name="document_sequence_unique")
        ]
        verbose_name = _("文書番号の採番")

    def __str__(self) -> str:
        return f"{self.unit_id}/{self.fiscal_year}: {self.last}"
