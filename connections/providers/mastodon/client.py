"""HTTP to one Mastodon server through Postwright's shared session, every failure classified here.

Mastodon answers errors as ``{"error": "..."}`` (OAuth endpoints add ``error_description``);
the words are kept for the user. Its rate-limit reset is an ISO 8601 timestamp, not seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urlsplit

from django.utils import timezone

from connections import http
from connections.errors import ErrorClass, ProviderError

# 403s about the login or the token, not the request: only the user can fix them (reconnect,
# confirm the e-mail, wait for approval), so they are AUTH, not CONTENT.
AUTH_FORBIDDEN = ("outside the authorized scopes", "your login is", "suspended")
STILL_PROCESSING = "not finished processing"  # 422 on a status whose media is not ready yet
NO_USER = "requires an authenticated user"  # 422 for a token that belongs to no user
# A proxy that gave up (bad gateway, gateway timeout) may have let the request through.
PROXY_GAVE_UP = frozenset({502, 504})
MAX_MESSAGE = 300

Classifier = Callable[[http.Response], ProviderError]


def base_url(instance_url: str) -> str:
    """``https://host[:port]`` of a server address; CONFIG when none is stored."""
    parts = urlsplit((instance_url or "").strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        message = "No Mastodon server address is known for this account."
        raise ProviderError(ErrorClass.CONFIG, message, code="no_server")
    return f"{parts.scheme}://{parts.netloc}".lower()


def host_of(instance_url: str) -> str:
    return urlsplit(base_url(instance_url)).netloc


class MastodonClient:
    """One server, one session (anonymous or with the account's bearer token)."""

    def __init__(self, instance_url: str, session: http.Session) -> None:
        self.base = base_url(instance_url)
        self.host = urlsplit(self.base).netloc
        self.session = session

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        create_call: bool = False,
        classifier: Classifier | None = None,
        **kwargs: Any,
    ) -> http.Response:
        try:
            # Never follow redirects: a server must not bounce our token or a POST to another host.
            response = self.session.request(method, self.base + path, allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        if response.status_code not in ok:
            raise classifier(response) if classifier else classify(response, create_call=create_call)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        try:
            return decode(response, self.host)
        except ProviderError as exc:
            # A 200 we cannot read after a create call still means the post may exist.
            raise replace(exc, outcome_unknown=bool(kwargs.get("create_call"))) from None


def decode(response: http.Response, host: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderError(
            ErrorClass.TRANSIENT,
            f"{host} did not answer like a Mastodon server (HTTP {response.status_code}, not JSON).",
            code="malformed",
            status=response.status_code,
        ) from None


def error_message(response: http.Response) -> str:
    """The server's own words, or the HTTP status when the body is not Mastodon's error JSON."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error_description", "error"):
            words = data.get(key)
            if isinstance(words, str) and words.strip():
                return words.strip()[:MAX_MESSAGE]
    return f"HTTP {response.status_code} {response.reason or ''}".strip()


def classify(response: http.Response, *, create_call: bool = False) -> ProviderError:
    """The reference table (platforms-other.md section 7) as code."""
    status = response.status_code
    message = error_message(response)
    lowered = message.lower()

    def error(error_class: ErrorClass, code: str, **extra: Any) -> ProviderError:
        return ProviderError(error_class, message, code=code, status=status, **extra)

    if status == 401:
        return error(ErrorClass.AUTH, "unauthorized")
    if status == 403:
        auth = any(marker in lowered for marker in AUTH_FORBIDDEN)
        return error(ErrorClass.AUTH, "forbidden") if auth else error(ErrorClass.CONTENT, "not_allowed")
    if status == 404:
        return error(ErrorClass.CONTENT, "not_found")
    if status == 422:
        if STILL_PROCESSING in lowered:
            return error(ErrorClass.TRANSIENT, "media_processing")
        if NO_USER in lowered:
            return error(ErrorClass.AUTH, "no_user")
        return error(ErrorClass.CONTENT, "validation")
    if status == 429:
        return error(ErrorClass.RATE, "rate_limited", retry_after=rate_limit_wait(response))
    if status >= 500:
        unknown = create_call and status in PROXY_GAVE_UP
        wait = http.retry_after_seconds(response)
        return error(ErrorClass.TRANSIENT, f"http_{status}", retry_after=wait, outcome_unknown=unknown)
    if 300 <= status < 400:
        return error(ErrorClass.CONFIG, "redirect")
    if status == 400:
        return error(ErrorClass.CONFIG, "bad_request")  # a parameter we sent is missing or wrong: our bug
    return error(ErrorClass.CONTENT, f"http_{status}")


def classify_registration(response: http.Response) -> ProviderError:
    """POST /api/v1/apps is the first call to a server a user typed in: say what went wrong."""
    status = response.status_code
    host = urlsplit(response.url or "").netloc or "The server"
    if status >= 500:
        message = f"{host} is having trouble (HTTP {status}); try again in a few minutes."
        return ProviderError(ErrorClass.TRANSIENT, message, code=f"http_{status}", status=status)
    if status == 429:
        message, wait = error_message(response), rate_limit_wait(response)
        return ProviderError(ErrorClass.RATE, message, code="rate_limited", status=status, retry_after=wait)
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("Location", "")).hostname
        where = f"to {target}: connect with that address instead" if target else "elsewhere"
        return ProviderError(ErrorClass.CONFIG, f"{host} redirects {where}.", code="redirect", status=status)
    try:
        response.json()
    except ValueError:
        message = f"{host} did not answer like a Mastodon server (HTTP {status}, not JSON). Check the address."
        return ProviderError(ErrorClass.TRANSIENT, message, code="malformed", status=status)
    return ProviderError(ErrorClass.CONFIG, error_message(response), code="registration_refused", status=status)


def rate_limit_wait(response: http.Response) -> float | None:
    """Seconds until the limit resets. Retry-After, when a proxy sends one, is relative and so
    immune to clock skew; otherwise Mastodon's ``X-RateLimit-Reset`` (ISO 8601)."""
    wait = http.retry_after_seconds(response)
    if wait is not None:
        return wait
    reset = parse_reset(response.headers.get("X-RateLimit-Reset", ""))
    if reset is None:
        return None
    return max(0.0, (reset - timezone.now()).total_seconds())


def parse_reset(value: str) -> datetime | None:
    """Mastodon sends ``2026-01-01T12:05:00.000000Z``; some proxies send epoch seconds or Ruby's
    ``2026-01-01 12:05:00 UTC``."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value), tz=UTC)
    try:
        moment = datetime.fromisoformat(value.replace(" UTC", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
