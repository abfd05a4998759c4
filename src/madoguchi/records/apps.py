from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "madoguchi.records"
    label = "records"
    verbose_name = "行政文書ファイル管理簿"
