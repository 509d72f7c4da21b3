"""A generic OAuth 2.0 platform for exercising the connect machinery.

Unit tests mock its endpoints with ``responses``; the integration test points the same class
at a real authorization server (panva's oidc-provider) on loopback.
"""

from typing import ClassVar

from connections.errors import ErrorClass, ProviderError
from connections.http import RequestException
from connections.providers.base import AccountState, AppCredentials, Connection, Profile, TokenSet
from connections.providers.oauth2 import OAuth2Provider

BASE = "https://auth.example.test"


class ExampleOAuthProvider(OAuth2Provider):
    id = "oauth2-test"
    name = "Example OAuth"
    base_url: ClassVar[str] = BASE
    authorize_url = f"{BASE}/authorize"
    token_url = f"{BASE}/token"
    revoke_url = f"{BASE}/revoke"
    userinfo_path: ClassVar[str] = "/me"
    supports_check = True
    supports_refresh = True
    supports_revoke = True
    default_scopes = ("openid", "offline_access", "profile")
    setup_steps = "Set OAUTH2-TEST client credentials."
    extra_authorize_params: ClassVar[dict[str, str]] = {"prompt": "consent"}

    def _get_profile(self, access_token: str) -> dict:
        try:
            response = self.api_session(access_token).get(self.base_url + self.userinfo_path)
        except RequestException as exc:
            raise ProviderError(ErrorClass.TRANSIENT, str(exc)) from None
        if response.status_code == 401:
            raise ProviderError(ErrorClass.AUTH, "invalid token", status=401)
        if response.status_code >= 400:
            raise ProviderError(ErrorClass.TRANSIENT, f"userinfo answered {response.status_code}")
        return response.json()

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        data = self._get_profile(tokens.access_token)
        return Profile(
            external_id=data["sub"], username=data.get("email") or data["sub"], display_name=data.get("name", "")
        )

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        """One account, or (when /me lists ``pages``) every page the login manages, like Meta and
        LinkedIn: a page with a ``token`` acts with it (a Facebook Page token), one without acts
        with the login's own token, and a page naming a ``platform`` is an account there."""
        data = self._get_profile(tokens.access_token)
        pages = data.get("pages")
        if not pages:
            return super().connections_from_tokens(tokens=tokens, instance_url=instance_url)
        return [
            Connection(
                profile=Profile(external_id=page["id"], username=page["name"], display_name=page["name"]),
                secrets=tokens.as_secrets(),
                expires_at=tokens.expires_at,
                account_secrets={"access_token": page["token"]} if page.get("token") else {},
                platform=page.get("platform", ""),
            )
            for page in pages
        ]

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        data = self._get_profile(account.secrets["access_token"])
        return Profile(external_id=data["sub"], username=data.get("email") or data["sub"])


class ExamplePagesProvider(ExampleOAuthProvider):
    """A second platform whose accounts are found through the example login (Instagram through
    Facebook): it never runs a consent of its own."""

    id = "oauth2-test-pages"
    name = "Example Pages"
    supports_refresh = False
