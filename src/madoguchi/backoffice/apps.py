from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "madoguchi.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
