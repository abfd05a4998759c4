"""The records register (行政文書ファイル管理簿): files, records, holds, disposition.

Retention start and expiry are computed from their inputs (records.retention) in save()
and never typed; every change of them is a ledger event written by the services.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import retention


class RetentionClass(models.TextChoices):
    ONE = "1年", _("1年")
    THREE = "3年", _("3年")
    FIVE = "5年", _("5年")
    TEN = "10年", _("10年")
    THIRTY = "30年", _("30年")
    PERMANENT = "常用", _("常用（無期限）")


class DispositionAction(models.TextChoices):
    TRANSFER = "transfer", _("移管")
    DESTROY = "destroy", _("廃棄")


class StartRule(models.TextChoices):
    FISCAL_YEAR = "fiscal_year", _("完結した年度の翌年度の4月1日")
    CALENDAR_YEAR = "calendar_year", _("完結した年の翌年の1月1日")
    COMPLETION = "completion", _("完結した日の翌日")


class Confidentiality(models.TextChoices):
    PUBLIC = "public", _("公開")
    INTERNAL = "internal", _("庁内限り")
    CONFIDENTIAL = "confidential", _("関係職員限り")


class FileState(models.TextChoices):
    ACTIVE = "active", _("保存中")
    TRANSFERRING = "transferring", _("移管手続中")
    TRANSFERRED = "transferred", _("移管済み")
    DESTROYED = "destroyed", _("廃棄済み")


class RecordKind(models.TextChoices):
    APPLICATION = "application", _("申請書")
    DECISION = "decision", _("決定書")
    ISSUED_DOCUMENT = "issued_document", _("交付文書")
    INTERNAL_DOCUMENT = "internal_document", _("起案文書")


class RecordFile(models.Model):
    """A 行政文書ファイル: the records of one series (a procedure, a unit's 起案) of one 年度."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "organisation.Unit", on_delete=models.PROTECT, related_name="record_files"
    )
    series = models.CharField(max_length=120)
    fiscal_year = models.PositiveSmallIntegerField(_("作成年度"))
    classification_major = models.CharField(_("大分類"), max_length=100)
    classification_middle = models.CharField(_("中分類"), max_length=100)
    classification_minor = models.CharField(_("小分類"), max_length=100)
    title = models.CharField(_("行政文書ファイル名"), max_length=200)
    retention_class = models.CharField(_("保存期間"), max_length=4, choices=RetentionClass.choices)
    start_rule = models.CharField(
        _("保存期間の起算"), max_length=20, choices=StartRule.choices, default=StartRule.FISCAL_YEAR
    )
    completed_on = models.DateField(_("完結日"))
    # Computed in save() from the fields above, the extensions and the holds.
    retention_start = models.DateField(_("保存期間の起算日"), editable=False)
    base_expiry = models.DateField(_("保存期間の満了日（当初）"), null=True, editable=False)
    extension_years = models.PositiveSmallIntegerField(default=0, editable=False)
    expiry = models.DateField(_("保存期間の満了日"), null=True, editable=False)
    on_hold = models.BooleanField(_("保存の延長（保留）中"), default=False, editable=False)
    disposition = models.CharField(
        _("保存期間満了時の措置"), max_length=10, choices=DispositionAction.choices
    )
    medium = models.CharField(_("媒体の種別"), max_length=20, default="電子")
    place = models.CharField(_("保存場所"), max_length=100)
    manager = models.CharField(_("管理者"), max_length=100)
    confidentiality = models.CharField(
        _("機密性"),
        max_length=20,
        choices=Confidentiality.choices,
        default=Confidentiality.INTERNAL,
    )
    special_personal_data = models.BooleanField(
        _("要配慮個人情報・特定個人情報を含む"), default=False
    )
    state = models.CharField(
        _("状態"), max_length=20, choices=FileState.choices, default=FileState.ACTIVE
    )
    created_at = models.DateTimeField(default=timezone.now)
    disposed_at = models.DateTimeField(_("移管・廃棄日"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["body", "unit", "series", "fiscal_year"], name="record_file_unique"
            )
        ]
        indexes = [
            models.Index(fields=["body", "state", "expiry"], name="record_file_expiry_idx"),
            models.Index(fields=["body", "fiscal_year"], name="record_file_year_idx"),
        ]
        ordering = ["-fiscal_year", "classification_major", "title"]
        verbose_name = _("行政文書ファイル")

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.compute()
        super().save(*args, **kwargs)

    @property
    def retention_years(self) -> int | None:
        return retention.years_of(self.retention_class)

    def compute(self) -> None:
        """Retention start and expiry from their inputs: the start rule and the completion
        date, the retention class, the approved extensions and the active holds."""
        self.retention_start = retention.retention_start(self.start_rule, self.completed_on)
        self.base_expiry = retention.expiry(self.retention_start, self.retention_years)
        if self._state.adding:
            extensions, hold_ends = [], []
        else:
            extensions = list(
                RetentionExtension.objects.filter(file_id=self.pk).values_list("years", flat=True)
            )
            hold_ends = list(
                LegalHold.objects.filter(file_id=self.pk, released_at__isnull=True).values_list(
                    "ends_on", flat=True
                )
            )
        self.extension_years = sum(extensions)
        extended = retention.extend(self.base_expiry, self.extension_years)
        self.expiry, self.on_hold = retention.with_holds(extended, hold_ends)


class Record(models.Model):
    """A 行政文書 in a file: an application, a decision, an issued document, a 起案文書.

    `original` holds the exact bytes whose SHA-256 the ledger holds (the canonical JSON of
    the answers, of the decision, of the 起案文書); `files` the attachments and PDFs by
    hash. 廃棄 empties both and keeps the row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.ForeignKey(RecordFile, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(max_length=20, choices=RecordKind.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    title = models.CharField(_("件名"), max_length=200)
    created_on = models.DateField(_("作成・取得日"))
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # For an application made for someone else (法定代理人, 委任状): that person, when
    # they have an account (the application's subject_user). Staff opening the record is
    # logged for them as well as for the applicant (subject_user).
    applied_for_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    procedure_version = models.ForeignKey(
        "catalogue.ProcedureVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    original = models.BinaryField(null=True, blank=True)
    original_sha256 = models.CharField(max_length=64, blank=True)
    original_type = models.CharField(max_length=60, default="application/json")
    files = models.JSONField(default=list, blank=True)
    confidentiality = models.CharField(
        max_length=20, choices=Confidentiality.choices, default=Confidentiality.INTERNAL
    )
    special_personal_data = models.BooleanField(default=False)
    filed_event = models.OneToOneField(
        "ledger.Event", null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id"], name="record_once_per_object"
            )
        ]
        indexes = [models.Index(fields=["object_type", "object_id"], name="record_object_idx")]
        ordering = ["created_on", "created_at"]
        verbose_name = _("行政文書")

    def __str__(self) -> str:
        return self.title


class RetentionExtension(models.Model):
    """保存期間の延長, decided through an approved disposition proposal."""

    file = models.ForeignKey(RecordFile, on_delete=models.PROTECT, related_name="extensions")
    years = models.PositiveSmallIntegerField()
    reason = models.TextField(max_length=2000)
    proposal = models.OneToOneField(
        "DispositionProposal", on_delete=models.PROTECT, related_name="extension"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("保存期間の延長")

    def __str__(self) -> str:
        return f"+{self.years}"


class HoldReason(models.TextChoices):
    """The reasons for which the law keeps a file beyond its retention period."""

    AUDIT = "audit", _("監査・検査")
    LITIGATION = "litigation", _("訴訟")
    APPEAL = "appeal", _("不服申立て")
    INFORMATION_REQUEST = "information_request", _("情報公開請求")
    PERSONAL_INFORMATION_REQUEST = "personal_information_request", _("個人情報開示請求")
    DUTY = "duty", _("職務上の必要")


class LegalHold(models.Model):
    """A hold that blocks disposition and moves the expiry, until its end date or event."""

    file = models.ForeignKey(RecordFile, on_delete=models.PROTECT, related_name="holds")
    reason = models.CharField(_("理由"), max_length=40, choices=HoldReason.choices)
    description = models.TextField(_("内容"), max_length=2000)
    ends_on = models.DateField(_("終了予定日"), null=True, blank=True)
    end_event = models.CharField(_("終了の事由"), max_length=200, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_note = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        verbose_name = _("保存の延長（法的保留）")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.file_id})"


class ProposalState(models.TextChoices):
    IN_APPROVAL = "in_approval", _("決裁中")
    APPROVED = "approved", _("承認")
    RETURNED = "returned", _("差戻し")
    CANCELLED = "cancelled", _("取りやめ")
    EXECUTED = "executed", _("実施済み")


class ProposalAction(models.TextChoices):
    TRANSFER = "transfer", _("移管")
    DESTROY = "destroy", _("廃棄")
    EXTEND = "extend", _("延長")


class DispositionProposal(models.Model):
    """A records officer's proposal for an expired file: 移管, 廃棄 or 延長, with a reason,
    approved through an approval route before anything is done."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.ForeignKey(RecordFile, on_delete=models.PROTECT, related_name="proposals")
    action = models.CharField(_("措置"), max_length=10, choices=ProposalAction.choices)
    reason = models.TextField(_("理由"), max_length=2000)
    extension_years = models.PositiveSmallIntegerField(null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=20, choices=ProposalState.choices, default=ProposalState.IN_APPROVAL
    )
    approval_reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    package_path = models.CharField(max_length=500, blank=True)
    package_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["file"],
                condition=models.Q(state__in=["in_approval", "approved"]),
                name="one_open_proposal_per_file",
            )
        ]
        verbose_name = _("移管・廃棄・延長の起案")

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.file_id}"


class SpecialDataAuthorization(models.Model):
    """An explicit permission to open records holding special personal data (My Number,
    health, disability) of a body: granted by its administrator, revocable, ledgered."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.ForeignKey("organisation.Body", on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "body"],
                condition=models.Q(revoked_at__isnull=True),
                name="special_data_authorization_active_unique",
            )
        ]
        verbose_name = _("要配慮個人情報の閲覧許可")

    def __str__(self) -> str:
        return f"{self.user_id}@{self.body_id}"
