from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "madoguchi.operations"
    label = "operations"
