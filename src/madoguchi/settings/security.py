from __future__ import annotations

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .core import DATA_DIR, DEBUG
from .env import embedded_secret, env_bool, env_int, env_list, env_str, random_secret_key

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off a secret key must be configured; "
            "see docs/configuration.md."
        )
    SECRET_KEY = embedded_secret(DATA_DIR / "keys" / "secret_key", generate=random_secret_key)

# Behind a TLS-terminating proxy in production; `make run` serves plain HTTP on loopback.
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 8)
SESSION_COOKIE_NAME = "madoguchi_session"
CSRF_COOKIE_NAME = "madoguchi_csrf"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Argon2id (memory-hard) for new and changed passwords, with OWASP's parameters (decision
# 0023); Argon2 hashes with other parameters and PBKDF2 hashes from before are still
# accepted and rehashed at the next log-in.
PASSWORD_HASHERS = [
    "madoguchi.identity.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

# NIST SP 800-63B-4: a minimum length (15 when the password is the only factor), long
# passphrases allowed, a blocklist (breached and common passwords, words of this service,
# the person's own address, repeated or sequential characters), no composition rules and
# no forced periodic change.
MADOGUCHI_PASSWORD_MIN_LENGTH = env_int("MADOGUCHI_PASSWORD_MIN_LENGTH", 15)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": MADOGUCHI_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "madoguchi.identity.passwords.MaximumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "madoguchi.identity.passwords.BlocklistValidator"},
]

DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_PERMISSIONS = 0o640
CSRF_FAILURE_VIEW = "madoguchi.core.views.csrf_failure"
