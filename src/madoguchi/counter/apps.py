from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "madoguchi.counter"
    label = "counter"
    verbose_name = "Resident counter"
