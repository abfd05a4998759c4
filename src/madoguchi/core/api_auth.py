from __future__ import annotations

from ninja.security import HttpBearer, SessionAuth

from madoguchi.identity.services import authenticate_api_token


class TokenAuth(HttpBearer):
    """`Authorization: Bearer mdg_…` with a token created for the account."""

    def authenticate(self, request, token: str):
        user = authenticate_api_token(token)
        if user is not None:
            request.user = user
            # A token proves possession of the account's credential, nothing more.
            request.api_identity_level = "account"
        return user


class BrowserSession(SessionAuth):
    """The browser's session (with its CSRF token), at the session's identity level."""

    def _get_key(self, request):
        # The CSRF check protects a logged-in session. Without one the request is simply
        # unauthenticated: 401, not a misleading "CSRF check failed" 403 (which a client
        # with no cookies, or with a wrong or revoked token, would otherwise get).
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            from madoguchi.identity.levels import session_level

            request.api_identity_level = session_level(request)
        return user


API_AUTH = [TokenAuth(), BrowserSession()]
