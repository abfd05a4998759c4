from __future__ import annotations

from pathlib import Path

from .env import env_bool, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# In a checkout (editable install) the data directory defaults to var/ beside pyproject.toml.
_CHECKOUT = PACKAGE_DIR.parent.parent
_DEFAULT_DATA_DIR = (
    _CHECKOUT / "var" if (_CHECKOUT / "pyproject.toml").exists() else Path.cwd() / "var"
)
DATA_DIR = Path(env_str("MADOGUCHI_DATA_DIR", str(_DEFAULT_DATA_DIR)))

DEBUG = env_bool("DEBUG", False)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Before allauth, so that its templates are overridden by ours.
    "madoguchi.identity",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "ninja",
    "madoguchi.core",
    "madoguchi.organisation",
    "madoguchi.ledger",
    "madoguchi.catalogue",
    "madoguchi.files",
    "madoguchi.notifications",
    "madoguchi.approvals",
    "madoguchi.esign",
    "madoguchi.counter",
    "madoguchi.records",
    "madoguchi.issuance",
    "madoguchi.payments",
    "madoguchi.appointments",
    "madoguchi.backoffice",
    "madoguchi.operations",
    "madoguchi.sample",
]

if env_bool("MADOGUCHI_BENCH", False):
    INSTALLED_APPS.append("madoguchi.benchmarks")

MIDDLEWARE = [
    "madoguchi.operations.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "madoguchi.identity.middleware.SessionSecurityMiddleware",
    "madoguchi.core.middleware.NoStoreForPersonalPagesMiddleware",
    "madoguchi.core.middleware.RejectNulCharactersMiddleware",
    "madoguchi.core.middleware.AccessFailureLogMiddleware",
]

ROOT_URLCONF = "madoguchi.urls"
WSGI_APPLICATION = "madoguchi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "madoguchi.core.context_processors.site",
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

CACHES_URL = env_str("CACHE_URL", "")
if CACHES_URL.startswith("redis://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHES_URL,
        }
    }
else:
    # A database cache: shared by every web process, so rate limits hold with several nodes.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "madoguchi_cache",
        }
    }
