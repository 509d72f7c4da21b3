"""The Business Profile APIs as Postwright calls them: four hosts, one token, and every refusal
classified once from Google's error object
``{"error": {"code", "message", "status", "details": [...]}}`` (platforms-google-snap.md 1.5)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Self

from django.conf import settings

from connections import http
from connections.errors import ErrorClass, ProviderError

ACCOUNTS = "https://mybusinessaccountmanagement.googleapis.com/v1"
INFORMATION = "https://mybusinessbusinessinformation.googleapis.com/v1"
POSTS = "https://mybusiness.googleapis.com/v4"
PERFORMANCE = "https://businessprofileperformance.googleapis.com/v1"
APPLY_URL = "https://developers.google.com/my-business/content/prereqs"
MAX_MESSAGE = 500
PROXY_GAVE_UP = frozenset({502, 504})
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured", "API_DISABLED"})
CONTENT_STATUSES = frozenset({"INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "ALREADY_EXISTS", "NOT_FOUND"})
DELAY = re.compile(r"(\d+(?:\.\d+)?)s")


def setting(name: str) -> Any:
    """These settings come from the package's conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


def _error_object(response: http.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _details(error: Mapping[str, Any]) -> list[dict[str, Any]]:
    details = error.get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _field_problems(details: list[dict[str, Any]]) -> list[str]:
    """Per-field words: the standard BadRequest's fieldViolations and v4's ValidationError
    errorDetails (the latter's shape unconfirmed), as "field: message"."""
    found = []
    for detail in details:
        for item in [*(detail.get("fieldViolations") or []), *(detail.get("errorDetails") or [])]:
            if isinstance(item, dict) and item.get("description" if "description" in item else "message"):
                words = item.get("description") or item.get("message")
                found.append(f"{item['field']}: {words}" if item.get("field") else str(words))
    return found


def _retry_delay(details: list[dict[str, Any]]) -> float | None:
    for detail in details:
        if detail.get("@type") == RETRY_INFO:
            matched = DELAY.fullmatch(str(detail.get("retryDelay") or ""))
            if matched:
                return max(1.0, float(matched.group(1)))
    return None


def _error_info(details: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    for detail in details:
        if detail.get("@type") == ERROR_INFO:
            metadata = detail.get("metadata")
            return str(detail.get("reason") or ""), metadata if isinstance(metadata, dict) else {}
    return "", {}


def not_granted_message(service: str) -> str:
    return (
        f"Google has not granted this Cloud project access to the Business Profile APIs yet (its quota for "
        f"{service or 'them'} is 0). Submit the Application for Basic API Access (linked from {APPLY_URL}); "
        "do not ask for a quota increase. Posting works once Google approves the application."
    )


def classify(response: http.Response, *, create_call: bool = False) -> ProviderError:
    status = response.status_code
    error = _error_object(response)
    details = _details(error)
    google_status = str(error.get("status") or "")
    words = str(error.get("message") or "").strip()[:MAX_MESSAGE] or f"Google answered HTTP {status}."
    fields = _field_problems(details)
    if fields:
        words = f"{words} ({'; '.join(fields)})"[:MAX_MESSAGE]
    reason, metadata = _error_info(details)

    def failure(error_class: ErrorClass, code: str, message: str = words, **extra: Any) -> ProviderError:
        return ProviderError(error_class, message, code=code, status=status, **extra)

    if str(metadata.get("quota_limit_value", "")) == "0":
        # A new project's quota is 0 until Google approves its application: no wait fixes it.
        message = not_granted_message(str(metadata.get("service") or ""))
        return failure(ErrorClass.CONFIG, "api_access_not_granted", message)
    if reason in DISABLED_REASONS:
        service = str(metadata.get("service") or "the API")
        message = f"Enable {service} in the Google Cloud project (APIs & Services → Library). Google said: {words}"
        return failure(ErrorClass.CONFIG, "api_disabled", message[:MAX_MESSAGE])
    if status == 401 or google_status == "UNAUTHENTICATED":
        return failure(ErrorClass.AUTH, "unauthenticated")
    if status == 429 or google_status == "RESOURCE_EXHAUSTED":
        wait = http.retry_after_seconds(response) or _retry_delay(details)
        return failure(ErrorClass.RATE, "resource_exhausted",
                       retry_after=wait or float(setting("GOOGLE_BUSINESS_RATE_WAIT_SECONDS")))  # fmt: skip
    if status == 403 or google_status == "PERMISSION_DENIED":
        # The user no longer manages the location (or the consent lacks business.manage).
        return failure(ErrorClass.AUTH, "permission_denied")
    if google_status in CONTENT_STATUSES or status in (400, 404, 409, 422):
        return failure(ErrorClass.CONTENT, google_status.lower() or f"http_{status}")
    if status >= 500:
        return failure(ErrorClass.TRANSIENT, google_status.lower() or f"http_{status}",
                       outcome_unknown=create_call and status in PROXY_GAVE_UP)  # fmt: skip
    if 300 <= status < 400:
        return failure(ErrorClass.CONFIG, "redirect", f"Google redirected the call (HTTP {status}).")
    return failure(ErrorClass.TRANSIENT, google_status.lower() or f"http_{status}")


class BusinessApi:
    """Calls with one user token to any of the four hosts (full URLs are given)."""

    def __init__(self, access_token: str) -> None:
        if not access_token:
            raise ProviderError(ErrorClass.AUTH, "No Google session is stored: reconnect.", code="no_token")
        self.session = http.platform_session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"

    @classmethod
    def of(cls, secrets: Mapping[str, Any]) -> BusinessApi:
        return cls(str(secrets.get("access_token") or ""))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def call(self, method: str, url: str, *, create_call: bool = False, **kwargs: Any) -> http.Response:
        try:
            response = self.session.request(method, url, allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        if not 200 <= response.status_code < 300:
            raise classify(response, create_call=create_call)
        return response

    def json(self, method: str, url: str, *, create_call: bool = False, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, url, create_call=create_call, **kwargs)
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            message = "Google answered with something that is not a JSON object."
            raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=create_call)
        return data

    def pages(self, url: str, key: str, params: Mapping[str, Any], *, limit: int = 50) -> Iterator[dict[str, Any]]:
        """Every item of a listing that pages with ``pageToken`` / ``nextPageToken``; at most
        ``limit`` pages, so a listing that never ends cannot hold a worker."""
        query = dict(params)
        for _page in range(limit):
            data = self.json("GET", url, params=query)
            items = data.get(key)
            yield from (item for item in items if isinstance(item, dict)) if isinstance(items, list) else ()
            token = data.get("nextPageToken")
            if not isinstance(token, str) or not token:
                return
            query = {**dict(params), "pageToken": token}
