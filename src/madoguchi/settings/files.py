from __future__ import annotations

from .core import DATA_DIR, DEBUG
from .env import env_str

MEDIA_ROOT = DATA_DIR / "files"
# Stored files are never served by URL; views check access and stream them.
MEDIA_URL = "/never-served/"

STORAGES = {
    "default": {
        "BACKEND": env_str("FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
WHITENOISE_USE_FINDERS = DEBUG
