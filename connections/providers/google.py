"""Google's OAuth 2.0 as every Google API provider uses it (see platforms-other.md section 4).

Google hands out a refresh token only with offline access, and again on a later consent only
when the consent page is shown (``prompt=consent``); the endpoints are the same for every API,
only the scopes differ, so each Google provider subclasses this one with its own."""

from typing import ClassVar

from connections.providers.oauth2 import OAuth2Provider


class GoogleOAuth2Provider(OAuth2Provider):
    authorize_url = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url = "https://oauth2.googleapis.com/token"
    extra_authorize_params: ClassVar[dict[str, str]] = {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    }
    supports_pkce = True
    supports_refresh = True
    refresh_margin_s = 10 * 60  # access tokens live an hour
