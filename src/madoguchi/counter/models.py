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
    AWAITING_APPROVAL = "awaiting_approval", _("決裁中")
    APPROVED = "approved", _("承認")
    REJECTED = "rejected", _("不承認")
    RETURNED = "returned", _("返戻")
    WITHDRAWN = "withdrawn", _("取下げ")


# States in which the office has work to do (the queue), and those in which the clock of
# the 標準処理期間 runs: a 補正 waits on the resident and stops it.
OPEN_STATES = (
    State.SUBMITTED,
    State.UNDER_REVIEW,
    State.CORRECTION_REQUESTED,
    State.RESUBMITTED,
    State.AWAITING_APPROVAL,
)
CLOCK_STATES = (
    State.SUBMITTED,
    State.UNDER_REVIEW,
    State.RESUBMITTED,
    State.AWAITING_APPROVAL,
)


class Channel(models.TextChoices):
    ONLINE = "online", _("オンライン")
    COUNTER = "counter", _("窓口（職員が入力）")


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
    # The back office: who works on it, and the due date of the 標準処理期間 in open days.
    # While a 補正 waits on the resident the clock stops: the due date is cleared and the
    # open days that were left are kept until the resident resubmits.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_applications",
        db_index=False,  # the partial index below serves "my work"
    )
    due_date = models.DateField(_("処理期限"), null=True, blank=True)
    clock_paused_on = models.DateField(null=True, blank=True)
    open_days_left = models.IntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    # 書かない窓口: the staff member who entered it with the resident at the counter.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # When the unit's staff were told of this new work (a periodic sweep, so that a
    # submission costs nothing for it).
    staff_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["applicant", "state"], name="application_applicant_idx"),
            models.Index(fields=["unit", "state", "submitted_at"], name="application_unit_idx"),
            # The queue: a unit's open work by due date (overdue first).
            models.Index(
                fields=["unit", "due_date", "id"],
                name="application_unit_due_idx",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            models.Index(
                fields=["assignee", "due_date", "id"],
                name="application_assignee_due_idx",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            models.Index(
                fields=["submitted_at"],
                name="application_new_work_idx",
                condition=models.Q(staff_notified_at__isnull=True, submitted_at__isnull=False),
            ),
        ]
        verbose_name = _("申請")

    def __str__(self) -> str:
        return self.receipt_number or str(self.id)

    @property
    def is_draft(self) -> bool:
        return self.state == State.DRAFT

    @property
    def is_assisted(self) -> bool:
        return self.channel == Channel.COUNTER


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


class Decision(models.Model):
    """A decision on an application: drafted by a case worker, final when decided directly
    or when its approval route completes. A decided application changes only through a
    recorded correction (訂正 of the text, or 取消し that reopens the review), each of which
    supersedes the decision with a new row."""

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("承認")
        REJECT = "reject", _("不承認")
        RETURN = "return", _("返戻")

    class Status(models.TextChoices):
        PENDING = "pending", _("決裁中")
        FINAL = "final", _("決定")
        WITHDRAWN = "withdrawn", _("取りやめ")  # sent back, recalled or the application withdrawn
        SUPERSEDED = "superseded", _("訂正済み")
        REVOKED = "revoked", _("取消し")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="decisions")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(_("理由"), max_length=4000, blank=True)
    # 教示: how to seek review (審査請求) or sue (取消訴訟), from the procedure's definition.
    instruction = models.TextField(_("教示"), max_length=8000, blank=True)
    comment = models.TextField(_("申請者へのひとこと"), max_length=4000, blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    drafted_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The approval route instance (approvals engine) the draft went through, if any.
    approval_reference = models.CharField(max_length=64, blank=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    correction_reason = models.TextField(max_length=4000, blank=True)

    class Meta:
        ordering = ["-drafted_at", "-id"]
        verbose_name = _("決定")

    def __str__(self) -> str:
        return f"decision {self.pk} ({self.outcome}, {self.status})"


class AssistedEntry(models.Model):
    """書かない窓口: an application entered by staff with the resident at the counter, and
    how the resident confirmed it (on a tablet, or by signing the printed summary)."""

    class Confirmation(models.TextChoices):
        TABLET = "tablet", _("タブレットで本人が確認")
        SIGNED_PAPER = "signed_paper", _("印刷した内容に本人が署名")

    class IdentityDocument(models.TextChoices):
        MYNUMBER_CARD = "mynumber_card", _("マイナンバーカード")
        DRIVERS_LICENCE = "drivers_licence", _("運転免許証")
        PASSPORT = "passport", _("旅券")
        RESIDENCE_CARD = "residence_card", _("在留カード")
        OTHER = "other", _("その他の本人確認書類")

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="assisted_entry"
    )
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    prefilled_from = models.JSONField(default=list, blank=True)
    confirmation = models.CharField(max_length=20, choices=Confirmation.choices, blank=True)
    identity_document = models.CharField(
        max_length=20, choices=IdentityDocument.choices, blank=True
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    signed_summary = models.ForeignKey(
        "files.StoredFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("窓口での入力")

    def __str__(self) -> str:
        return f"assisted {self.application_id}"
