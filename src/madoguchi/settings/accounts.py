from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from madoguchi.identity.oidc_config import from_environment

from .core import DEBUG
from .env import env_bool, env_int, env_str

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "counter:my_applications"
LOGOUT_REDIRECT_URL = "core:home"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_ADAPTER = "madoguchi.identity.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[madoguchi] "
# Changing the password, the address or a second factor is told to the address on file.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Throttling against guessing that never locks the real person out for long:
# failures count per IP and per account, and expire after the window.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",  # a rate limit, not a password  # nosec B105
    "confirm_email": "1/3m/key",
    "reauthenticate": "10/m/user",
    # Successful log-ins per IP (allauth's default). Only a load test that sends every
    # resident from one loopback address raises it (bench/spike.py); see
    # docs/configuration.md.
    "login": env_str("MADOGUCHI_LOGIN_RATE_LIMIT", "30/m/ip"),
}

# Re-authentication before sensitive actions (seconds since the person last proved it).
MADOGUCHI_REAUTH_MAX_AGE = env_int("MADOGUCHI_REAUTH_MAX_AGE", 300)
ACCOUNT_REAUTHENTICATION_TIMEOUT = MADOGUCHI_REAUTH_MAX_AGE

# Second factors: TOTP, passkeys (WebAuthn) and recovery codes. Mandatory for staff.
MFA_ADAPTER = "madoguchi.identity.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_FORMS = {"add_webauthn": "madoguchi.identity.mfa_forms.AddPasskeyForm"}
MFA_TOTP_ISSUER = "madoguchi"
# One period either side, for phones whose clock is a little off.
MFA_TOTP_TOLERANCE = 1
# WebAuthn needs HTTPS, except on a developer's own machine (`make run` on loopback).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env_bool("MADOGUCHI_WEBAUTHN_INSECURE_ORIGIN", DEBUG)

# Sessions of an account are rows (database sessions), so that a person can see them and
# end the others from any web node.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
USERSESSIONS_TRACK_ACTIVITY = False

MADOGUCHI_STAFF_MFA_REQUIRED = env_bool("MADOGUCHI_STAFF_MFA_REQUIRED", True)
if not DEBUG and not MADOGUCHI_STAFF_MFA_REQUIRED:
    # Only for development: a production staff side without a second factor is refused.
    raise ImproperlyConfigured(
        "MADOGUCHI_STAFF_MFA_REQUIRED=0 is allowed only with DEBUG on: staff must use a "
        "second factor (docs/configuration.md)."
    )
# Minutes without a request after which a session ends; staff sessions end sooner.
MADOGUCHI_STAFF_IDLE_MINUTES = env_int("MADOGUCHI_STAFF_IDLE_MINUTES", 30)
MADOGUCHI_RESIDENT_IDLE_MINUTES = env_int("MADOGUCHI_RESIDENT_IDLE_MINUTES", 120)

# OpenID Connect providers (My Number Card through the Digital Agency's app, a staff
# directory, any other IdP): MADOGUCHI_OIDC_PROVIDERS and MADOGUCHI_OIDC_<NAME>_*.
MADOGUCHI_OIDC_PROVIDERS = from_environment()
