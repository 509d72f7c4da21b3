"""The Graph API as Facebook and Instagram (through Facebook Login) speak it.

Every call goes through ``Graph``: the pinned version (``META_GRAPH_VERSION``), the token as a
parameter, ``appsecret_proof`` beside it when the app requires one, redirects never followed,
and every failure classified from Meta's error object (code and subcode, never the HTTP status
or the wording; platforms-meta.md section 1). Usage headers are read on every answer, so a
Page or an app close to its limit is paced before Meta throttles it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache

from connections import http
from connections.errors import ErrorClass, ProviderError

MAX_MESSAGE = 500

# The reference's table (section 1.2 and 1.3) as sets; subcodes are checked before codes, since
# the same code means different things with different subcodes (4 is a rate limit, 4/2207051 is not).
AUTH_CODES = frozenset({190, 102, 10, *range(200, 300)})
RATE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80010), 80014})
TRANSIENT_CODES = frozenset({1, 2})
DAILY_LIMIT_SUBCODE = 2207042  # Instagram's content publishing limit
RATE_SUBCODES = frozenset({DAILY_LIMIT_SUBCODE, 1390008})  # 1390008: "posting too fast" [code, ?]
TRANSIENT_SUBCODES = frozenset({2207003, 2207001, 2207032, 2207008, 1363047})
NOT_READY_SUBCODE = 2207027  # the container is not FINISHED yet: wait, do not fail
# The container is gone (expired, failed upload, not found): only a new container helps.
CONTAINER_GONE_SUBCODES = frozenset({2207020, 2207053, 2207006})
# Spam-restricted: one OSS note says the post may still appear, so it is looked up, not re-sent.
MAYBE_POSTED_SUBCODES = frozenset({2207051})
# Content errors whose code alone reads as something else: 1/2207057 (a thumb_offset outside the
# video) would be "unknown error, retry" by its code.
CONTENT_SUBCODES = frozenset({2207057})
PROXY_GAVE_UP = frozenset({502, 504})
AUTH_ADVICE = {
    459: "Log in on facebook.com and clear the checkpoint, then reconnect.",
    464: "Confirm the account on facebook.com, then reconnect.",
    492: "You no longer have a suitable role on this Page: reconnect, or choose another Page.",
}
DAILY_LIMIT_WAIT_S = 3600.0  # the quota is a rolling 24 h window: look again in an hour


def _setting(name: str) -> Any:
    # Meta's settings come from its conf.py at start-up (see connections.registry), so they are
    # not attributes the settings type knows of.
    return getattr(settings, name)


def graph_origin() -> str:
    """Where Facebook's Graph answers (``META_GRAPH_URL``; a fake Meta on loopback in tests)."""
    return str(_setting("META_GRAPH_URL"))


def graph_url(path: str, *, origin: str = "", version: str = "") -> str:
    base = origin or graph_origin()
    return f"{base}/{version or _setting('META_GRAPH_VERSION')}/{path.lstrip('/')}"


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """HMAC-SHA256 of the token keyed with the app secret, as "Require App Secret" apps demand.

    Computed once when a token is stored and kept beside it (encrypted like it): publishing has
    the account's secrets, not the app's, and a token's proof never changes."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def token_secrets(app_secret: str, access_token: str) -> dict[str, str]:
    """What an account or a grant stores for one token: the token and, where used, its proof."""
    stored = {"access_token": access_token}
    if _setting("META_APPSECRET_PROOF") and app_secret:
        stored["appsecret_proof"] = appsecret_proof(app_secret, access_token)
    return stored


# --- Errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetaError:
    code: int | None
    subcode: int | None
    message: str
    user_message: str
    is_transient: bool

    @property
    def label(self) -> str:
        if self.code is None:
            return ""
        return f"{self.code}/{self.subcode}" if self.subcode else str(self.code)

    @property
    def words(self) -> str:
        """Meta's message for the user where it wrote one, else its developer message."""
        return (self.user_message or self.message)[:MAX_MESSAGE]


def meta_error(response: http.Response) -> MetaError | None:
    try:
        data = response.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    return MetaError(
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        message=str(error.get("message") or "").strip(),
        user_message=str(error.get("error_user_msg") or "").strip(),
        is_transient=error.get("is_transient") is True,
    )


def classify(response: http.Response, *, create_call: bool = False) -> ProviderError:
    """Meta's error object as one of the engine's classes."""
    found = meta_error(response)
    status = response.status_code
    if found is None or found.code is None:
        return _without_error_object(response, create_call=create_call)
    code, subcode, words = found.code, found.subcode, found.words or f"HTTP {status}"

    def error(error_class: ErrorClass, **extra: Any) -> ProviderError:
        return ProviderError(error_class, words, code=found.label, status=status, **extra)

    if subcode in CONTENT_SUBCODES:
        return error(ErrorClass.CONTENT)
    if subcode == NOT_READY_SUBCODE:
        return error(ErrorClass.TRANSIENT, retry_after=60)
    if subcode in MAYBE_POSTED_SUBCODES:
        return error(ErrorClass.TRANSIENT, outcome_unknown=create_call)
    if subcode == DAILY_LIMIT_SUBCODE:
        return error(ErrorClass.RATE, retry_after=DAILY_LIMIT_WAIT_S)
    if subcode in RATE_SUBCODES or code in RATE_CODES:
        return error(ErrorClass.RATE, retry_after=usage_of(response).regain_s)
    if subcode in TRANSIENT_SUBCODES or subcode in CONTAINER_GONE_SUBCODES:
        return error(ErrorClass.TRANSIENT)
    if code in AUTH_CODES:
        advice = AUTH_ADVICE.get(subcode or 0, "")
        return ProviderError(ErrorClass.AUTH, f"{words} {advice}".strip(), code=found.label, status=status)
    if code in TRANSIENT_CODES or found.is_transient:
        return error(ErrorClass.TRANSIENT, outcome_unknown=create_call and status in PROXY_GAVE_UP)
    # 100 (invalid parameter, 100/33 a missing object), 368 (policy block), 506 (duplicate),
    # 1609005 (link not scraped), the 2207xxx and 36xxx media errors: Meta's words for the user.
    return error(ErrorClass.CONTENT)


def _without_error_object(response: http.Response, *, create_call: bool) -> ProviderError:
    status = response.status_code
    if status in (401, 403):
        return ProviderError(ErrorClass.AUTH, f"Meta refused the token (HTTP {status}).", code=f"http_{status}")
    if status == 429:
        wait = http.retry_after_seconds(response) or usage_of(response).regain_s
        return ProviderError(ErrorClass.RATE, "Meta is throttling calls.", code="http_429", retry_after=wait)
    if status >= 500:
        unknown = create_call and status in PROXY_GAVE_UP
        message = f"Meta is having trouble (HTTP {status})."
        return ProviderError(
            ErrorClass.TRANSIENT, message, code=f"http_{status}", status=status, outcome_unknown=unknown
        )
    if 300 <= status < 400:
        return ProviderError(ErrorClass.CONFIG, f"Meta redirected the call (HTTP {status}).", code="redirect")
    message = f"Meta answered HTTP {status} without saying why."
    return ProviderError(ErrorClass.TRANSIENT, message, code=f"http_{status}", status=status)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Usage headers and pacing -------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """What one answer's usage headers say: the highest percentage per budget ("app" and each
    business object id, a Page or an Instagram account) and Meta's estimate of when throttling
    ends, if it gave one."""

    percents: Mapping[str, float]
    regain_s: float | None = None

    @property
    def highest(self) -> float:
        return max(self.percents.values(), default=0.0)


APP_BUDGET = "app"


def usage_of(response: http.Response) -> Usage:
    """The headers are JSON strings and appear only once an endpoint has seen enough calls."""
    percents: dict[str, float] = {}
    app = _json_header(response, "x-app-usage")
    if isinstance(app, dict):
        percents[APP_BUDGET] = max((float(v) for v in app.values() if _number(v)), default=0.0)
    regain: float | None = None
    business = _json_header(response, "x-business-use-case-usage")
    for object_id, entries in business.items() if isinstance(business, dict) else ():
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict):
                continue
            values = [float(entry[k]) for k in ("call_count", "total_cputime", "total_time") if _number(entry.get(k))]
            percents[str(object_id)] = max([percents.get(str(object_id), 0.0), *values])
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and _number(minutes) and minutes > 0:  # minutes, not seconds
                regain = max(regain or 0.0, float(minutes) * 60)
    return Usage(percents=percents, regain_s=regain)


def _json_header(response: http.Response, name: str) -> Any:
    raw = response.headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def hold_seconds(percent: float, regain_s: float | None) -> float:
    """How long to hold new creates back at this usage: nothing below the slow-down mark, then
    from 30 s at the mark up to 10 min at 100 % (Meta's window is a rolling hour), or Meta's own
    estimate when it gave one."""
    slowdown = float(_setting("META_USAGE_SLOWDOWN_PERCENT"))
    if percent < slowdown:
        return 0.0
    if regain_s:
        return regain_s
    span = max(100.0 - slowdown, 1.0)
    return 30.0 + (min(percent, 100.0) - slowdown) / span * 570.0


def usage_record(response: http.Response) -> None:
    """Remember, per budget, until when creates should wait. Shared by every
    worker through Django's cache (Redis, or files on one machine: ``CACHE_URL``)."""
    usage = usage_of(response)
    now = time.time()
    for budget, percent in usage.percents.items():
        cache.set(_level_key(budget), percent, timeout=LEVEL_KEPT_S)  # what background work reads
        hold = hold_seconds(percent, usage.regain_s)
        if hold > 0:
            cache.set(_cache_key(budget), {"until": now + hold, "percent": percent}, timeout=int(hold) + 1)


def usage_hold(object_ids: list[str]) -> tuple[float, float] | None:
    """(seconds to wait, the usage that asked for it) when the app or one of these objects is
    near its limit; None when creates may go now."""
    now, worst = time.time(), None
    for budget in (APP_BUDGET, *object_ids):
        held = cache.get(_cache_key(budget))
        if isinstance(held, dict) and held.get("until", 0) > now:
            wait = float(held["until"]) - now
            if worst is None or wait > worst[0]:
                worst = (wait, float(held.get("percent", 0)))
    return worst


def _cache_key(budget: str) -> str:
    return f"meta-usage:{budget}"


LEVEL_KEPT_S = 3600  # Meta's usage window is a rolling hour: an older reading says nothing
BACKGROUND_RECHECK_S = 300.0


def _level_key(budget: str) -> str:
    return f"meta-usage-level:{budget}"


def background_hold(object_ids: list[str], *, reserve: float) -> float | None:
    """Seconds background reads (analytics) should wait: while creates are held, and already
    from ``1 - reserve`` of the slow-down mark on, so they never spend the usage publishing needs."""
    held = usage_hold(object_ids)
    if held is not None:
        return max(1.0, held[0])
    mark = float(_setting("META_USAGE_SLOWDOWN_PERCENT")) * (1 - reserve)
    levels = [cache.get(_level_key(budget)) for budget in (APP_BUDGET, *object_ids)]
    if any(isinstance(level, int | float) and level >= mark for level in levels):
        return BACKGROUND_RECHECK_S
    return None


# --- The client ---------------------------------------------------------------------------------


class Graph:
    """Calls with one token (a user's or a Page's) and its stored proof."""

    def __init__(self, access_token: str, proof: str = "", *, origin: str = "", version: str = "") -> None:
        if not access_token:
            raise ProviderError(ErrorClass.AUTH, "No Meta access token is stored: reconnect.", code="no_token")
        self.token, self.proof, self.version = access_token, proof, version
        self.origin = origin or graph_origin()
        self.session = http.platform_session()

    @classmethod
    def of(cls, secrets: Mapping[str, Any], *, origin: str = "") -> Graph:
        return cls(str(secrets.get("access_token") or ""), str(secrets.get("appsecret_proof") or ""), origin=origin)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def auth_params(self) -> dict[str, str]:
        params = {"access_token": self.token}
        if self.proof:
            params["appsecret_proof"] = self.proof
        return params

    def get(self, path: str, **params: Any) -> Any:
        return self.call(
            "GET", graph_url(path, origin=self.origin, version=self.version), params={**params, **self.auth_params()}
        )

    def post(self, path: str, *, create_call: bool = False, **fields: Any) -> Any:
        """A form POST (Graph accepts form, multipart and JSON); lists and dicts as JSON text."""
        form = {key: _form_value(value) for key, value in fields.items() if value not in (None, "")}
        return self.call(
            "POST",
            graph_url(path, origin=self.origin, version=self.version),
            data={**form, **self.auth_params()},
            create_call=create_call,
        )

    def delete(self, path: str) -> Any:
        return self.call("DELETE", graph_url(path, origin=self.origin, version=self.version), params=self.auth_params())

    def pages(self, path: str, *, limit_pages: int = 20, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list, following ``paging.next`` (only to Meta's own host)."""
        own = urlsplit(self.origin).netloc
        data = self.get(path, **params)
        for _ in range(limit_pages):
            yield from (item for item in _list(data) if isinstance(item, dict))
            following = data.get("paging", {}).get("next") if isinstance(data, dict) else None
            if not isinstance(following, str) or urlsplit(following).netloc != own:
                return
            data = self.call("GET", _without_auth(following), params=self.auth_params())

    def page(self, path: str, *, after: str = "", **params: Any) -> tuple[list[dict[str, Any]], str]:
        """One page of a list and the cursor of the next (``paging.cursors.after``), empty on the
        last. Meta names an ``after`` cursor on the last page too and may send an empty page
        that still has more behind it: only ``paging.next`` says whether another page follows."""
        data = self.get(path, **params, **({"after": after} if after else {}))
        items = [item for item in _list(data) if isinstance(item, dict)]
        paging = data.get("paging")
        if not isinstance(paging, dict) or not isinstance(paging.get("next"), str) or not paging["next"]:
            return items, ""
        cursors = paging.get("cursors")
        following = cursors.get("after") if isinstance(cursors, dict) else None
        return items, following if isinstance(following, str) else ""

    def call(self, method: str, url: str, *, create_call: bool = False, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, url, allow_redirects=False, **kwargs)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=create_call) from None
        usage_record(response)
        if response.status_code != 200:
            raise classify(response, create_call=create_call)
        try:
            return response.json()
        except ValueError:
            message = "Meta answered with something that is not JSON."
            raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=create_call) from None


def _without_auth(url: str) -> str:
    """A ``paging.next`` URL carries the token already; ours replaces it (never sent twice)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key not in ("access_token", "appsecret_proof")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _list(data: Any) -> list[Any]:
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProviderError(ErrorClass.TRANSIENT, "Meta's list answer has no data array.", code="malformed")
    return items


def _form_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return value


def text_field(data: Any, key: str) -> str:
    """A string field of a Graph object, validated where it is read (ids are strings)."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""


def required_id(data: Any, *, what: str, create_call: bool = False) -> str:
    found = text_field(data, "id")
    if not found:
        message = f"Meta's answer to {what} has no id."
        raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed", outcome_unknown=create_call)
    return found
