from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.core.languages import name_in

from .codes import is_valid_local_government_code


def validate_local_government_code(value: str) -> None:
    if not is_valid_local_government_code(value):
        raise ValidationError(
            _("全国地方公共団体コードは6桁で、最後の1桁は検査数字です。"), code="invalid_body_code"
        )


class Body(models.Model):
    """A 団体: a prefecture or a municipality that shares this deployment."""

    class Kind(models.TextChoices):
        PREFECTURE = "prefecture", _("都道府県")
        MUNICIPALITY = "municipality", _("市区町村")

    code = models.CharField(
        _("団体コード"), max_length=6, unique=True, validators=[validate_local_government_code]
    )
    name = models.CharField(_("名称"), max_length=100)
    name_kana = models.CharField(_("名称（かな）"), max_length=200, blank=True)
    name_en = models.CharField(_("名称（英語）"), max_length=200, blank=True)
    kind = models.CharField(_("種別"), max_length=20, choices=Kind.choices)
    prefecture = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="municipalities"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("団体")

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str) -> str:
        """The name in `language` (an e-mail's, which no request decides)."""
        return name_in(language, self.name, self.name_en)


class Unit(models.Model):
    """An organisational unit: 部, 課 or 係."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", _("部")
        DIVISION = "division", _("課")
        SECTION = "section", _("係")

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="units")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.SlugField(_("組織コード"), max_length=50)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("名称（英語）"), max_length=200, blank=True)
    kind = models.CharField(_("種別"), max_length=20, choices=Kind.choices)
    # Materialised path of codes ("/<body>/<部>/<課>/"), so that a subtree is one prefix query.
    path = models.CharField(max_length=255, editable=False, db_index=True)
    email = models.EmailField(_("連絡先メール"), blank=True)
    phone = models.CharField(_("連絡先電話"), max_length=30, blank=True)
    # The 文書記号 in front of document numbers (「青市民第12号」); units without one number
    # their documents under the nearest unit above that has one.
    document_symbol = models.CharField(_("文書記号"), max_length=20, blank=True)
    # Units are retired, never deleted: applications, routes and records point at them.
    is_active = models.BooleanField(_("使用中"), default=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["body", "code"], name="unit_code_unique_in_body")
        ]
        verbose_name = _("組織")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        prefix = self.parent.path if self.parent_id else f"/{self.body.code}/"
        self.path = f"{prefix}{self.code}/"
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.parent_id and self.parent.body_id != self.body_id:
            raise ValidationError(_("上位組織は同じ団体に属している必要があります。"))


class Position(models.Model):
    """A 職 (担当, 係長, 課長 …). The rank orders them; administrators may add more (主査,
    次長 …) between the built-in ones, which is why the built-in ranks leave gaps."""

    code = models.SlugField(_("職コード"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("名称（英語）"), max_length=100, blank=True)
    rank = models.PositiveSmallIntegerField(
        _("職位の順位"), help_text=_("大きいほど上位です（担当 10、係長 30、課長 50、部長 60）。")
    )

    class Meta:
        ordering = ["rank", "code"]
        verbose_name = _("職")

    def __str__(self) -> str:
        return self.name


# The built-in positions (code, name, English name, rank); created by migration 0002.
DEFAULT_POSITIONS = [
    ("staff", "担当", "Staff", 10),
    ("chief", "主任", "Chief", 20),
    ("section_chief", "係長", "Section chief", 30),
    ("deputy_director", "課長補佐", "Deputy director", 40),
    ("director", "課長", "Director", 50),
    ("director_general", "部長", "Director general", 60),
]


class Role(models.TextChoices):
    """Roles grant permissions (see roles.py); they are held in a unit."""

    CASE_WORKER = "case_worker", _("担当職員")
    APPROVER = "approver", _("決裁者")
    RECORDS_OFFICER = "records_officer", _("文書管理担当")
    PROCEDURE_AUTHOR = "procedure_author", _("手続作成担当")
    ADMINISTRATOR = "administrator", _("システム管理者")
    # 番号法 asks that only designated staff handle 個人番号 (事務取扱担当者); the same
    # designation covers 要配慮個人情報 (health, disability) in applications.
    PERSONAL_DATA_HANDLER = "personal_data_handler", _("特定個人情報等取扱担当者")


class StaffMembership(models.Model):
    """A staff member's place in a unit (所属) with a position there. A person may belong
    to several units (兼務); one of them is the primary one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="memberships")
    position = models.ForeignKey(
        Position,
        to_field="code",
        db_column="position",
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("職"),
    )
    is_primary = models.BooleanField(_("主所属"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="membership_unique")]
        indexes = [models.Index(fields=["unit", "position"], name="membership_unit_position")]
        verbose_name = _("所属")

    def __str__(self) -> str:
        return f"{self.unit} / {self.position}"

    def get_position_display(self) -> str:
        return self.position.name

    @property
    def roles(self) -> list[str]:
        """The roles the member holds in this unit now (read-only; grant and revoke them
        with the services, which keep the history)."""
        return sorted(
            RoleGrant.objects.filter(
                user_id=self.user_id, unit_id=self.unit_id, revoked_at__isnull=True
            ).values_list("role", flat=True)
        )


class RoleGrant(models.Model):
    """A role held by a person in a unit, from its grant to its revocation. Rows are kept
    after revocation: who could approve what, and when, stays answerable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="role_grants")
    role = models.CharField(_("役割"), max_length=30, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "role"],
                condition=models.Q(revoked_at__isnull=True),
                name="role_grant_active_unique",
            )
        ]
        indexes = [models.Index(fields=["unit", "role"], name="role_grant_unit_role")]
        ordering = ["-granted_at"]
        verbose_name = _("役割の付与")

    def __str__(self) -> str:
        return f"{self.get_role_display()} @ {self.unit}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Delegation(models.Model):
    """代決: while the principal is absent, the deputy may act for them on approval steps.
    Limited to one unit of the principal when `unit` is set; never passed on further."""

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="delegations")
    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given"
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_received"
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="delegations"
    )
    starts_at = models.DateTimeField(_("開始"))
    ends_at = models.DateTimeField(_("終了"))
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="delegation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(principal=models.F("deputy")),
                name="delegation_not_to_self",
            ),
        ]
        indexes = [
            models.Index(fields=["deputy", "starts_at", "ends_at"], name="delegation_deputy_idx")
        ]
        ordering = ["-starts_at"]
        verbose_name = _("代決者の指定")

    def __str__(self) -> str:
        return f"{self.principal} → {self.deputy}"

    def is_active_at(self, at) -> bool:
        return self.cancelled_at is None and self.starts_at <= at < self.ends_at
