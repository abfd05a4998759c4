from django.apps import AppConfig


class EsignConfig(AppConfig):
    name = "madoguchi.esign"
    label = "esign"
    verbose_name = "電子署名の検証"
