"""Google Business Profile, per platforms-google-snap.md section 1.

Connecting: Google OAuth with ``business.manage`` and offline access. One consent yields every
location the user manages, across all the accounts (personal, location groups) they belong to;
the selection step picks which to connect, and all share the one grant. A location is known by
its id; the v4 parent it posts under (``accounts/{a}/locations/{l}``) is kept with it.

Publishing: one local post per target, of the type chosen per post (an update, an event with
its title and schedule, or an offer with its code, link and terms), with an optional button and
at most one photo pulled from Postwright's public URL. Google answers a create at once but may
review the post: ``PROCESSING`` comes back through the engine's Pending until it is ``LIVE``,
and ``REJECTED`` is a failure even though the call succeeded. Each profile takes at most 10
edits a minute (Google's limit, which cannot be raised): the engine paces them per account.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    ImportedItem,
    ImportedMedia,
    MediaItem,
    PartKind,
    PartRequest,
    Pending,
    PostMetrics,
    PostPage,
    PreviewLook,
    Profile,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.google import GoogleOAuth2Provider
from connections.providers.google_business import metrics
from connections.providers.google_business.client import (
    ACCOUNTS,
    INFORMATION,
    PERFORMANCE,
    POSTS,
    BusinessApi,
    setting,
)
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules

SCOPE = "https://www.googleapis.com/auth/business.manage"
SUMMARY_MAX = 1500
IMAGE_TYPES = ("image/jpeg", "image/png")
VIDEO_TYPES = ("video/mp4",)
ACCOUNTS_PAGE = 20  # accounts.list's largest page
LOCATIONS_PAGE = 100
POSTS_PAGE = 100
CLOCK_SKEW = timedelta(minutes=5)
SESSION = "local_post"  # the upload store's key: the created post's name, kept the moment it exists
STANDARD, EVENT, OFFER = "STANDARD", "EVENT", "OFFER"
POST_TYPES = ((STANDARD, "Update"), (EVENT, "Event"), (OFFER, "Offer"))
CALL = "CALL"
BUTTONS = (("", "No button"), ("BOOK", "Book"), ("ORDER", "Order online"), ("SHOP", "Buy"),
           ("LEARN_MORE", "Learn more"), ("SIGN_UP", "Sign up"), (CALL, "Call now"))  # fmt: skip
TYPED = (
    ("button_url", "url"),
    ("event_title", "text"),
    ("event_start", "datetime-local"),
    ("event_end", "datetime-local"),
    ("offer_code", "text"),
    ("offer_url", "url"),
    ("offer_terms", "text"),
)
LABELS = {
    "button_url": "Button link",
    "event_title": "Event or offer title",
    "event_start": "Starts (the business's local time)",
    "event_end": "Ends (the business's local time)",
    "offer_code": "Offer coupon code",
    "offer_url": "Offer redeem link",
    "offer_terms": "Offer terms and conditions",
}
INSIGHTS_BATCH = 10  # local post names per reportInsights call [unconfirmed limit]


class GoogleBusinessProvider(GoogleOAuth2Provider):
    id = "google_business"
    name = "Google Business Profile"
    default_scopes = (SCOPE,)
    supports_check = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_account_metrics = True
    supports_import = True
    account_metric_names = metrics.ACCOUNT_METRIC_NAMES
    account_calls_per_minute = 10  # edits per minute per profile; Google will not raise it
    composer_options = (
        ("post_type", "Post type", POST_TYPES),
        ("button", "Button", BUTTONS),
        *((name, LABELS[name], ()) for name, _kind in TYPED),
    )
    typed_options = TYPED
    option_shown_for = (
        ("button", "post_type", (STANDARD, EVENT)),  # Google shows no button on offers
        ("button_url", "post_type", (STANDARD, EVENT)),
        *((name, "post_type", (EVENT, OFFER)) for name in ("event_title", "event_start", "event_end")),
        *((name, "post_type", (OFFER,)) for name in ("offer_code", "offer_url", "offer_terms")),
    )
    # A local post shows its button, not a card for a link.
    preview_look = PreviewLook(avatar="square", accent="blue", link_card=False)
    developer_console_url = "https://console.cloud.google.com/apis/library"
    setup_steps = (
        "In a Google Cloud project, enable the My Business Account Management, Business Information, "
        "Google My Business (v4) and Business Profile Performance APIs, create an OAuth client (web "
        "application) with this site's callback URL, and set GOOGLE_BUSINESS_CLIENT_ID and "
        "GOOGLE_BUSINESS_CLIENT_SECRET. Google grants these APIs on application: until it approves the "
        "project's Application for Basic API Access, every call is refused (quota 0)."
    )
    connect_intro = "One Google consent lists every business location you manage; choose the ones to connect."
    check_delays_s: ClassVar[tuple[float, ...]] = (10, 30, 60, 120, 300)

    def is_enabled(self) -> bool:
        return bool(setting("GOOGLE_BUSINESS_ENABLED"))

    # --- Connect --------------------------------------------------------------------------------

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        if tokens.scope and SCOPE not in tokens.scope.split():
            # Google's consent page lets the user untick a scope; without this one nothing works.
            raise ConnectError(
                "Google was not allowed to let Postwright manage your business profiles. Connect again "
                "and leave that permission ticked."
            )
        with BusinessApi(tokens.access_token) as api:
            locations = list(_managed_locations(api))
        if not locations:
            raise ConnectError(
                "This Google account manages no Business Profile location. Add or claim one on "
                "business.google.com, then connect again."
            )
        secrets = tokens.as_secrets()
        return [
            Connection(
                profile=_profile(location),
                secrets=secrets,
                expires_at=tokens.expires_at,
                scope=tokens.scope,
                extra={"parent": f"{account}/{location['name']}"},
            )
            for account, location in locations
        ]

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        return self.connections_from_tokens(tokens=tokens)[0].profile

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        mask = str(setting("GOOGLE_BUSINESS_LOCATION_READ_MASK"))
        with _api(account) as api:
            location = api.json(
                "GET", f"{INFORMATION}/locations/{quote(account.external_id)}", params={"readMask": mask}
            )
        return _profile(location)

    # --- Rules ----------------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        videos = VIDEO_TYPES if setting("GOOGLE_BUSINESS_ALLOW_VIDEO") else ()
        return TextRules(max_length=SUMMARY_MAX, max_media=1, accepted_mime_types=(*IMAGE_TYPES, *videos))

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        formats = [FormatRule(IMAGE, "Google Business Profile photo", IMAGE_TYPES, max_count=1)]
        if setting("GOOGLE_BUSINESS_ALLOW_VIDEO"):
            formats.append(FormatRule(VIDEO, "Google Business Profile video", VIDEO_TYPES))
        return MediaRules(platform=self.name, formats=tuple(formats))

    def options_problems(self, *, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        return options_problems(options)

    # --- Publishing -----------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        if part.kind != PartKind.MAIN:
            raise ProviderError(ErrorClass.CONTENT, "A Google Business Profile post takes no replies or comments.",
                                code="no_threads")  # fmt: skip
        stored = part.uploads.load(SESSION) or {}
        name = str(part.state.get("post_name") or stored.get("post_name") or "")
        with _api(account) as api:
            if name:
                return self._reviewed(part, _reviewed_post(api, name))
            body = local_post_body(request, part)
            created = api.json("POST", f"{POSTS}/{_parent(account)}/localPosts", json=body, create_call=True)
        if not isinstance(created.get("name"), str) or not created["name"]:
            raise ProviderError(ErrorClass.TRANSIENT, "Google's answer to the post has no name.", code="malformed",
                                outcome_unknown=True)  # fmt: skip
        part.uploads.save(SESSION, {"post_name": created["name"]})  # from here on, it is only looked at
        return self._reviewed(part, created)

    def _reviewed(self, part: PartRequest, post: Mapping[str, Any]) -> PublishedItem | Pending:
        """REJECTED is a failure in Google's words; PROCESSING is waited for, up to a point."""
        name = str(post["name"])
        state = str(post.get("state") or "")
        if state == "REJECTED":
            raise rejected()
        if state != "PROCESSING":
            return _item(post)
        since = float(part.state.get("since") or time.time())
        if time.time() - since > float(setting("GOOGLE_BUSINESS_REVIEW_WAIT_SECONDS")):
            return _item(post)  # it exists: sending it again would make a second one
        checks = int(part.state.get("checks", 0)) + 1
        delay = self.check_delays_s[min(checks, len(self.check_delays_s)) - 1]
        return Pending(reason="Google is reviewing the post", state={"post_name": name, "since": since,
                       "checks": checks}, check_in_s=delay)  # fmt: skip

    # --- After publishing -----------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """The location's posts with our summary and type, made no earlier than the run that
        sent it (less clock skew), so an older identical post is not taken for it."""
        if part.kind != PartKind.MAIN:
            return None
        stored = part.uploads.load(SESSION) or {}
        body = local_post_body(request, part)
        with _api(account) as api:
            if stored.get("post_name"):
                return _landed(_reviewed_post(api, str(stored["post_name"])))
            listing = api.pages(f"{POSTS}/{_parent(account)}/localPosts", "localPosts", {"pageSize": POSTS_PAGE},
                                limit=3)  # fmt: skip
            for post in listing:
                if post.get("name") and _same_post(post, body, part.sent_after):
                    return _landed(post)
        return None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with _api(account) as api:
            try:
                api.call("DELETE", f"{POSTS}/{_post_path(platform_post_id)}")
            except ProviderError as exc:
                if exc.status != 404:
                    raise
                # Already gone: the goal is met.

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Each post's search views and button clicks through v4's ``localPosts:reportInsights``,
        the only per-post numbers Google offers (deprecated for locations; whether it still
        answers for posts is unconfirmed, so a setting can switch it off)."""
        names = [name for name in platform_post_ids if name.startswith(f"{_parent(account)}/localPosts/")]
        if not names or not setting("GOOGLE_BUSINESS_POST_INSIGHTS"):
            return {}
        end = datetime.now(UTC).replace(microsecond=0)
        start = end - timedelta(days=int(setting("GOOGLE_BUSINESS_METRICS_DAYS")))
        span = {"startTime": _timestamp(start), "endTime": _timestamp(end)}
        found: dict[str, PostMetrics] = {}
        with _api(account) as api:
            for first in range(0, len(names), INSIGHTS_BATCH):
                body = {"localPostNames": names[first : first + INSIGHTS_BATCH],
                        "basicRequest": {"metricRequests": [{"metric": "ALL"}], "timeRange": span}}  # fmt: skip
                answer = api.json("POST", f"{POSTS}/{_parent(account)}/localPosts:reportInsights", json=body)
                found.update(post_metrics(answer))
        return found

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """The location's numbers on the latest day Google has counted (``metrics``): views on
        Maps and Search added up, and each daily metric among the extras."""
        end = datetime.now(UTC).date()
        start = end - timedelta(days=int(setting("GOOGLE_BUSINESS_ACCOUNT_METRICS_DAYS")) - 1)
        series = self.location_metrics(account=account, start=start, end=end)
        return metrics.account_metrics(series, setting("GOOGLE_BUSINESS_DAILY_METRICS"))

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """The location's local posts, newest first, paged by ``pageToken`` (the v4 list's shape
        is unconfirmed: the fields read are those a created post answers with)."""
        params = {"pageSize": POSTS_PAGE, **({"pageToken": cursor} if cursor else {})}
        with _api(account) as api:
            answer = api.json("GET", f"{POSTS}/{_parent(account)}/localPosts", params=params)
        listed = answer.get("localPosts") or []
        if not isinstance(listed, list):
            raise ProviderError(ErrorClass.TRANSIENT, "Google's post list is not a list.", code="malformed")
        items = [item for raw in listed if isinstance(raw, dict) and (item := imported_post(raw)) is not None]
        token = answer.get("nextPageToken")
        return PostPage(items=tuple(items), next_cursor=token if isinstance(token, str) else "")

    def location_metrics(self, *, account: AccountState, start: date, end: date) -> dict[str, dict[str, int]]:
        """The location's daily numbers from the Performance API, metric -> {ISO date: value}:
        the profile's own insights (views on Maps and Search, calls, website clicks, direction
        requests), read by ``fetch_account_metrics``."""
        params: list[tuple[str, str | int]] = [
            ("dailyMetrics", metric) for metric in setting("GOOGLE_BUSINESS_DAILY_METRICS")
        ]
        for edge, day in (("startDate", start), ("endDate", end)):
            params += [(f"dailyRange.{edge}.year", day.year), (f"dailyRange.{edge}.month", day.month),
                       (f"dailyRange.{edge}.day", day.day)]  # fmt: skip
        url = f"{PERFORMANCE}/locations/{quote(account.external_id)}:fetchMultiDailyMetricsTimeSeries"
        with _api(account) as api:
            return daily_series(api.json("GET", url, params=params))


# --- Locations ----------------------------------------------------------------------------------


def _managed_locations(api: BusinessApi) -> Iterator[tuple[str, dict[str, Any]]]:
    """(account name, location) for every location of every account, each location once even
    when two of the user's accounts (a personal one and a group) both reach it."""
    mask = str(setting("GOOGLE_BUSINESS_LOCATION_READ_MASK"))
    seen: set[str] = set()
    for account in list(api.pages(f"{ACCOUNTS}/accounts", "accounts", {"pageSize": ACCOUNTS_PAGE})):
        account_name = str(account.get("name") or "")
        if not account_name.startswith("accounts/"):
            continue
        url = f"{INFORMATION}/{account_name}/locations"
        for location in api.pages(url, "locations", {"readMask": mask, "pageSize": LOCATIONS_PAGE}):
            location_name = str(location.get("name") or "")
            if location_name.startswith("locations/") and location_name not in seen:
                seen.add(location_name)
                yield account_name, location


def _profile(location: Mapping[str, Any]) -> Profile:
    name = str(location.get("name") or "")
    location_id = name.removeprefix("locations/")
    if not name.startswith("locations/") or not location_id:
        raise ProviderError(ErrorClass.TRANSIENT, "Google sent a location without a name.", code="malformed")
    title = str(location.get("title") or location_id)
    address = location.get("storefrontAddress")
    town = str(address.get("locality") or "") if isinstance(address, dict) else ""
    metadata = location.get("metadata")
    maps = str(metadata.get("mapsUri") or "") if isinstance(metadata, dict) else ""
    return Profile(external_id=location_id, username=title, display_name=f"{title} ({town})" if town else title,
                   profile_url=maps or f"https://business.google.com/locations/{location_id}")  # fmt: skip


# --- Local posts --------------------------------------------------------------------------------


def rejected() -> ProviderError:
    message = (
        "Google rejected the post: it breaks Google's content policy for Business Profile posts. "
        "Change the text, photo or link and post again."
    )
    return ProviderError(ErrorClass.CONTENT, message, code="rejected")


def _url_ok(value: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return False
    return True


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def options_problems(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What Google would refuse in this post's type, button and fields. Fields of another post
    type (left behind when the author switched) are ignored, as the post will not carry them."""
    kind = str(options.get("post_type") or STANDARD)
    if kind == OFFER:
        # Google shows no button on offers (it ignores callToAction there): the redeem link is it.
        return _link_problems(options, "offer_url") + _schedule_problems(options)
    problems = _button_problems(options)
    if kind == EVENT:
        problems += _schedule_problems(options)
    return problems


def _link_problems(options: Mapping[str, Any], name: str) -> list[tuple[str, str]]:
    if options.get(name) and not _url_ok(str(options[name])):
        return [(name, f"{LABELS[name]} must be a web address, like https://example.com/offer.")]
    return []


def _button_problems(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    button = str(options.get("button") or "")
    if not button:
        return []  # a link typed for no button is not sent
    if button == CALL:
        if options.get("button_url"):
            return [("button_url", "A Call now button rings the profile's phone number: leave its link empty.")]
        return []
    if not options.get("button_url"):
        return [("button_url", "Give the button's link.")]
    return _link_problems(options, "button_url")


def _schedule_problems(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not str(options.get("event_title") or "").strip():
        problems.append(("event_title", "An event or offer needs its title."))
    start, end = _moment(options.get("event_start")), _moment(options.get("event_end"))
    for name, moment in (("event_start", start), ("event_end", end)):
        if moment is None:
            problems.append((name, f"An event or offer needs when it {'starts' if name == 'event_start' else 'ends'}."))
    if start is not None and end is not None and end <= start:
        problems.append(("event_end", "An event or offer must end after it starts."))
    return problems


def _date_and_time(moment: datetime) -> tuple[dict[str, int], dict[str, int]]:
    return ({"year": moment.year, "month": moment.month, "day": moment.day},
            {"hours": moment.hour, "minutes": moment.minute, "seconds": 0, "nanos": 0})  # fmt: skip


def _event(options: Mapping[str, Any]) -> dict[str, Any]:
    start, end = _moment(options.get("event_start")), _moment(options.get("event_end"))
    if start is None or end is None:  # options_problems refused it already; kept for the type checker
        raise ProviderError(ErrorClass.CONTENT, "An event or offer needs when it starts and ends.", code="schedule")
    start_date, start_time = _date_and_time(start)
    end_date, end_time = _date_and_time(end)
    schedule = {"startDate": start_date, "startTime": start_time, "endDate": end_date, "endTime": end_time}
    return {"title": str(options["event_title"]).strip(), "schedule": schedule}


def local_post_body(request: PublishRequest, part: PartRequest) -> dict[str, Any]:
    """The v4 LocalPost for this post, checked against Google's rules before anything is sent."""
    options = request.options
    problems = options_problems(options)
    if problems:
        raise ProviderError(ErrorClass.CONTENT, problems[0][1], code=f"option_{problems[0][0]}")
    summary = part.content.text.strip()
    if len(summary) > SUMMARY_MAX:
        raise ProviderError(ErrorClass.CONTENT, f"A Google Business Profile post takes at most {SUMMARY_MAX:,} "
                            f"characters (this one has {len(summary):,}).", code="summary_too_long")  # fmt: skip
    kind = str(options.get("post_type") or STANDARD)
    if kind not in dict(POST_TYPES):
        raise ProviderError(ErrorClass.CONTENT, "Choose the post type: update, event or offer.", code="post_type")
    if kind == STANDARD and not summary:
        raise ProviderError(ErrorClass.CONTENT, "A Google update needs its text.", code="no_summary")
    body: dict[str, Any] = {"languageCode": str(setting("GOOGLE_BUSINESS_LANGUAGE_CODE")), "topicType": kind}
    if summary:
        body["summary"] = summary
    if kind in (EVENT, OFFER):
        body["event"] = _event(options)
    if kind == OFFER:
        fields = {"couponCode": "offer_code", "redeemOnlineUrl": "offer_url", "termsConditions": "offer_terms"}
        offer = {key: str(options[name]).strip() for key, name in fields.items() if options.get(name)}
        if offer:
            body["offer"] = offer
    elif options.get("button"):
        button = {"actionType": str(options["button"])}
        if button["actionType"] != CALL:
            button["url"] = str(options["button_url"])
        body["callToAction"] = button
    media = _media(part.content.media)
    if media:
        body["media"] = media
    return body


def _media(items: tuple[MediaItem, ...]) -> list[dict[str, str]]:
    if len(items) > 1:
        raise ProviderError(ErrorClass.CONTENT, "A Google Business Profile post takes one photo.", code="one_photo")
    if not items:
        return []
    item = items[0]
    video = item.mime_type in VIDEO_TYPES and bool(setting("GOOGLE_BUSINESS_ALLOW_VIDEO"))
    if item.mime_type not in IMAGE_TYPES and not video:
        raise ProviderError(ErrorClass.CONTENT, "Google Business Profile posts take a JPEG or PNG photo.",
                            code="media_type")  # fmt: skip
    if not item.public_url:
        # Google pulls the photo from a URL (sourceUrl is the only way in): without one, nothing to pull.
        raise ProviderError(ErrorClass.CONFIG, "The photo needs a public URL for Google to fetch it.",
                            code="no_public_url")  # fmt: skip
    return [{"mediaFormat": "VIDEO" if video else "PHOTO", "sourceUrl": item.public_url}]


def _reviewed_post(api: BusinessApi, name: str) -> dict[str, Any]:
    try:
        post = api.json("GET", f"{POSTS}/{_post_path(name)}")
    except ProviderError as exc:
        if exc.status == 404:
            raise ProviderError(ErrorClass.CONTENT, "Google removed the post while reviewing it.",
                                code="removed") from None  # fmt: skip
        raise
    return {**post, "name": post.get("name") or name}


def _landed(post: Mapping[str, Any]) -> PublishedItem:
    """A post found again: it exists, so it is the part, unless Google has rejected it."""
    if post.get("state") == "REJECTED":
        raise rejected()
    return _item(post)


def _item(post: Mapping[str, Any]) -> PublishedItem:
    name = str(post["name"])
    url = str(post.get("searchUrl") or "")
    if not url.startswith("https://"):
        location = name.split("/localPosts/")[0].rpartition("/")[2]
        url = f"https://business.google.com/locations/{location}"
    return PublishedItem(platform_post_id=name, url=url, extra={"state": str(post.get("state") or "")})


def imported_post(post: Mapping[str, Any]) -> ImportedItem | None:
    """A listed local post as an import, or None for one Google rejected (nobody saw it)."""
    if not post.get("name") or post.get("state") == "REJECTED":
        return None
    created = _moment(str(post.get("createTime") or "").replace("Z", "+00:00"))
    if created is None or created.tzinfo is None:
        raise ProviderError(ErrorClass.TRANSIENT, "Google listed a post without its createTime.", code="malformed")
    found = _item(post)
    event = post.get("event")
    title = str(event.get("title") or "") if isinstance(event, dict) else ""
    media = post.get("media")
    return ImportedItem(
        platform_post_id=found.platform_post_id,
        url=found.url,
        text=str(post.get("summary") or title),  # an event or offer may have no summary of its own
        published_at=created,
        media=tuple(_imported_media(media if isinstance(media, list) else [])),
        extra={"topic_type": str(post.get("topicType") or STANDARD), **found.extra},
    )


def _imported_media(items: list[Any]) -> list[ImportedMedia]:
    """Google's own copy of each photo (``googleUrl``), else the address it was pulled from."""
    found = []
    for item in items:
        url = (item.get("googleUrl") or item.get("sourceUrl")) if isinstance(item, dict) else None
        if isinstance(url, str) and url.startswith("https://"):
            found.append(ImportedMedia(url=url, kind="video" if item.get("mediaFormat") == "VIDEO" else "image"))
    return found


def _same_post(post: Mapping[str, Any], body: Mapping[str, Any], sent_after: datetime | None) -> bool:
    if str(post.get("summary") or "").strip() != str(body.get("summary") or ""):
        return False
    if str(post.get("topicType") or STANDARD) != body["topicType"]:
        return False
    if sent_after is None:
        return True
    created = _moment(str(post.get("createTime") or "").replace("Z", "+00:00"))
    return created is not None and created.tzinfo is not None and created >= sent_after - CLOCK_SKEW


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(value: Any) -> int:
    try:
        return int(value)  # Google sends int64 values as strings
    except (TypeError, ValueError):
        return 0


def post_metrics(answer: Mapping[str, Any]) -> dict[str, PostMetrics]:
    """``{"localPostMetrics": [{"localPostName", "metricValues": [{"metric", "totalValue":
    {"value"}}]}]}`` as one PostMetrics per post: search views are its impressions."""
    found: dict[str, PostMetrics] = {}
    entries = answer.get("localPostMetrics")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("localPostName"):
            continue
        values: dict[str, int] = {}
        for metric in entry.get("metricValues") or []:
            total = metric.get("totalValue") if isinstance(metric, dict) else None
            if isinstance(total, dict) and metric.get("metric"):
                values[str(metric["metric"])] = _count(total.get("value"))
        found[str(entry["localPostName"])] = PostMetrics(
            impressions=values.get("LOCAL_POST_VIEWS_SEARCH"),
            extra={"button_clicks": values.get("LOCAL_POST_ACTIONS_CALL_TO_ACTION", 0)},
        )
    return found


def daily_series(answer: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """The Performance API's nested series as metric -> {ISO date: value}; a day Google leaves
    without a value counts 0 (it omits zeros [unconfirmed])."""
    found: dict[str, dict[str, int]] = {}
    for group in answer.get("multiDailyMetricTimeSeries") or []:
        for series in group.get("dailyMetricTimeSeries") or [] if isinstance(group, dict) else []:
            if not isinstance(series, dict) or not series.get("dailyMetric"):
                continue
            days = found.setdefault(str(series["dailyMetric"]), {})
            timeline = series.get("timeSeries")
            for dated in (timeline.get("datedValues") or []) if isinstance(timeline, dict) else []:
                day = dated.get("date") if isinstance(dated, dict) else None
                if isinstance(day, dict) and {"year", "month", "day"} <= set(day):
                    key = date(int(day["year"]), int(day["month"]), int(day["day"])).isoformat()
                    days[key] = _count(dated.get("value"))
    return found


# --- Helpers ------------------------------------------------------------------------------------


def _api(account: AccountState) -> BusinessApi:
    return BusinessApi.of(account.secrets)


def _parent(account: AccountState) -> str:
    """The v4 path the location posts under, kept at connect time."""
    parent = str(account.extra.get("parent") or "")
    if not parent.startswith("accounts/") or f"/locations/{account.external_id}" not in parent:
        raise ProviderError(ErrorClass.AUTH, "This location's Google account is not known: reconnect it.",
                            code="no_parent")  # fmt: skip
    return parent


def _post_path(name: str) -> str:
    """A stored post name, checked before it goes into a URL path."""
    pieces = name.split("/")
    if len(pieces) != 6 or pieces[0::2] != ["accounts", "locations", "localPosts"] or not all(pieces[1::2]):
        raise ProviderError(ErrorClass.CONTENT, "That is not a Google Business Profile post.", code="bad_post_name")
    return "/".join(quote(piece, safe="") for piece in pieces)
