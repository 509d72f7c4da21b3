"""X API v2 as Postwright calls it: one session per token, problem+json errors classified once
(platforms-other.md section 1, "Errors"), and the ``x-rate-limit-*`` headers remembered so a
user whose 15-minute window (or the app whose 24-hour cap) is spent waits before the next create
instead of meeting a 429."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Self

from django.conf import settings
from django.core.cache import cache

from connections import http
from connections.errors import ErrorClass, ProviderError

API = "https://api.x.com"
MAX_MESSAGE = 500
PROXY_GAVE_UP = frozenset({502, 504})
DUPLICATE = "duplicate content"
CONFIG_MARKERS = ("unsupported authentication", "client-not-enrolled")
APP_BUDGET = "app"


def setting(name: str) -> Any:
    """X's settings come from its conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


# --- Errors -------------------------------------------------------------------------------------


def problem_words(data: Any) -> str:
    """X's own words from a problem+json body: the detail, and each parameter error's message."""
    if not isinstance(data, dict):
        return ""
    words = [str(data.get("detail") or data.get("title") or "").strip()]
    errors = data.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and error.get("message"):
            words.append(str(error["message"]).strip())
    return " ".join(word for word in words if word)[:MAX_MESSAGE]


def classify(response: http.Response, *, create_call: bool = False, media_call: bool = False) -> ProviderError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    words = problem_words(data) or f"X answered HTTP {status}."
    kind = str(data.get("type") or "") if isinstance(data, dict) else ""
    title = str(data.get("title") or "") if isinstance(data, dict) else ""
    lowered = f"{words} {title} {kind}".lower()

    def error(error_class: ErrorClass, code: str, **extra: Any) -> ProviderError:
        return ProviderError(error_class, words, code=code, status=status, **extra)

    if status == 401:
        return error(ErrorClass.AUTH, "unauthorized")
    if status == 429:
        if kind.endswith("/usage-capped"):
            return error(ErrorClass.RATE, "usage_capped", retry_after=float(setting("X_USAGE_CAP_WAIT_SECONDS")))
        return error(ErrorClass.RATE, "too_many_requests", retry_after=reset_in(response))
    if status == 403:
        if DUPLICATE in lowered:
            return error(ErrorClass.CONTENT, "duplicate")
        if any(marker in lowered for marker in CONFIG_MARKERS):
            return error(ErrorClass.CONFIG, "unsupported_authentication")
        if media_call:
            # A token issued without media.write is refused here; only a new consent adds it.
            message = f"{words} X refused the media upload: reconnect the account and allow media upload."
            return ProviderError(ErrorClass.AUTH, message, code="media_write_missing", status=status)
        return error(ErrorClass.CONTENT, "forbidden")
    if status in (400, 404, 409, 413, 422):
        return error(ErrorClass.CONTENT, "invalid_request")
    if status >= 500:
        return error(ErrorClass.TRANSIENT, f"http_{status}", outcome_unknown=create_call and status in PROXY_GAVE_UP)
    if 300 <= status < 400:
        return ProviderError(ErrorClass.CONFIG, f"X redirected the call (HTTP {status}).", code="redirect")
    return error(ErrorClass.TRANSIENT, f"http_{status}")


# --- Rate-limit headers and pacing --------------------------------------------------------------


def _header_int(response: http.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def reset_in(response: http.Response) -> float | None:
    """Seconds until the window named by ``x-rate-limit-reset`` (epoch seconds) opens again."""
    reset = _header_int(response, "x-rate-limit-reset")
    if reset is None:
        return http.retry_after_seconds(response)
    return max(1.0, reset - time.time())


def windows_record(response: http.Response, *, user_id: str, creating: bool = True) -> None:
    """Remember a spent window until its reset: the user's 15-minute one and the app's 24-hour
    cap. Shared by every worker through Django's cache (Redis, or files on one machine: `CACHE_URL`).

    The 15-minute ``x-rate-limit-*`` window is the called endpoint's own, so only a create's
    answer says whether the next create may go: a spent window on reading the user's posts (an
    import, a look-up) must not hold publishing. The 24-hour caps are the user's and the app's."""
    spent = (
        *(((f"user:{user_id}", "x-rate-limit-remaining", "x-rate-limit-reset"),) if creating else ()),
        (f"user24:{user_id}", "x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
        (APP_BUDGET, "x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
    )
    now = time.time()
    for budget, remaining_header, reset_header in spent:
        remaining, reset = _header_int(response, remaining_header), _header_int(response, reset_header)
        if remaining == 0 and reset is not None and reset > now:
            cache.set(_cache_key(budget), reset, timeout=int(reset - now) + 1)


def windows_hold(user_id: str) -> float | None:
    """Seconds before this user may create again, or None when a create may go now."""
    now = time.time()
    waits = [
        float(reset) - now
        for budget in (f"user:{user_id}", f"user24:{user_id}", APP_BUDGET)
        if isinstance(reset := cache.get(_cache_key(budget)), int | float) and reset > now
    ]
    return max(waits, default=None)


def _cache_key(budget: str) -> str:
    return f"x-rate:{budget}"


# --- The client ---------------------------------------------------------------------------------


class XApi:
    """Calls with one user token; every answer's rate-limit headers are read."""

    def __init__(self, access_token: str, *, user_id: str = "") -> None:
        if not access_token:
            raise ProviderError(ErrorClass.AUTH, "No X access token is stored: reconnect.", code="no_token")
        self.user_id = user_id
        self.session = http.platform_session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"

    @classmethod
    def of(cls, secrets: Mapping[str, Any], *, user_id: str = "") -> XApi:
        return cls(str(secrets.get("access_token") or ""), user_id=user_id)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def call(
        self, method: str, path: str, *, create_call: bool = False, media_call: bool = False, **kwargs: Any
    ) -> http.Response:
        try:
            response = self.session.request(method, f"{API}{path}", allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        if self.user_id:
            windows_record(response, user_id=self.user_id, creating=create_call)
        if not 200 <= response.status_code < 300:
            raise classify(response, create_call=create_call, media_call=media_call)
        return response

    def json(self, method: str, path: str, *, create_call: bool = False, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, create_call=create_call, **kwargs)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            message = "X answered with something that is not a JSON object."
            raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=create_call)
        return data


def data_of(answer: Mapping[str, Any], *, what: str, create_call: bool = False) -> dict[str, Any]:
    """The ``data`` object of an answer, with a string id (X ids do not fit a double)."""
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        message = f"X's answer to {what} has no data.id."
        raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=create_call)
    return data
