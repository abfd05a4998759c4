from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "madoguchi.issuance"
    label = "issuance"
    verbose_name = "交付文書"
