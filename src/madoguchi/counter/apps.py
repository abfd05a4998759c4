from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "madoguchi.counter"
    label = "counter"
    verbose_name = "Resident counter"

    def ready(self) -> None:
        # Applications and messages in the person's data download and account deletion.
        from . import personal_data  # noqa: F401
