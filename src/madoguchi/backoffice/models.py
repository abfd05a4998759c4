from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class InternalNote(models.Model):
    """A note among staff on an application (引継ぎ, 確認事項). Never shown to the resident:
    no resident page, e-mail or resident API reads this model."""

    application = models.ForeignKey(
        "counter.Application", on_delete=models.CASCADE, related_name="internal_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("メモ"), max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("職員メモ")

    def __str__(self) -> str:
        return f"note {self.pk}"
