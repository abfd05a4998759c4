from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def storage_name(instance: StoredFile, filename: str) -> str:
    # The stored name never contains anything the uploader chose.
    return f"uploads/{timezone.now():%Y/%m}/{instance.id.hex}"


class StoredFile(models.Model):
    """An uploaded file. Content type is decided from the bytes, never from the name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to=storage_name, max_length=200)
    original_name = models.CharField(_("ファイル名"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)  # of the clear content, encrypted or not
    # The bytes in storage are a Fernet token of the content (special personal data,
    # decision 0022): read them only through files.services.open_stored.
    encrypted = models.BooleanField(default=False)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("保存ファイル")

    def __str__(self) -> str:
        return self.original_name

    def descriptor(self) -> dict[str, object]:
        """What an application's answers keep about the file."""
        return {
            "id": str(self.id),
            "name": self.original_name,
            "size": self.size,
            "content_type": self.content_type,
            "sha256": self.sha256,
        }
