from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImmutableError(Exception):
    pass


class Event(models.Model):
    """Evidence of one state change, written in the same transaction as the change.

    Rows are the outbox of the tamper-evident ledger: they carry hashes and
    non-personal details only, so that the ledger can be published or audited.
    """

    class ActorKind(models.TextChoices):
        RESIDENT = "resident", _("住民")
        STAFF = "staff", _("職員")
        SYSTEM = "system", _("システム")

    body = models.ForeignKey(
        "organisation.Body", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    event_type = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=64)
    content_sha256 = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "id"], name="event_subject_idx")
        ]
        verbose_name = _("記録イベント")

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject_type}:{self.subject_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableError("ledger events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("ledger events are append-only")


class PendingEvent(models.Model):
    """An event not yet in the Merkle log: the sequencer's queue.

    Rows are inserted by a database trigger on ledger_event (so a writer pays no extra
    round trip) and deleted by the sequencer in the commit that appends the event.
    """

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.DO_NOTHING, related_name="pending"
    )

    class Meta:
        verbose_name = _("未記帳のイベント")

    def __str__(self) -> str:
        return f"pending {self.event_id}"


class Log(models.Model):
    """One append-only Merkle log: a body's, or the deployment's for body-less events."""

    origin = models.CharField(max_length=200, unique=True)
    body = models.OneToOneField(
        "organisation.Body", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["origin"]
        verbose_name = _("台帳")

    def __str__(self) -> str:
        return self.origin

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableError("ledger logs are append-only")
        super().save(*args, **kwargs)


class LogKey(models.Model):
    """A public key a log has signed with, from the first tree size it signed."""

    log = models.ForeignKey(Log, on_delete=models.PROTECT, related_name="keys")
    verifier_key = models.CharField(max_length=300)
    is_demo = models.BooleanField(default=False)
    first_size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["log", "first_size", "id"]
        verbose_name = _("台帳の公開鍵")

    def __str__(self) -> str:
        return self.verifier_key


class Entry(models.Model):
    """An event's place in a log: its leaf index and the exact bytes of its leaf."""

    log = models.ForeignKey(Log, on_delete=models.PROTECT, related_name="entries")
    index = models.PositiveBigIntegerField()
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="entry")
    leaf = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log", "index"], name="entry_index_unique_in_log")
        ]
        verbose_name = _("台帳の項目")

    def __str__(self) -> str:
        return f"{self.log_id}#{self.index}"


class Checkpoint(models.Model):
    """A signed tree head in the C2SP tlog-checkpoint format, with the tree's right edge
    (the compact range) from which the next batch extends the tree."""

    log = models.ForeignKey(Log, on_delete=models.PROTECT, related_name="checkpoints")
    size = models.PositiveBigIntegerField()
    root_hash = models.CharField(max_length=64)
    note = models.TextField()
    frontier = models.BinaryField()
    key = models.ForeignKey(LogKey, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log", "size"], name="checkpoint_size_unique_in_log")
        ]
        ordering = ["log", "size"]
        verbose_name = _("チェックポイント")

    def __str__(self) -> str:
        return f"{self.log_id}@{self.size}"


class Tile(models.Model):
    """A C2SP tlog-tiles hash tile: 256 hashes of one tree level (0, 8, 16, …).

    Derived data, rewritten while it fills: a wrong tile yields proofs that fail against
    the signed checkpoints, so tiles are not evidence and not protected like entries.
    """

    log = models.ForeignKey(Log, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField()
    index = models.PositiveBigIntegerField()
    hashes = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log", "level", "index"], name="tile_unique")
        ]
        verbose_name = _("ハッシュタイル")

    def __str__(self) -> str:
        return f"tile {self.level}/{self.index}"


class AccessPurpose(models.TextChoices):
    """Why staff opened a person's data (shown to the person)."""

    REVIEW = "review", _("審査・確認のため")
    CORRECTION = "correction", _("補正の対応のため")
    DECISION = "decision", _("決裁のため")
    ISSUANCE = "issuance", _("交付のため")
    INQUIRY = "inquiry", _("ご本人からのお問い合わせへの対応のため")
    COUNTER = "counter", _("窓口での手続のため")
    AUDIT = "audit", _("監査・検査のため")
    DISCLOSURE = "disclosure", _("開示請求等への対応のため")
    RECORDS = "records", _("文書管理（保存・移管・廃棄）のため")
    LEGAL = "legal", _("法令に基づく照会への対応のため")


class AccessWhat(models.TextChoices):
    APPLICATION = "application", _("申請の内容")
    ATTACHMENT = "attachment", _("添付ファイル")
    PROFILE = "profile", _("登録情報")
    MY_NUMBER = "my_number", _("マイナンバー（個人番号）")
    SPECIAL = "special", _("要配慮個人情報（健康・障がい等）")
    EXPORT = "export", _("一覧の書き出し")
    DOCUMENT = "document", _("交付文書")
    RECORD = "record", _("保存文書（原本）")


class AccessLog(models.Model):
    """A staff member opened, downloaded or exported a person's data.

    Immutable like the events, and ledgered: staff cannot hide their own accesses. The
    position and roles are copied at the time, so later changes do not rewrite them.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT, related_name="+")
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="accesses_to_my_data"
    )
    what = models.CharField(max_length=20, choices=AccessWhat.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, choices=AccessPurpose.choices, blank=True)
    position = models.CharField(max_length=30, blank=True)
    roles = models.JSONField(default=list, blank=True)
    at = models.DateTimeField(default=timezone.now)
    event = models.OneToOneField(Event, on_delete=models.PROTECT, related_name="access")

    class Meta:
        indexes = [models.Index(fields=["subject_user", "-at"], name="access_subject_idx")]
        verbose_name = _("アクセス記録")

    def __str__(self) -> str:
        return f"access {self.pk}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableError("access logs are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("access logs are append-only")
