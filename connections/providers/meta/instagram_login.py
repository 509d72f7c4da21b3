"""Instagram API with Instagram Login (platforms-meta.md section 4): a professional account
connected on its own, no Facebook Page needed.

Its own app (the Instagram app id and secret) and consent on instagram.com; the short-lived
token is exchanged for a long-lived one (60 days), refreshed well before it lapses. Publishing,
comments, lookups and insights are Instagram's through Facebook Login (``instagram``), on
graph.instagram.com with the ``instagram_business_*`` scopes: the same containers, status
polls, quota reads and ``media_publish``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from connections.providers.base import AccountState, AppCredentials, Connection, Profile, TokenSet
from connections.providers.meta import login
from connections.providers.meta.graph import Graph, required_id, text_field
from connections.providers.meta.instagram import InstagramProvider
from connections.providers.meta.shared import setting
from connections.providers.meta.tokens import login_connection, token_call, token_set

SCOPES = (
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_comments",
    "instagram_business_manage_insights",
)
PROFILE_FIELDS = "user_id,username,name,profile_picture_url"


class InstagramLoginProvider(InstagramProvider):
    id = "instagram_login"
    name = "Instagram (direct)"  # "direct": its own login, no Facebook Page
    connected_through = ""
    signed_callbacks = True  # Meta signs this app's callbacks with the Instagram app secret
    supports_refresh = True
    # Refreshed 10 days before the 60 days lapse (a token must be a day old to be refreshed).
    refresh_margin_s = 10 * 24 * 3600
    default_scopes = SCOPES
    setup_steps = (
        "Add Instagram's API with Instagram Login to a Meta app, set INSTAGRAM_LOGIN_CLIENT_ID and "
        "INSTAGRAM_LOGIN_CLIENT_SECRET to its Instagram app id and secret, and add "
        "SITE_URL/connections/callback/instagram_login/ as a redirect URI."
    )
    connect_intro = "Log in with an Instagram professional account (business or creator); no Facebook Page is needed."

    def graph_origin(self) -> str:
        return _graph()

    # --- Connect ---------------------------------------------------------------------------------

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        login.require_public_site()  # Meta pulls every image and video from our URLs
        params = {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": ",".join(app.scopes or self.default_scopes),
            "state": state,
            "enable_fb_login": "0",
        }
        return f"{setting('META_INSTAGRAM_AUTHORIZE_URL')}?{urlencode(params)}"

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        """Code (used once, within the hour; the redirect may append ``#_``) -> short-lived
        token -> long-lived token (60 days)."""
        short = token_call(
            "POST",
            str(setting("META_INSTAGRAM_TOKEN_URL")),
            what="Instagram",
            data={
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code": code.removesuffix("#_"),
            },
        )
        long = token_call(
            "GET",
            f"{_graph()}/access_token",
            what="Instagram",
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": app.client_secret,
                "access_token": short["access_token"],
            },
        )
        tokens = token_set(long)
        tokens.scope = _permissions(short.get("permissions"))
        # The id the token exchange names: the one Meta's callbacks for this app carry [?].
        tokens.extra = {login.USER_ID: text_field(short, "user_id"), login.APP_ID: app.client_id}
        return tokens

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        return [login_connection(tokens, self.fetch_profile(tokens=tokens))]

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with Graph(tokens.access_token, origin=_graph()) as api:
            return _profile(api.get("me", fields=PROFILE_FIELDS))

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        with self.api(account) as api:
            return _profile(api.get("me", fields=PROFILE_FIELDS))

    def refresh(self, *, app: AppCredentials | None, account: AccountState) -> TokenSet:
        """Another 60 days for a long-lived token at least a day old and not yet expired."""
        renewed = token_call(
            "GET",
            f"{_graph()}/refresh_access_token",
            what="Instagram",
            params={"grant_type": "ig_refresh_token", "access_token": str(account.secrets.get("access_token") or "")},
        )
        return token_set(renewed)


def _graph() -> str:
    return str(setting("META_INSTAGRAM_GRAPH_URL"))


def _profile(me: Any) -> Profile:
    """``user_id`` is the professional account's id, the one publishing uses; ``id`` is app-scoped."""
    username = text_field(me, "username")
    account_id = text_field(me, "user_id") or required_id(me, what="/me")
    return Profile(
        external_id=account_id,
        username=f"@{username}" if username else account_id,
        display_name=text_field(me, "name") or username,
        avatar_url=text_field(me, "profile_picture_url"),
        profile_url=f"https://www.instagram.com/{username}/" if username else "",
    )


def _permissions(value: Any) -> str:
    """A comma-separated string or a list [?]: kept space-separated like every grant's scope."""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return " ".join(part.strip() for part in value.split(",")) if isinstance(value, str) else ""
