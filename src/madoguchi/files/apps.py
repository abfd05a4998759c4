from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "madoguchi.files"
    label = "files"
    verbose_name = "Stored files"
