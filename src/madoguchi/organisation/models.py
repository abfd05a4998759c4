from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

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


class Position(models.TextChoices):
    STAFF = "staff", _("担当")
    CHIEF = "chief", _("主任")
    SECTION_CHIEF = "section_chief", _("係長")
    DEPUTY_DIRECTOR = "deputy_director", _("課長補佐")
    DIRECTOR = "director", _("課長")
    DIRECTOR_GENERAL = "director_general", _("部長")


class Role(models.TextChoices):
    CASE_WORKER = "case_worker", _("担当職員")
    APPROVER = "approver", _("決裁者")
    RECORDS_OFFICER = "records_officer", _("文書管理担当")
    PROCEDURE_AUTHOR = "procedure_author", _("手続作成担当")
    ADMINISTRATOR = "administrator", _("システム管理者")


class StaffMembership(models.Model):
    """A staff member's place in a unit, with a position and the roles it grants there."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="memberships")
    position = models.CharField(
        _("職"), max_length=30, choices=Position.choices, default=Position.STAFF
    )
    roles = models.JSONField(_("役割"), default=list, blank=True)
    is_primary = models.BooleanField(_("主所属"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="membership_unique")]
        verbose_name = _("所属")

    def __str__(self) -> str:
        return f"{self.unit} / {self.get_position_display()}"

    def clean(self) -> None:
        unknown = [role for role in self.roles if role not in Role.values]
        if unknown:
            raise ValidationError(
                {"roles": _("不明な役割です: %(roles)s") % {"roles": ", ".join(unknown)}}
            )
