"""Reddit's API as Postwright calls it (platforms-other.md section 8): every call carries the
descriptive User-Agent Reddit requires, every refusal is classified once (HTTP errors and the
HTTP 200 answers whose ``json.errors`` say no), and the ``X-Ratelimit-*`` headers are read so
a spent window holds the next create instead of meeting a 429."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Self

from django.conf import settings
from django.core.cache import cache

from connections import http
from connections.errors import ErrorClass, ProviderError

API = "https://oauth.reddit.com"
MAX_MESSAGE = 500
PROXY_GAVE_UP = frozenset({502, 504})
WAIT = re.compile(r"(\d+)\s*(millisecond|second|minute|hour)", re.IGNORECASE)
UNIT_SECONDS = {"millisecond": 0.001, "second": 1.0, "minute": 60.0, "hour": 3600.0}
# What a json.errors code means, said plainly; Reddit's own words follow.
HINTS = {
    "SUBREDDIT_NOTALLOWED": "Reddit does not let this account post in that subreddit.",
    "SUBREDDIT_NOEXIST": "That subreddit does not exist.",
    "SUBREDDIT_REQUIRED": "Choose the subreddit to post to.",
    "NO_SELFS": "That subreddit takes no text posts.",
    "NO_LINKS": "That subreddit takes no link posts.",
    "SUBMIT_VALIDATION_FLAIR_REQUIRED": "That subreddit requires a flair: choose one.",
    "TOO_LONG": "The post is too long for Reddit.",
    "BAD_URL": "Reddit does not take that link.",
    "ALREADY_SUB": "That link was already posted there.",
    "NO_TEXT": "Reddit needs text here.",
    "USER_REQUIRED": "Reddit no longer knows this account: reconnect it.",
}
AUTH_CODES = frozenset({"USER_REQUIRED"})


def setting(name: str) -> Any:
    """Reddit's settings come from its conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


def reddit_session() -> http.Session:
    """A session through the chokepoint, with Reddit's User-Agent instead of our generic one."""
    session = http.platform_session()
    session.headers["User-Agent"] = str(setting("REDDIT_USER_AGENT"))
    return session


# --- Errors -------------------------------------------------------------------------------------


def _json(response: http.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def classify(response: http.Response, *, create_call: bool = False, forbidden: ErrorClass) -> ProviderError:
    """An HTTP refusal. A 403 means a missing scope or a suspended account on account calls
    (``forbidden`` AUTH), and a private subreddit or a ban on subreddit calls (CONTENT)."""
    status = response.status_code
    data = _json(response)
    words = str(data.get("message") or "").strip()[:MAX_MESSAGE] if isinstance(data, dict) else ""
    words = words or f"Reddit answered HTTP {status}."
    error_code = str(data.get("error") or "") if isinstance(data, dict) else ""

    def error(error_class: ErrorClass, code: str, message: str = words, **extra: Any) -> ProviderError:
        return ProviderError(error_class, message, code=code, status=status, **extra)

    if status == 401:
        return error(ErrorClass.AUTH, "unauthorized")
    if status == 429:
        return error(ErrorClass.RATE, "too_many_requests", retry_after=reset_in(response))
    if status == 403:
        if error_code == "insufficient_scope" or forbidden == ErrorClass.AUTH:
            message = f"{words} Reddit refused this account's token: reconnect the account."
            return error(ErrorClass.AUTH, "forbidden", message)
        message = f"{words} The subreddit may be private or quarantined, or the account banned there."
        return error(ErrorClass.CONTENT, "forbidden", message)
    if status in (400, 404, 409, 413, 422):
        return error(ErrorClass.CONTENT, "not_found" if status == 404 else "invalid_request")
    if status >= 500:
        return error(ErrorClass.TRANSIENT, f"http_{status}", outcome_unknown=create_call and status in PROXY_GAVE_UP)
    if 300 <= status < 400:
        return error(ErrorClass.CONFIG, "redirect", f"Reddit redirected the call (HTTP {status}).")
    return error(ErrorClass.TRANSIENT, f"http_{status}")


def json_errors(answer: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``json.errors`` as (code, message, field) triples; empty when Reddit said yes."""
    inner = answer.get("json")
    errors = inner.get("errors") if isinstance(inner, dict) else None
    found = []
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, list | tuple) and item:
            code, message, field = ([str(bit or "") for bit in item] + ["", ""])[:3]
            found.append((code, message, field))
    return found


def refusal(answer: Mapping[str, Any], errors: Sequence[tuple[str, str, str]]) -> ProviderError:
    """The first of Reddit's HTTP 200 refusals, in its words with what it means."""
    code, message, _field = errors[0]
    words = message.strip()[:MAX_MESSAGE] or code
    if code == "RATELIMIT":
        inner = answer.get("json")
        hinted = inner.get("ratelimit") if isinstance(inner, dict) else None
        wait = float(hinted) if isinstance(hinted, int | float) and not isinstance(hinted, bool) else None
        return ProviderError(ErrorClass.RATE, words, code="RATELIMIT", retry_after=wait or ratelimit_wait(words))
    hint = HINTS.get(code, "")
    text = f"{hint} Reddit says: {words}" if hint else f"Reddit says: {words} ({code})"
    error_class = ErrorClass.AUTH if code in AUTH_CODES else ErrorClass.CONTENT
    return ProviderError(error_class, text, code=code)


def ratelimit_wait(message: str) -> float:
    """Seconds from "Take a break for 5 minutes before trying again." (Reddit's RATELIMIT words)."""
    total = sum(int(amount) * UNIT_SECONDS[unit.lower()] for amount, unit in WAIT.findall(message))
    return max(1.0, total) if total else float(setting("REDDIT_RATELIMIT_WAIT_SECONDS"))


# --- Rate-limit headers and pacing --------------------------------------------------------------


def _header_float(response: http.Response, name: str) -> float | None:
    try:
        return float(response.headers.get(name, "").strip())
    except ValueError:
        return None


def reset_in(response: http.Response) -> float | None:
    """Seconds until the window opens again: ``X-Ratelimit-Reset`` counts them itself."""
    reset = _header_float(response, "X-Ratelimit-Reset")
    if reset is None:
        return http.retry_after_seconds(response)
    return max(1.0, reset)


def window_record(response: http.Response, *, account_id: str) -> None:
    """Remember a spent window until its reset (``X-Ratelimit-Remaining`` is a float: under one
    request left is spent). Shared through Django's cache."""
    remaining = _header_float(response, "X-Ratelimit-Remaining")
    reset = _header_float(response, "X-Ratelimit-Reset")
    if remaining is not None and remaining < 1 and reset is not None and reset > 0:
        cache.set(_window_key(account_id), time.time() + reset, timeout=int(reset) + 1)


def window_hold(account_id: str) -> float | None:
    """Seconds before this account may call again, or None when it may call now."""
    until = cache.get(_window_key(account_id))
    if isinstance(until, int | float) and until > time.time():
        return float(until) - time.time()
    return None


def _window_key(account_id: str) -> str:
    return f"reddit-rate:{account_id}"


# --- The client ---------------------------------------------------------------------------------


class RedditApi:
    """Calls with one user token against oauth.reddit.com; every answer's rate headers are read."""

    def __init__(self, access_token: str, *, account_id: str = "") -> None:
        if not access_token:
            raise ProviderError(ErrorClass.AUTH, "No Reddit access token is stored: reconnect.", code="no_token")
        self.account_id = account_id
        self.session = reddit_session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"

    @classmethod
    def of(cls, secrets: Mapping[str, Any], *, account_id: str = "") -> RedditApi:
        return cls(str(secrets.get("access_token") or ""), account_id=account_id)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def call(
        self, method: str, path: str, *, create_call: bool = False, forbidden: ErrorClass = ErrorClass.CONTENT,
        **kwargs: Any,
    ) -> http.Response:  # fmt: skip
        try:
            response = self.session.request(method, f"{API}{path}", allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        if self.account_id:
            window_record(response, account_id=self.account_id)
        if not 200 <= response.status_code < 300:
            raise classify(response, create_call=create_call, forbidden=forbidden)
        return response

    def json(self, method: str, path: str, *, create_call: bool = False, **kwargs: Any) -> dict[str, Any]:
        """A JSON object answer; Reddit's HTTP 200 refusals (``json.errors``) raise here."""
        data = _json(self.call(method, path, create_call=create_call, **kwargs))
        if not isinstance(data, dict):
            message = "Reddit answered with something that is not a JSON object."
            raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=create_call)
        errors = json_errors(data)
        if errors:
            raise refusal(data, errors)
        return data

    def listing(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """A Listing's children's ``data`` objects (t3 posts, t1 comments, t5 subreddits)."""
        return children(self.json("GET", path, params={"raw_json": 1, **params}))


def children(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    data = answer.get("data")
    items = data.get("children") if isinstance(data, dict) else None
    return [
        item["data"] for item in items if isinstance(item, dict) and isinstance(item.get("data"), dict)
    ] if isinstance(items, list) else []  # fmt: skip


def upload_to_lease(action: str, fields: Sequence[tuple[str, str]], file: tuple[str, Any, str]) -> None:
    """The file goes to the storage URL Reddit's lease names, as a form with every field in the
    order Reddit listed them and the file last; no Reddit token travels there."""
    if not action.startswith("//"):
        message = "Reddit's media lease named an upload address that is not a host."
        raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed")
    try:
        with reddit_session() as session:
            response = session.post(f"https:{action}", data=list(fields), files={"file": file}, allow_redirects=False)
    except http.RequestException as exc:
        raise http.transport_error(exc, create_call=False) from None
    if not 200 <= response.status_code < 300:
        error_class = ErrorClass.TRANSIENT if response.status_code >= 500 else ErrorClass.CONTENT
        message = f"Reddit's media storage refused the upload (HTTP {response.status_code})."
        raise ProviderError(error_class, message, code="upload_refused", status=response.status_code)
