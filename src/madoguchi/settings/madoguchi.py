"""Settings of madoguchi itself."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .core import DATA_DIR, DEBUG, PACKAGE_DIR
from .env import embedded_secret, env_bool, env_int, env_list, env_str


def _generate_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# Keys for field-level encryption of special personal data (My Number). The first key
# encrypts; all of them decrypt, so that a key can be rotated without downtime.
MADOGUCHI_ENCRYPTION_KEYS = env_list("MADOGUCHI_ENCRYPTION_KEYS", [])
if not MADOGUCHI_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "MADOGUCHI_ENCRYPTION_KEYS is not set. With DEBUG off the field encryption "
            "key must be configured; see docs/configuration.md."
        )
    MADOGUCHI_ENCRYPTION_KEYS = [
        embedded_secret(DATA_DIR / "keys" / "field_encryption.key", generate=_generate_fernet_key)
    ]


def _check_fernet_keys(keys: list[str]) -> None:
    """A malformed key stops the start, not the first My Number a resident submits."""
    from cryptography.fernet import Fernet

    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            # The key itself is a secret: not repeated in the message.
            raise ImproperlyConfigured(
                f"MADOGUCHI_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 bytes in URL-safe base64); see docs/configuration.md."
            ) from None


_check_fernet_keys(MADOGUCHI_ENCRYPTION_KEYS)

MADOGUCHI_BASE_URL = env_str("MADOGUCHI_BASE_URL", "http://127.0.0.1:8000")
MADOGUCHI_SITE_NAME = env_str("MADOGUCHI_SITE_NAME", "まどぐち")
MADOGUCHI_CATALOGUE_DIR = env_str(
    "MADOGUCHI_CATALOGUE_DIR", str(PACKAGE_DIR / "sample" / "catalogue")
)

# The demo identity provider stands in for My Number Card log-in in the sample
# municipality. It proves nothing and is refused when DEBUG is off.
MADOGUCHI_DEMO_IDENTITY = env_bool("MADOGUCHI_DEMO_IDENTITY", DEBUG)
if (
    MADOGUCHI_DEMO_IDENTITY
    and not DEBUG
    and not env_bool("MADOGUCHI_ALLOW_DEMO_IN_PRODUCTION", False)
):
    raise ImproperlyConfigured("MADOGUCHI_DEMO_IDENTITY must not be enabled with DEBUG off.")

MADOGUCHI_UPLOAD_MAX_BYTES = env_int("MADOGUCHI_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
MADOGUCHI_DRAFT_RETENTION_DAYS = env_int("MADOGUCHI_DRAFT_RETENTION_DAYS", 90)
MADOGUCHI_BENCH = env_bool("MADOGUCHI_BENCH", False)
# The back office: an application is "due soon" when at most this many open days are left.
MADOGUCHI_DUE_SOON_DAYS = env_int("MADOGUCHI_DUE_SOON_DAYS", 2)

# Prefectures accepted in addresses besides the 47: the sample's fictional さくら県.
MADOGUCHI_EXTRA_PREFECTURES = env_list("MADOGUCHI_EXTRA_PREFECTURES", ["さくら県"] if DEBUG else [])
