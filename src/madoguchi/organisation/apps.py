from django.apps import AppConfig


class OrganisationConfig(AppConfig):
    name = "madoguchi.organisation"
    label = "organisation"
    verbose_name = "Organisation"
