"""Token endpoints of Meta's separate logins (Threads, Instagram Login): code exchange,
long-lived exchange and refresh all answer ``{"access_token", "expires_in", ...}``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from connections import http
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import Connection, Profile, TokenSet
from connections.providers.meta import login
from connections.providers.meta.graph import classify, meta_error


def token_call(method: str, url: str, *, what: str = "Meta", **kwargs: Any) -> dict[str, Any]:
    """A token endpoint's answer (Threads' and Instagram Login's live outside the versioned Graph):
    Meta's error object classified as everywhere, or Instagram's own ``error_message`` shape."""
    with http.platform_session() as session:
        try:
            response = session.request(method, url, allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=False) from None
    if response.status_code != 200:
        raise _token_error(response, what)
    try:
        data = _unwrapped(response.json())
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise ProviderError(ErrorClass.TRANSIENT, f"{what}'s token answer has no access_token.", code="malformed")
    return data


def token_set(data: Mapping[str, Any]) -> TokenSet:
    seconds = data.get("expires_in")
    expires = (
        datetime.now(UTC) + timedelta(seconds=seconds)
        if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds > 0
        else None
    )
    return TokenSet(access_token=str(data["access_token"]), expires_at=expires)


def login_connection(tokens: TokenSet, profile: Profile) -> Connection:
    """The one account of a direct login (Threads, Instagram Login), carrying the app-scoped user
    id Meta's callbacks name (from the token exchange, else the profile's id) and the app's id."""
    facts = {key: tokens.extra.pop(key, "") for key in (login.USER_ID, login.APP_ID)}
    facts[login.USER_ID] = facts[login.USER_ID] or profile.external_id
    return Connection(profile=profile, secrets={"access_token": tokens.access_token},
                      expires_at=tokens.expires_at, extra=facts, scope=tokens.scope)  # fmt: skip


def _token_error(response: http.Response, what: str) -> ProviderError:
    """The Instagram Login code exchange answers ``{"error_type", "code", "error_message"}``
    (platforms-meta.md 1.1), not Meta's error object: a used or unknown code, a bad secret."""
    if meta_error(response) is None and response.status_code == 400:
        try:
            data = response.json()
        except ValueError:
            data = None
        words = data.get("error_message") if isinstance(data, dict) else None
        if isinstance(words, str) and words.strip():
            return ProviderError(ErrorClass.AUTH, f"{what}: {words.strip()[:300]}", code="token_refused", status=400)
    return classify(response)


def _unwrapped(data: Any) -> Any:
    """Instagram Login's docs wrap the code exchange as ``{"data": [{...}]}``; production clients
    receive it flat (platforms-meta.md section 4): both are read."""
    items = data.get("data") if isinstance(data, dict) and "access_token" not in data else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return data
