from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .core import PACKAGE_DIR

# Japanese first: message ids in the code are Japanese, so the site is complete even
# when no translation catalogue has been compiled; English comes from locale/en.
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "madoguchi_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
