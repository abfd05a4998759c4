from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "madoguchi.identity"
    label = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the authentication receivers
