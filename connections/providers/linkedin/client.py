"""LinkedIn's REST API as Postwright calls it: the version header from ``LINKEDIN_VERSION`` and
Rest.li protocol 2.0.0 on every ``/rest`` call, errors classified once from LinkedIn's error
object (platforms-other.md section 2, "Errors")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Self
from urllib.parse import quote, urlsplit

from django.conf import settings

from connections import http
from connections.errors import ErrorClass, ProviderError

UPLOAD_HOSTS = frozenset({"www.linkedin.com", "api.linkedin.com"})
MAX_MESSAGE = 500
PROXY_GAVE_UP = frozenset({502, 504})
# LinkedIn reports REVOKED_ACCESS_TOKEN now and then right after a consent: within this long of
# it, the call is retried shortly instead of asking for a reconnect.
FRESH_CONSENT_S = 120
FRESH_RETRY_S = 5.0


def setting(name: str) -> Any:
    """LinkedIn's settings come from its conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


def api_url() -> str:
    """Where LinkedIn's API answers (``LINKEDIN_API_URL``)."""
    return str(setting("LINKEDIN_API_URL"))


def userinfo_url() -> str:
    return f"{api_url()}/v2/userinfo"


def _upload_allowed(url: str) -> bool:
    """LinkedIn's own hosts over https, or the configured API's own origin (a fake in tests)."""
    parts, api = urlsplit(url), urlsplit(api_url())
    if parts.scheme == "https" and parts.hostname in UPLOAD_HOSTS:
        return True
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)


def urn_path(urn: str) -> str:
    """A URN inside a path, as LinkedIn wants it: every reserved character encoded."""
    return quote(urn, safe="")


def seconds_to_midnight_utc() -> float:
    """LinkedIn's daily quotas reset at midnight UTC, and a 429 promises no Retry-After."""
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - now).total_seconds())


def classify(
    response: http.Response, *, create_call: bool = False, organization: bool = False, fresh: bool = False
) -> ProviderError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    data = data if isinstance(data, dict) else {}
    code = str(data.get("code") or "")
    words = _words(data) or f"LinkedIn answered HTTP {status}."

    def error(error_class: ErrorClass, **extra: Any) -> ProviderError:
        return ProviderError(error_class, words, code=code or f"http_{status}", status=status, **extra)

    if status == 426 or code == "NONEXISTENT_VERSION":
        message = (
            f"{words} LinkedIn no longer serves API version {setting('LINKEDIN_VERSION')}: set LINKEDIN_VERSION "
            "to an active version (YYYYMM, within the last year) and restart."
        )
        return ProviderError(ErrorClass.CONFIG, message, code="NONEXISTENT_VERSION", status=status)
    if status == 401 and fresh and code == "REVOKED_ACCESS_TOKEN":
        return error(ErrorClass.TRANSIENT, retry_after=FRESH_RETRY_S)
    if status == 401:
        return error(ErrorClass.AUTH)
    if status == 403:
        # On an organization, "not enough permissions" means the member lost the page role.
        return error(ErrorClass.CONFIG if organization else ErrorClass.AUTH)
    if status == 429:
        return error(ErrorClass.RATE, retry_after=http.retry_after_seconds(response) or seconds_to_midnight_utc())
    if status in (400, 404, 409, 410, 413, 422):
        return error(ErrorClass.CONTENT)
    if status >= 500:
        return error(ErrorClass.TRANSIENT, outcome_unknown=create_call and status in PROXY_GAVE_UP)
    if 300 <= status < 400:
        return ProviderError(ErrorClass.CONFIG, f"LinkedIn redirected the call (HTTP {status}).", code="redirect")
    return error(ErrorClass.TRANSIENT)


def _words(data: Mapping[str, Any]) -> str:
    """LinkedIn's message, and each input error's description (a duplicate post says so there)."""
    words = [str(data.get("message") or "").strip()]
    details = data.get("errorDetails")
    inputs = details.get("inputErrors") if isinstance(details, dict) else None
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict) and item.get("description"):
            words.append(str(item["description"]).strip())
    return " ".join(word for word in words if word)[:MAX_MESSAGE]


class LinkedInApi:
    """Calls with one member token, acting as a member or as one of its organizations."""

    def __init__(self, access_token: str, *, organization: bool = False, fresh: bool = False) -> None:
        if not access_token:
            raise ProviderError(ErrorClass.AUTH, "No LinkedIn access token is stored: reconnect.", code="no_token")
        self.token, self.organization, self.fresh = access_token, organization, fresh
        self.session = http.platform_session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"

    @classmethod
    def of(cls, secrets: Mapping[str, Any], *, organization: bool = False, fresh: bool = False) -> LinkedInApi:
        return cls(str(secrets.get("access_token") or ""), organization=organization, fresh=fresh)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def rest(self, method: str, path: str, *, create_call: bool = False, **kwargs: Any) -> http.Response:
        headers = {"LinkedIn-Version": str(setting("LINKEDIN_VERSION")), "X-Restli-Protocol-Version": "2.0.0",
                   **kwargs.pop("headers", {})}  # fmt: skip
        url = f"{api_url()}/rest/{path.lstrip('/')}"
        return self.call(method, url, create_call=create_call, headers=headers, **kwargs)

    def rest_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return _json_object(self.rest(method, path, **kwargs))

    def call(self, method: str, url: str, *, create_call: bool = False, **kwargs: Any) -> http.Response:
        try:
            response = self.session.request(method, url, allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        if not 200 <= response.status_code < 300:
            raise classify(response, create_call=create_call, organization=self.organization, fresh=self.fresh)
        return response

    def put_bytes(self, url: str, data: bytes) -> http.Response:
        """An upload URL LinkedIn handed out: only to LinkedIn's own hosts, over https."""
        if not _upload_allowed(url):
            raise ProviderError(
                ErrorClass.TRANSIENT, "LinkedIn gave an upload URL off its own hosts.", code="malformed"
            )
        headers = {"Content-Type": "application/octet-stream"}
        return self.call("PUT", url, data=data, headers=headers)


def _json_object(response: http.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProviderError(
            ErrorClass.TRANSIENT, "LinkedIn answered with something that is not JSON.", code="malformed"
        )
    return data


def value_of(answer: Mapping[str, Any], key: str, *, what: str) -> str:
    """A string field of an ``initializeUpload`` answer's ``value``."""
    value = answer.get("value")
    found = value.get(key) if isinstance(value, dict) else None
    if not isinstance(found, str) or not found:
        raise ProviderError(ErrorClass.TRANSIENT, f"LinkedIn's answer to {what} has no {key}.", code="malformed")
    return found


def created_urn(response: http.Response, *, what: str) -> str:
    """201 Created with an empty body: the new entity's id is only in ``x-restli-id``."""
    urn = response.headers.get("x-restli-id", "").strip()
    if not urn:
        message = f"LinkedIn created {what} but did not say its id."
        raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=True)
    return urn
