"""YouTube's hosts, its error object and the daily quota counted in units per Google project."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from connections import http, quota
from connections.errors import ErrorClass, ProviderError

API = "https://www.googleapis.com/youtube/v3"
UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"
PLATFORM = "youtube"
PACIFIC = ZoneInfo("America/Los_Angeles")  # the quota resets at midnight Pacific time

AUTH_REASONS = frozenset({"authError", "youtubeSignupRequired"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
DAILY_REASONS = frozenset({"quotaExceeded", "uploadLimitExceeded"})
CONTENT_REASONS = frozenset({"invalidTitle", "invalidDescription", "invalidTags", "invalidCategoryId", "forbidden"})
MESSAGES = {
    "quotaExceeded": "YouTube's daily quota for this app is used up; it resets at midnight Pacific time.",
    "uploadLimitExceeded": "This channel reached YouTube's daily upload limit.",
    "youtubeSignupRequired": "This Google account has no YouTube channel: create one, then reconnect.",
    "invalidTitle": "YouTube refused the title.",
    "invalidDescription": "YouTube refused the description.",
    "invalidTags": "YouTube refused the tags.",
    "invalidCategoryId": "YouTube refused the category.",
}


def setting(name: str) -> Any:
    """YouTube's settings come from its conf.py at start-up, so the settings type does not know them."""
    return getattr(settings, name)


def seconds_to_pacific_midnight(now: datetime | None = None) -> float:
    local = (now or timezone.now()).astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=PACIFIC)
    return max(1.0, (midnight - local).total_seconds())


def error_reason(body: Any) -> tuple[str, str]:
    """(reason, message) from ``{"error": {"message", "errors": [{"reason"}]}}``; empty where absent."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    errors = error.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    return str(first.get("reason") or ""), message or str(first.get("message") or "")


def classify(response: http.Response) -> ProviderError:
    """A failed answer as a ProviderError, per the reference's table."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    reason, platform_message = error_reason(body)
    message = MESSAGES.get(reason, "") or platform_message or f"YouTube answered {status}"
    if reason in DAILY_REASONS:
        return ProviderError(
            ErrorClass.RATE, message, code=reason, status=status, retry_after=seconds_to_pacific_midnight()
        )
    if reason in RATE_REASONS or status == 429:
        retry = http.retry_after_seconds(response)
        return ProviderError(ErrorClass.RATE, message, code=reason or "429", status=status, retry_after=retry)
    if status == 401 or reason in AUTH_REASONS:
        return ProviderError(ErrorClass.AUTH, message, code=reason or "401", status=status)
    if status >= 500:
        return ProviderError(ErrorClass.TRANSIENT, message, code=reason or str(status), status=status)
    if reason in CONTENT_REASONS or status == 400:
        return ProviderError(ErrorClass.CONTENT, message, code=reason or "400", status=status)
    return ProviderError(ErrorClass.CONFIG, message, code=reason or str(status), status=status)


def read_json(response: http.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise classify(response)
    try:
        body = response.json()
    except ValueError:
        raise ProviderError(ErrorClass.TRANSIENT, "YouTube sent an unreadable answer", code="malformed") from None
    if not isinstance(body, dict):
        raise ProviderError(ErrorClass.TRANSIENT, "YouTube sent an unexpected answer", code="malformed")
    return body


def items(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = body.get("items", [])
    if not isinstance(found, list):
        raise ProviderError(ErrorClass.TRANSIENT, "YouTube's answer has no item list", code="malformed")
    return [item for item in found if isinstance(item, dict)]


# --- Quota -------------------------------------------------------------------------------------


# Units per call (developers.google.com/youtube/v3/determine_quota_cost): a list 1, thumbnails.set
# and videos.delete 50; an upload's cost is a setting (the reference is unsure of it).
LIST_COST = 1
THUMBNAIL_COST = 50
DELETE_COST = 50


def project_key(client_id: str) -> str:
    """A Google project is known by its OAuth client; hashed so the ledger names no client."""
    return hashlib.sha256(client_id.encode()).hexdigest()[:16]


def pacific_day(now: datetime | None = None) -> date:
    """The day YouTube counts quota in."""
    return (now or timezone.now()).astimezone(PACIFIC).date()


@dataclass(frozen=True)
class Ledger:
    """Whose units a call spends: the Google project's, and within it one workspace's share
    (``workspace`` empty when the account's workspace is not known: the project's alone)."""

    project: str
    workspace: str = ""

    @property
    def workspace_holder(self) -> str:
        return f"{self.project}/w{self.workspace}"

    def budgets(self, kept_for_uploads: float = 0.0) -> dict[str, int]:
        """Each holder's daily units; background reads leave ``kept_for_uploads`` of each."""
        found = {self.project: quota_budget()}
        if self.workspace:
            found[self.workspace_holder] = workspace_budget()
        return {holder: int(budget * (1 - kept_for_uploads)) for holder, budget in found.items()}


def quota_budget() -> int:
    return int(setting("YOUTUBE_QUOTA_UNITS_PER_DAY"))


def workspace_budget() -> int:
    """One workspace's daily units: YOUTUBE_WORKSPACE_QUOTA_SHARE of the project's (a fraction
    up to 1, or units above it), never more than the project has."""
    budget, share = quota_budget(), float(setting("YOUTUBE_WORKSPACE_QUOTA_SHARE"))
    return min(budget, int(share) if share > 1 else int(budget * share))


def quota_used(project: str) -> int:
    return quota.used(platform=PLATFORM, holder=project, day=pacific_day())


def workspace_used(ledger: Ledger) -> int:
    return quota_used(ledger.workspace_holder if ledger.workspace else ledger.project)


def quota_spend(ledger: Ledger, units: int) -> None:
    """Count units as they are spent, in the Pacific day YouTube counts them in, for the project
    and the workspace's share alike."""
    for holder in ledger.budgets():
        quota.spend(platform=PLATFORM, holder=holder, day=pacific_day(), units=units)


def quota_reserve(ledger: Ledger, units: int, *, kept_for_uploads: float = 0.0) -> None:
    """Spend ``units`` now, or raise RATE until midnight Pacific when they would pass the day's
    budget (the project's, or the workspace's share of it): waiting for the reset, not failing
    (and not asking YouTube to say quotaExceeded). Background reads (an import) pass the share
    of each budget ``kept_for_uploads``, as analytics keeps it, and stop short of it."""
    budgets = ledger.budgets(kept_for_uploads)
    full = quota.reserve(platform=PLATFORM, day=pacific_day(), units=units, budgets=budgets)
    if full is None:
        return
    whose = "YouTube quota" if full == ledger.project else "This workspace's share of the YouTube quota"
    used = f"{quota_used(full):,} / {ledger.budgets()[full]:,}"
    waits = "the rest is kept for uploads, so the import waits" if kept_for_uploads else "waiting"
    raise ProviderError(
        ErrorClass.RATE, f"{whose} used today: {used}; {waits} for the reset at midnight Pacific.",
        code="quota_reserved" if kept_for_uploads else "quota_budget",
        retry_after=seconds_to_pacific_midnight(), held=True,
    )  # fmt: skip
