"""Settings for the test suite: the project's settings with test-only secrets.

DATABASE_URL chooses the database (SQLite by default, PostgreSQL in CI).
"""

import os
import tempfile

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("MADOGUCHI_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("MADOGUCHI_DATA_DIR", tempfile.mkdtemp(prefix="madoguchi-tests-"))
os.environ.setdefault(
    "DATABASE_URL", "sqlite:///" + os.path.join(os.environ["MADOGUCHI_DATA_DIR"], "tests.sqlite3")
)
os.environ.setdefault("TASKS_BACKEND", "immediate")
os.environ.setdefault("MADOGUCHI_DEMO_IDENTITY", "1")
os.environ.setdefault("MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION", "1")
os.environ.setdefault("MADOGUCHI_EXTRA_PREFECTURES", "さくら県")
# Demo ledger signing keys generated into the temporary data directory.
os.environ.setdefault("MADOGUCHI_LEDGER_DEMO_KEYS", "1")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from madoguchi.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher"
]  # speed only; never in production
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
