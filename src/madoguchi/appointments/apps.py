from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "madoguchi.appointments"
    label = "appointments"
    verbose_name = "来庁予約"
