from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """One account per person across every body of the deployment.

    `is_staff` keeps Django's meaning (may use the Django admin); working as municipal
    staff comes from organisation memberships, not from this flag.
    """

    username = None
    email = models.EmailField(_("メールアドレス"), unique=True)
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    # Set when the person deleted their account: the row stays only as the applicant of
    # applications the law requires to keep; everything else about the person is gone.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The language of the e-mails sent to the person: the one they last chose on the site
    # while signed in (pages follow the language cookie; an e-mail has no cookie).
    language = models.CharField(
        _("言語"),
        max_length=8,
        choices=[("ja", "日本語"), ("en", "English")],
        default="ja",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("利用者")

    def __str__(self) -> str:
        return self.display_name or self.email


class ResidentProfile(models.Model):
    """基本4情報 and contact details a resident chooses to keep for prefilling applications."""

    class Sex(models.TextChoices):
        MALE = "male", _("男")
        FEMALE = "female", _("女")

    class DateStyle(models.TextChoices):
        WAREKI = "wareki", _("和暦（令和8年）")
        SEIREKI = "seireki", _("西暦（2026年）")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    family_name = models.CharField(_("姓"), max_length=50, blank=True)
    given_name = models.CharField(_("名"), max_length=50, blank=True)
    family_name_kana = models.CharField(_("せい"), max_length=100, blank=True)
    given_name_kana = models.CharField(_("めい"), max_length=100, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    sex = models.CharField(_("性別"), max_length=10, choices=Sex.choices, blank=True)
    postal_code = models.CharField(_("郵便番号"), max_length=7, blank=True)
    prefecture = models.CharField(_("都道府県"), max_length=10, blank=True)
    city = models.CharField(_("市区町村"), max_length=100, blank=True)
    street = models.CharField(_("町名・番地"), max_length=200, blank=True)
    building = models.CharField(_("建物名・部屋番号"), max_length=200, blank=True)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    date_style = models.CharField(
        _("日付の表示"), max_length=10, choices=DateStyle.choices, default=DateStyle.WAREKI
    )
    # Where each value came from ("resident" or an identity provider's name), field by field.
    sources = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("利用者情報")

    def __str__(self) -> str:
        return f"{self.family_name} {self.given_name}".strip() or str(self.user)

    def has_data(self) -> bool:
        return any(
            [self.family_name, self.given_name, self.birth_date, self.postal_code, self.phone]
        )


class IdentityLink(models.Model):
    """A log-in at an OpenID Connect provider (My Number Card, a directory) linked to an
    account. The provider's `sub` for this client identifies the person there."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity_links"
    )
    provider = models.CharField(_("連携先"), max_length=40)
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_link_unique"),
            models.UniqueConstraint(fields=["user", "provider"], name="identity_link_per_provider"),
        ]
        verbose_name = _("外部ログインの連携")

    def __str__(self) -> str:
        return f"{self.provider} ({self.user})"


class StaffSecurityPolicy(models.Model):
    """What a body's administrators require of their staff's log-ins, beyond the
    deployment's defaults (mandatory second factor, idle timeout)."""

    body = models.OneToOneField(
        "organisation.Body", on_delete=models.CASCADE, related_name="staff_security_policy"
    )
    require_passkey = models.BooleanField(_("パスキーを必須にする"), default=False)
    idle_minutes = models.PositiveIntegerField(
        _("無操作でログアウトするまでの分数"), null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("職員のログイン方針")

    def __str__(self) -> str:
        return str(self.body)


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("名前"), max_length=100)
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("APIトークン")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
        raw = "mdg_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, token_sha256=cls.hash(raw), prefix=raw[:12], expires_at=expires_at
        )
        return token, raw
