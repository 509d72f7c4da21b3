"""Pinterest API v5 as Postwright calls it: one session per token and every refusal classified
once, from the ``{"code": <int>, "message": "..."}`` bodies of platforms-other.md section 5."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from django.conf import settings

from connections import http
from connections.errors import ErrorClass, ProviderError

MAX_MESSAGE = 500
PROXY_GAVE_UP = frozenset({502, 504})
# Refusals Pinterest lifts by itself: its fetch of our image failed, or its anti-spam block.
FETCH_FAILED = ("could not fetch the image", "unable to reach the url")
SPAM_BLOCK = "combat spam"


def setting(name: str) -> Any:
    """Pinterest's settings come from its conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


def next_bookmark(answer: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    """The next page's bookmark; None on the last page, and when Pinterest hands back the one
    just asked with (asking again would return the same page forever)."""
    bookmark = answer.get("bookmark")
    if not isinstance(bookmark, str) or not bookmark or bookmark == params.get("bookmark"):
        return None
    return bookmark


def pin_url(pin_id: str) -> str:
    return f"https://www.pinterest.com/pin/{pin_id}/"


def pinterest_time(value: Any) -> datetime | None:
    """Pinterest's ``created_at`` ("2026-01-01T12:00:00") is UTC without a zone."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def words_of(data: Any, status: int) -> str:
    message = data.get("message") if isinstance(data, dict) else None
    return str(message).strip()[:MAX_MESSAGE] if message else f"Pinterest answered HTTP {status}."


def classify(response: http.Response, *, create_call: bool = False) -> ProviderError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    words = words_of(data, status)
    lowered = words.lower()

    def error(error_class: ErrorClass, code: str, **extra: Any) -> ProviderError:
        return ProviderError(error_class, words, code=code, status=status, **extra)

    if status == 401:
        return error(ErrorClass.AUTH, "unauthorized")
    if status == 429:
        return error(ErrorClass.RATE, "too_many_requests", retry_after=http.retry_after_seconds(response))
    if SPAM_BLOCK in lowered:
        return error(ErrorClass.RATE, "spam_block", retry_after=float(setting("PINTEREST_SPAM_BLOCK_WAIT_SECONDS")))
    if any(marker in lowered for marker in FETCH_FAILED):
        return error(ErrorClass.TRANSIENT, "fetch_failed")
    if status == 403:
        if "scope" in lowered:
            return error(ErrorClass.AUTH, "missing_scope")
        # Trial apps are refused outside the sandbox: an operator's setting, not the user's doing.
        message = f"{words} (Apps with Trial access must set PINTEREST_API_URL to the sandbox host.)"
        return ProviderError(ErrorClass.CONFIG, message, code="forbidden", status=status)
    if status in (400, 404, 409, 413, 422):
        return error(ErrorClass.CONTENT, "not_found" if status == 404 else "invalid_request")
    if status >= 500:
        return error(ErrorClass.TRANSIENT, f"http_{status}", outcome_unknown=create_call and status in PROXY_GAVE_UP)
    if 300 <= status < 400:
        return ProviderError(ErrorClass.CONFIG, f"Pinterest redirected the call (HTTP {status}).", code="redirect")
    return error(ErrorClass.TRANSIENT, f"http_{status}")


class PinterestApi:
    """Calls with one user token, against the API host the settings name (production or sandbox)."""

    def __init__(self, access_token: str) -> None:
        if not access_token:
            raise ProviderError(ErrorClass.AUTH, "No Pinterest access token is stored: reconnect.", code="no_token")
        self.base = str(setting("PINTEREST_API_URL"))
        self.session = http.platform_session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"

    @classmethod
    def of(cls, secrets: Mapping[str, Any]) -> PinterestApi:
        return cls(str(secrets.get("access_token") or ""))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def call(self, method: str, path: str, *, create_call: bool = False, **kwargs: Any) -> http.Response:
        try:
            response = self.session.request(method, f"{self.base}{path}", allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        if not 200 <= response.status_code < 300:
            raise classify(response, create_call=create_call)
        return response

    def json(self, method: str, path: str, *, create_call: bool = False, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, create_call=create_call, **kwargs)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            message = "Pinterest answered with something that is not a JSON object."
            raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=create_call)
        return data


def upload_to_storage(url: str, fields: Mapping[str, Any], file: tuple[str, Any, str]) -> None:
    """The video's bytes go to the storage URL Pinterest handed out, as a form with every field
    it listed followed by the file; no Pinterest token travels there."""
    try:
        with http.platform_session() as session:
            response = session.post(url, data=dict(fields), files={"file": file}, allow_redirects=False)
    except http.RequestException as exc:
        raise http.transport_error(exc, create_call=False) from None
    if not 200 <= response.status_code < 300:
        error_class = ErrorClass.TRANSIENT if response.status_code >= 500 else ErrorClass.CONTENT
        message = f"Pinterest's media storage refused the video upload (HTTP {response.status_code})."
        raise ProviderError(error_class, message, code="upload_refused", status=response.status_code)
