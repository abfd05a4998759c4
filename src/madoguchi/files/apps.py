from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "madoguchi.files"
    label = "files"
    verbose_name = "Stored files"

    def ready(self) -> None:
        from madoguchi.core import keyrotation

        from .services import rotate_encrypted_files

        keyrotation.register("files.StoredFile.file (encrypted content)", rotate_encrypted_files)
