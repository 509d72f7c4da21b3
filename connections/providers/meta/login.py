"""Facebook Login: one consent yielding the Pages a user manages and the Instagram professional
accounts linked to them (platforms-meta.md sections 2.1 and 3.1).

The user token is exchanged for a long-lived one (about 60 days; Facebook user tokens cannot be
refreshed) and is the consent's secret, shared by every account it yields; each Page's token
(no expiry when taken from a long-lived user token) is that account's own, and an Instagram
account publishes with the token of the Page it is linked to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from connections import http
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import AppCredentials, Connection, Profile, TokenSet
from connections.providers.meta.graph import Graph, classify, graph_url, text_field, token_secrets

PAGE_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts", "pages_manage_engagement")
INSTAGRAM_SCOPES = ("instagram_basic", "instagram_content_publish", "instagram_manage_comments")
OTHER_SCOPES = ("read_insights", "instagram_manage_insights", "business_management", "publish_video")
DEFAULT_SCOPES = PAGE_SCOPES + INSTAGRAM_SCOPES + OTHER_SCOPES
# What publishing cannot do without: a Page account needs these, an Instagram account these too.
PAGE_NEEDS = ("pages_show_list", "pages_manage_posts", "pages_read_engagement")
INSTAGRAM_NEEDS = ("instagram_basic", "instagram_content_publish")
PUBLISHING_TASKS = frozenset({"CREATE_CONTENT", "MANAGE"})
PAGE_FIELDS = (
    "id,name,username,access_token,picture.type(large),tasks,"
    "instagram_business_account{id,username,name,profile_picture_url}"
)
# The long-lived user token's app-scoped key in the consent's secrets, and where the Page's own
# token lives on each account (the account's key wins when the provider reads secrets).
USER_TOKEN = "user_access_token"
USER_PROOF = "user_appsecret_proof"
# Who gave the consent, with which app: what Meta's signed callbacks name (see callbacks.py).
USER_ID = "meta_user_id"
APP_ID = "meta_app_id"
APP_SECRET_CARRIER = "_meta_app_secret"  # handed from exchange_code to connections_from_tokens, never stored


# --- SITE_URL must be reachable by Meta -------------------------------------------------------

Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    try:
        return [str(info[4][0]).split("%")[0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)]
    except (socket.gaierror, UnicodeError):
        return []


def site_url_problem(site_url: str, *, resolve: Resolver = _resolve) -> str:
    """Why Meta could not fetch media from this site ("" when it can). Meta pulls every image and
    video from our signed URLs, so a loopback, private or plain-http SITE_URL would fail every
    post at publish time; it is refused at connect time instead."""
    parts = urlsplit(site_url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host:
        return f"SITE_URL ({site_url}) must be a public https:// address: Meta downloads each post's media from it."
    addresses = _literal(host) or resolve(host)
    if not addresses:
        return f"SITE_URL's host {host} does not resolve, so Meta could not download media from it."
    for address in addresses:
        if not http.is_public_address(ipaddress.ip_address(address)):
            return (
                f"SITE_URL ({site_url}) points to a private or local address ({address}): Meta downloads "
                "each post's media from it, so set SITE_URL to this server's public https:// address."
            )
    return ""


def _literal(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return []


def require_public_site(*, resolve: Resolver | None = None) -> None:
    problem = site_url_problem(settings.SITE_URL, resolve=resolve or _resolve)
    if problem:
        raise ConnectError(f"Meta platforms cannot be connected yet. {problem}")


# --- The dialog and the tokens ----------------------------------------------------------------


def dialog_url(*, app: AppCredentials, redirect_uri: str, state: str, scopes: Iterable[str]) -> str:
    """The consent page. ``auth_type=rerequest`` always: Facebook otherwise never asks again for
    a permission the user once declined, and Reconnect is how a declined one is granted."""
    params = {
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
        "auth_type": "rerequest",
    }
    config_id = getattr(settings, "META_LOGIN_CONFIG_ID", "")
    if config_id:
        params["config_id"] = config_id  # Facebook Login for Business: the configuration names the scopes
    else:
        params["scope"] = ",".join(scopes)
    version = getattr(settings, "META_GRAPH_VERSION", "")
    origin = getattr(settings, "META_DIALOG_URL", "https://www.facebook.com")
    return f"{origin}/{version}/dialog/oauth?{urlencode(params)}"


def long_lived_token(*, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
    """Code -> short-lived token -> long-lived token, with its expiry and data-access expiry."""
    with http.platform_session() as session:
        short = _token_call(
            session,
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "redirect_uri": redirect_uri,
                "code": code,
            },
        )
        long = _token_call(
            session,
            {
                "grant_type": "fb_exchange_token",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "fb_exchange_token": short["access_token"],
            },
        )
    token = str(long["access_token"])
    facts = debug_token(app=app, token=token)
    # The consent stops working at whichever comes first: the token's expiry or data access.
    lapses = [
        moment
        for moment in (facts.expires_at or _in_seconds(long.get("expires_in")), facts.data_access_expires_at)
        if moment is not None
    ]
    return TokenSet(
        access_token=token,
        expires_at=min(lapses, default=None),
        extra={
            APP_SECRET_CARRIER: app.client_secret,
            "data_access_expires_at": _iso(facts.data_access_expires_at),
            # Meta's deauthorize and data-deletion callbacks name the user by this app-scoped id.
            USER_ID: facts.user_id or _own_id(token),
            APP_ID: app.client_id,
        },
    )


def _token_call(session: http.Session, params: dict[str, str]) -> dict[str, Any]:
    try:
        response = session.get(graph_url("oauth/access_token"), params=params, allow_redirects=False)
    except http.RequestException as exc:
        raise http.transport_error(exc, create_call=False) from None
    if response.status_code != 200:
        raise classify(response)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise ProviderError(ErrorClass.TRANSIENT, "Facebook's token answer has no access_token.", code="malformed")
    return data


@dataclass(frozen=True)
class TokenFacts:
    expires_at: datetime | None
    data_access_expires_at: datetime | None
    user_id: str = ""


def debug_token(*, app: AppCredentials, token: str) -> TokenFacts:
    """``expires_at`` (0: never) and ``data_access_expires_at`` (90 days of user inactivity),
    read with the app token; a failure here loses only the warning, not the connection."""
    app_token = f"{app.client_id}|{app.client_secret}"
    with Graph(app_token) as api:
        try:
            data = api.get("debug_token", input_token=token).get("data", {})
        except (ProviderError, AttributeError):
            return TokenFacts(None, None)
    return TokenFacts(
        _epoch(data.get("expires_at")), _epoch(data.get("data_access_expires_at")), text_field(data, "user_id")
    )


def _own_id(token: str) -> str:
    """The user's app-scoped id when debug_token did not say; "" rather than a failed connect."""
    with Graph(token) as api:
        try:
            return text_field(api.get("me", fields="id"), "id")
        except ProviderError:
            return ""


def _in_seconds(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.now(UTC) + timedelta(seconds=seconds) if seconds > 0 else None


def _epoch(value: Any) -> datetime | None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def data_access_lapsed(extra: dict[str, Any] | Any) -> bool:
    value = extra.get("data_access_expires_at") if isinstance(extra, dict) else None
    if not isinstance(value, str) or not value:
        return False
    try:
        return datetime.fromisoformat(value) <= datetime.now(UTC)
    except ValueError:
        return False


DATA_ACCESS_LAPSED = (
    "Facebook's data access for this login lapsed (90 days without the user using the app): reconnect to renew it."
)


# --- What the consent yields -------------------------------------------------------------------


def granted_permissions(api: Graph) -> tuple[set[str], set[str]]:
    """(granted, declined) from /me/permissions."""
    granted: set[str] = set()
    declined: set[str] = set()
    for item in api.pages("me/permissions"):
        name, status = text_field(item, "permission"), text_field(item, "status")
        (granted if status == "granted" else declined).add(name)
    return granted, declined


def missing(needed: Iterable[str], granted: set[str]) -> list[str]:
    return [scope for scope in needed if scope not in granted]


def declined_message(scopes: list[str]) -> str:
    names = ", ".join(scopes)
    return f"the permission {names} was not granted; reconnect and allow it (Facebook will ask again)"


def consent_connections(*, tokens: TokenSet, page_platform: str, instagram_platform: str) -> list[Connection]:
    """Each Page of the login, and each Instagram account linked to one, as connections of one
    consent. Pages the user may not publish on, and accounts whose permissions were declined,
    are listed with the reason instead of left out, so the user sees why they are missing."""
    app_secret = str(tokens.extra.pop(APP_SECRET_CARRIER, ""))
    user = token_secrets(app_secret, tokens.access_token)
    consent = {
        USER_TOKEN: user["access_token"],
        **({USER_PROOF: user["appsecret_proof"]} if "appsecret_proof" in user else {}),
    }
    facts: dict[str, Any] = {
        "data_access_expires_at": tokens.extra.pop("data_access_expires_at", ""),
        USER_ID: tokens.extra.pop(USER_ID, ""),
        APP_ID: tokens.extra.pop(APP_ID, ""),
    }
    with Graph(user["access_token"], user.get("appsecret_proof", "")) as api:
        granted, declined = granted_permissions(api)
        page_missing = missing(PAGE_NEEDS, granted)
        if page_missing:
            raise ProviderError(ErrorClass.AUTH, declined_message(page_missing), code="declined")
        pages = list(api.pages("me/accounts", fields=PAGE_FIELDS, limit=100))
    # Shown on the Accounts page with a "grant it" reconnect (Facebook asks again: rerequest).
    facts["declined_scopes"] = sorted(declined & set(DEFAULT_SCOPES))
    instagram_missing = missing(INSTAGRAM_NEEDS, granted)
    connections: list[Connection] = []
    for page in pages:
        page_connection = _page_connection(page, consent, app_secret, facts, tokens.expires_at)
        if page_connection is None:
            continue
        connections.append(page_connection)
        linked = page.get("instagram_business_account")
        if isinstance(linked, dict) and text_field(linked, "id"):
            why = page_connection.unavailable or (declined_message(instagram_missing) if instagram_missing else "")
            connections.append(_instagram_connection(linked, page_connection, instagram_platform, why))
    for connection in connections:
        if not connection.platform:
            connection.platform = page_platform
    return connections


def _page_connection(
    page: dict[str, Any], consent: dict[str, str], app_secret: str, facts: dict[str, Any], expires_at: datetime | None
) -> Connection | None:
    page_id, token = text_field(page, "id"), text_field(page, "access_token")
    if not page_id:
        return None
    tasks = (
        [task for task in page.get("tasks", []) if isinstance(task, str)] if isinstance(page.get("tasks"), list) else []
    )
    unavailable = "" if PUBLISHING_TASKS & set(tasks) else "your role on this Page does not allow creating content"
    if not token and not unavailable:
        unavailable = "Facebook did not hand over this Page's token"
    name = text_field(page, "name") or page_id
    picture = page.get("picture", {}).get("data", {}) if isinstance(page.get("picture"), dict) else {}
    return Connection(
        profile=Profile(
            external_id=page_id,
            username=text_field(page, "username") or name,
            display_name=name,
            avatar_url=text_field(picture, "url"),
            profile_url=f"https://www.facebook.com/{page_id}",
        ),
        secrets=dict(consent),
        expires_at=expires_at,
        account_secrets=token_secrets(app_secret, token) if token else {},
        extra={"tasks": tasks, "page_id": page_id, **facts},
        unavailable=unavailable,
    )


def _instagram_connection(linked: dict[str, Any], page: Connection, platform: str, unavailable: str) -> Connection:
    username = text_field(linked, "username")
    return Connection(
        profile=Profile(
            external_id=text_field(linked, "id"),
            username=f"@{username}" if username else text_field(linked, "id"),
            display_name=text_field(linked, "name") or username,
            avatar_url=text_field(linked, "profile_picture_url"),
            profile_url=f"https://www.instagram.com/{username}/" if username else "",
        ),
        secrets=dict(page.secrets),
        expires_at=page.expires_at,
        # Under Facebook Login, Instagram publishes with the linked Page's token.
        account_secrets=dict(page.account_secrets),
        extra={
            "page_id": page.profile.external_id,
            "page_name": page.profile.display_name,
            "data_access_expires_at": page.extra.get("data_access_expires_at", ""),
            "declined_scopes": page.extra.get("declined_scopes", []),
            USER_ID: page.extra.get(USER_ID, ""),
            APP_ID: page.extra.get(APP_ID, ""),
        },
        platform=platform,
        unavailable=unavailable,
    )
