from __future__ import annotations

from .env import env_str

# Personal data never goes to logs: request bodies are not logged, and the filter drops
# the request object so that handlers cannot serialise POST data or cookies.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "strip_request": {"()": "madoguchi.core.logging.StripRequestFilter"},
        "drop_debug": {"()": "madoguchi.core.logging.DropDebugRecords"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["strip_request"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Its debug records hold template context, i.e. the answers being shown.
        "django.template": {"level": "INFO", "filters": ["drop_debug"]},
        # Their warnings quote certificate subjects: a resident's name and address in a
        # JPKI signing certificate. Verdicts are reported by esign and issuance instead.
        "pyhanko": {"level": "CRITICAL"},
        "pyhanko_certvalidator": {"level": "CRITICAL"},
        # Every unsupported CSS property of a document template, every font subset.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
