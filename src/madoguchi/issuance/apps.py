from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "madoguchi.issuance"
    label = "issuance"
    verbose_name = "交付文書"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the start-up checks
