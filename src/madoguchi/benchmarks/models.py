from django.db import models


class BaselineRow(models.Model):
    """The baseline of `make bench`: the same payload, inserted by a bare Django view."""

    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"baseline row {self.pk}"
