from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "madoguchi.appointments"
    label = "appointments"
    verbose_name = "来庁予約"

    def ready(self) -> None:
        from madoguchi.counter import hooks

        from . import panels

        for page in ("check", "done", "detail"):
            hooks.register_panel(page, "appointments", panels.appointment_panel, order=20)
