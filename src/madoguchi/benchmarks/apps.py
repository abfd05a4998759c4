from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "madoguchi.benchmarks"
    label = "benchmarks"
    verbose_name = "Benchmarks"
