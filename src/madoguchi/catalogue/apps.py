from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "madoguchi.catalogue"
    label = "catalogue"
    verbose_name = "Procedure catalogue"
