"""The Business Profile APIs' answers in the shapes of platforms-google-snap.md section 1, for
tests/connections/test_google_business.py: accounts and locations (paged), v4 local posts,
reportInsights, the Performance API's daily series and Google's error object."""

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import responses

ACCOUNTS = "https://mybusinessaccountmanagement.googleapis.com/v1/accounts"
INFORMATION = "https://mybusinessbusinessinformation.googleapis.com/v1"
POSTS = "https://mybusiness.googleapis.com/v4"
PERFORMANCE = "https://businessprofileperformance.googleapis.com/v1"
TOKEN_URL = "https://oauth2.googleapis.com/token"
ACCESS = "ya29.a0AfB_byC-example"
REFRESH = "1//0gLx-example"
SCOPE = "https://www.googleapis.com/auth/business.manage"
PERSONAL, GROUP = "accounts/1111111111", "accounts/2222222222"
LOCATION_ID = "9876543210"
PARENT = f"{GROUP}/locations/{LOCATION_ID}"
LOCAL_POSTS = f"{POSTS}/{PARENT}/localPosts"
POST_NAME = f"{PARENT}/localPosts/1234567890123456789"
SEARCH_URL = "https://local.google.com/place?id=7153036208513512345&use=posts&lpsid=1234567890123456789"


def token(**changes: Any) -> dict[str, Any]:
    return {"access_token": ACCESS, "expires_in": 3599, "refresh_token": REFRESH, "scope": SCOPE,
            "token_type": "Bearer", **changes}  # fmt: skip


def account(name: str, account_name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "accountName": account_name, "type": kind, "role": "PRIMARY_OWNER",
            "verificationState": "VERIFIED", "vettedState": "NOT_VETTED"}  # fmt: skip


def location(location_id: str = LOCATION_ID, title: str = "Acme Downtown", town: str = "San Francisco") -> dict:
    return {
        "name": f"locations/{location_id}",
        "title": title,
        "storefrontAddress": {"regionCode": "US", "languageCode": "en", "postalCode": "94105",
                              "administrativeArea": "CA", "locality": town, "addressLines": ["1 Market St"]},
        "metadata": {"mapsUri": f"https://maps.google.com/maps?cid={location_id}",
                     "newReviewUri": f"https://search.google.com/local/writereview?placeid=ChIJ{location_id}"},
    }  # fmt: skip


def local_post(name: str = POST_NAME, *, state: str = "LIVE", created: str = "", **body: Any) -> dict[str, Any]:
    """A LocalPost as Google answers it: what was sent plus the output-only fields."""
    stamp = created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"languageCode": "en-US", "topicType": "STANDARD", **body, "name": name, "state": state,
            "createTime": stamp, "updateTime": stamp, "searchUrl": SEARCH_URL}  # fmt: skip


def insights(*posts: tuple[str, int, int]) -> dict[str, Any]:
    span = {"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-03-31T00:00:00Z"}

    def value(metric: str, count: int) -> dict[str, Any]:
        total = {"metricOption": "AGGREGATED_TOTAL", "timeDimension": {"timeRange": span}, "value": str(count)}
        return {"metric": metric, "totalValue": total}

    return {"localPostMetrics": [
        {"localPostName": name, "metricValues": [value("LOCAL_POST_VIEWS_SEARCH", views),
                                                 value("LOCAL_POST_ACTIONS_CALL_TO_ACTION", clicks)]}
        for name, views, clicks in posts
    ]}  # fmt: skip


def daily(**series: list[tuple[tuple[int, int, int], str | None]]) -> dict[str, Any]:
    def dated(day: tuple[int, int, int], value: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"date": {"year": day[0], "month": day[1], "day": day[2]}}
        if value is not None:
            entry["value"] = value
        return entry

    return {"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [
        {"dailyMetric": metric, "timeSeries": {"datedValues": [dated(day, value) for day, value in values]}}
        for metric, values in series.items()
    ]}]}  # fmt: skip


def google_error(status: int, google_status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": google_status, "details": list(details)}}


def quota_info(service: str, limit: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {"quota_limit_value": limit, "quota_metric": f"{service}/default_requests",
                         "quota_limit": "DefaultRequestsPerMinutePerProject", "consumer": "projects/123456789",
                         "service": service, "quota_location": "global"}}  # fmt: skip


QUOTA_ZERO = google_error(
    429, "RESOURCE_EXHAUSTED",
    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
    "'mybusinessbusinessinformation.googleapis.com' for consumer 'project_number:123456789'.",
    quota_info("mybusinessbusinessinformation.googleapis.com", "0"),
)  # fmt: skip
QUOTA_ZERO_FORBIDDEN = google_error(
    403, "PERMISSION_DENIED", "Request had insufficient quota for the My Business APIs.",
    quota_info("mybusinessaccountmanagement.googleapis.com", "0"),
)  # fmt: skip
THROTTLED = google_error(
    429, "RESOURCE_EXHAUSTED",
    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
    "'mybusiness.googleapis.com' for consumer 'project_number:123456789'.",
    quota_info("mybusiness.googleapis.com", "300"),
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "42s"},
)  # fmt: skip
DISABLED = google_error(
    403, "PERMISSION_DENIED",
    "My Business Business Information API has not been used in project 123456789 before or it is disabled.",
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
     "metadata": {"service": "mybusinessbusinessinformation.googleapis.com", "consumer": "projects/123456789"}},
)  # fmt: skip
DENIED = google_error(403, "PERMISSION_DENIED", "The caller does not have permission")
EXPIRED = google_error(
    401, "UNAUTHENTICATED",
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential.",
)  # fmt: skip
INVALID = google_error(
    400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
    {"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError",
     "errorDetails": [{"code": 2, "field": "event.schedule", "message": "End time must be after start time."}]},
)  # fmt: skip
NOT_FOUND = google_error(404, "NOT_FOUND", "Requested entity was not found.")
UNAVAILABLE = google_error(503, "UNAVAILABLE", "The service is currently unavailable.")


def error(method: str, url: str, body: dict[str, Any], headers: dict[str, str] | None = None):
    status = body["error"]["code"]
    return lambda: responses.add(method, url, body=json.dumps(body), status=status, headers=headers,
                                 content_type="application/json")  # fmt: skip


@dataclass
class Location:
    """One location's local posts as Google keeps them: create, get, list (newest first), delete."""

    parent: str = PARENT
    posts: list[dict[str, Any]] = field(default_factory=list)
    state: str = "LIVE"  # what a new post's state is
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1234567890123456789))

    def install(self) -> None:
        base = f"{POSTS}/{self.parent}/localPosts"
        responses.add_callback(responses.POST, base, callback=self._create)
        responses.add_callback(responses.GET, base, callback=self._list)
        for method in (responses.GET, responses.DELETE, responses.PATCH):
            responses.add_callback(method, _post_url_pattern(base), callback=self._one)

    def _create(self, request) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        post = local_post(f"{self.parent}/localPosts/{next(self._ids)}", state=self.state, **body)
        self.posts.append(post)
        return 200, {}, json.dumps(post)

    def _list(self, _request) -> tuple[int, dict, str]:
        return 200, {}, json.dumps({"localPosts": list(reversed(self.posts))})

    def _one(self, request) -> tuple[int, dict, str]:
        name = request.path_url.split("/v4/", 1)[1].split("?")[0]
        found = next((p for p in self.posts if p["name"] == name), None)
        if found is None:
            return 404, {}, json.dumps(NOT_FOUND)
        if request.method == "DELETE":
            self.posts.remove(found)
            return 200, {}, "{}"
        return 200, {}, json.dumps(found)


def _post_url_pattern(base: str) -> re.Pattern[str]:
    return re.compile(re.escape(base) + r"/\d+$")


PAYLOADS = Path(__file__).parent / "payloads" / "google_business"
NEXT_PAGE = "CiAKGjBiMGY5ZjY0LWI1NjAtNGE2NC04ZDFmLTAyMWUwYmQ3EAo"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def mock_local_posts() -> None:
    """The location's posts over two pages, by pageToken; the last names no next page."""
    page = responses.matchers.query_param_matcher
    responses.add(responses.GET, LOCAL_POSTS, json=payload("local_posts_page1"), match=[page({"pageSize": "100"})])
    resumed = page({"pageSize": "100", "pageToken": NEXT_PAGE})
    responses.add(responses.GET, LOCAL_POSTS, json=payload("local_posts_page2"), match=[resumed])


def mock_daily_metrics() -> None:
    url = f"{PERFORMANCE}/locations/{LOCATION_ID}:fetchMultiDailyMetricsTimeSeries"
    responses.add(responses.GET, url, json=payload("daily_metrics"))
