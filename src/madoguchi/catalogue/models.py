from __future__ import annotations

from functools import cached_property

from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from madoguchi.core.languages import name_in

from .definition import Definition


class Procedure(models.Model):
    """A procedure of one body; its definitions are the versions below it."""

    body = models.ForeignKey(
        "organisation.Body", on_delete=models.PROTECT, related_name="procedures"
    )
    identifier = models.SlugField(_("手続ID"), max_length=80)
    unit = models.ForeignKey(
        "organisation.Unit", on_delete=models.PROTECT, related_name="procedures"
    )
    current_version = models.ForeignKey(
        "ProcedureVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_published = models.BooleanField(_("公開中"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["body", "identifier"], name="procedure_unique_in_body")
        ]
        ordering = ["body__code", "identifier"]
        verbose_name = _("手続")

    def __str__(self) -> str:
        return self.current_version.name if self.current_version_id else self.identifier


class ProcedureVersion(models.Model):
    """One immutable version of a definition. Applications point at the version they used."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版"))
    definition = models.JSONField()
    definition_sha256 = models.CharField(max_length=64)
    source_path = models.CharField(max_length=500, blank=True)
    loaded_at = models.DateTimeField(default=timezone.now)
    # Copied out of the definition for listing, filtering and search.
    name = models.CharField(_("手続名"), max_length=500)
    name_kana = models.CharField(_("よみ"), max_length=500)
    name_en = models.CharField(max_length=500, blank=True)
    category = models.CharField(_("分類"), max_length=500)
    life_events = models.JSONField(default=list)
    identity_level = models.CharField(max_length=20)
    channel = models.CharField(max_length=30)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    search_text = models.TextField(blank=True)
    search_reading = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["procedure", "number"], name="procedure_version_unique")
        ]
        ordering = ["procedure", "number"]
        verbose_name = _("手続の版")

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            # A version is what applications were submitted under: it never changes.
            raise ValueError("procedure versions are immutable")
        super().save(*args, **kwargs)

    @cached_property
    def spec(self) -> Definition:
        return Definition(self.definition)

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        if self.opens_at and now < self.opens_at:
            return False
        return not (self.closes_at and now >= self.closes_at)

    @property
    def accepts_online(self) -> bool:
        return self.channel in ("online", "online_and_in_person")

    @property
    def display_name(self) -> str:
        """The name in the reader's language: name_en in English when the definition
        gives one (resident pages; staff pages and documents keep the Japanese name)."""
        return self.name_in(get_language() or "ja")

    def name_in(self, language: str) -> str:
        """The name in `language` (an e-mail's, which no request decides)."""
        return name_in(language, self.name, self.name_en)
