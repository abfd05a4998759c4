from django.apps import AppConfig


class SampleConfig(AppConfig):
    name = "madoguchi.sample"
    label = "sample"
    verbose_name = "Sample municipality"
