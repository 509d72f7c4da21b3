"""Pinterest (API v5), per platforms-other.md section 5.

Connecting: OAuth 2.0 with the app's Basic header on the token endpoint; the access token lasts
30 days and is refreshed, and any refresh token an answer carries replaces ours (Pinterest is
moving to refresh tokens that rotate). One consent is one account.

Publishing: every pin goes to a board, chosen per post from the account's own boards (the
composer lists them through ``composer_choices``), and optionally to one of that board's
sections (listed the same way, valued "<board>:<section>" so the pair is checked together). A
pin is one image (pulled by URL where Postwright serves one, else sent inline), a carousel of
2-5 images, or one video (registered, uploaded to the storage URL Pinterest hands out, then
polled through Pending until processed).
The text's first line is the pin's title when more lines follow; the rest is the description.
Pins have no replies or comments through the API.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from django.core.cache import cache

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    EXTRA,
    AccountMetrics,
    AccountState,
    AppCredentials,
    MediaItem,
    PartKind,
    PartRequest,
    Pending,
    PostMetrics,
    PostPage,
    Profile,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules
from connections.providers.oauth2 import OAuth2Provider
from connections.providers.pinterest import imports
from connections.providers.pinterest.client import (
    PinterestApi,
    next_bookmark,
    pin_url,
    pinterest_time,
    setting,
    upload_to_storage,
)

TITLE_MAX = 100
DESCRIPTION_MAX = 800
ALT_TEXT_MAX = 500
LINK_MAX = 2048
CAROUSEL = (2, 5)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
VIDEO_SECONDS = (4.0, 15 * 60.0)
BOARDS_PAGE = 250
BOARDS_CACHE_S = 120
RECENT_PINS = 100
CLOCK_SKEW = timedelta(minutes=5)
ANALYTICS_DAYS = 90  # the furthest back Pinterest's analytics window reaches
METRIC_TYPES = "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK,VIDEO_MRC_VIEW"
BOARD = "board"
SECTION = "board_section"
CHOOSE = ("", "Choose...")
NO_SECTION = ("", "No section")
SECTIONS_PAGE = 100


class PinterestProvider(OAuth2Provider):
    id = "pinterest"
    name = "Pinterest"
    authorize_url = "https://www.pinterest.com/oauth/"
    token_url = "https://api.pinterest.com/v5/oauth/token"
    token_endpoint_auth_method = "client_secret_basic"
    scope_separator = ","
    supports_pkce = False
    supports_check = True
    supports_refresh = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_account_metrics = True
    supports_import = True
    # Mapping table for analytics: the extras fetch_metrics returns -> our metric names.
    metric_names = {"outbound_clicks": "clicks", "pin_clicks": EXTRA, "video_views": EXTRA, "saves": EXTRA}
    # GET /user_account's counts -> ours. ``monthly_views`` (business accounts only) counts the
    # last 30 days, not a running total like the other platforms' views, so it stays an extra
    # rather than sitting in the same column as YouTube's lifetime views.
    account_metric_names = {
        "follower_count": "followers",
        "following_count": "following",
        "pin_count": "posts_count",
        "monthly_views": EXTRA,
        "board_count": EXTRA,
    }
    default_scopes = ("boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read")
    developer_console_url = "https://developers.pinterest.com/apps/"
    setup_steps = (
        "Create an app at developers.pinterest.com, add this site's callback URL as a redirect URI, "
        "and set PINTEREST_CLIENT_ID and PINTEREST_CLIENT_SECRET. Until Pinterest grants the app "
        "Standard access, set PINTEREST_API_URL to the sandbox host."
    )
    composer_options = ((BOARD, "Board", (CHOOSE,)), (SECTION, "Board section", (NO_SECTION,)))
    account_options = (BOARD, SECTION)
    # A section's value is "<board id>:<section id>": the composer offers the chosen board's.
    option_choices_follow = ((SECTION, BOARD),)
    required_options = (BOARD,)
    processing_limit_s: ClassVar[int] = 60 * 60

    # --- Connect --------------------------------------------------------------------------------

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with PinterestApi(tokens.access_token) as api:
            return _profile(api.json("GET", "/user_account"))

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        with _api(account) as api:
            return _profile(api.json("GET", "/user_account"))

    # --- Composer -------------------------------------------------------------------------------

    def composer_choices(self, *, account: AccountState, name: str) -> tuple[tuple[str, str], ...]:
        """The account's boards, every page of them, as the board option's choices; and their
        sections as the section option's. Kept a short while, so each composer page does not ask
        Pinterest again (a new board or section shows soon after)."""
        if name not in (BOARD, SECTION):
            return ()
        key = f"pinterest-{name}s:{account.external_id}"
        cached = cache.get(key)
        if isinstance(cached, tuple):
            return cached
        choices = (CHOOSE, *self._boards(account)) if name == BOARD else (NO_SECTION, *self._sections(account))
        cache.set(key, choices, timeout=BOARDS_CACHE_S)
        return choices

    def _sections(self, account: AccountState) -> list[tuple[str, str]]:
        """Every section of the account's boards, as "<board>:<section>" named "Board / Section".
        One call per board, so only the first PINTEREST_SECTIONS_MAX_BOARDS boards are read."""
        boards = self.composer_choices(account=account, name=BOARD)[1:]
        sections: list[tuple[str, str]] = []
        with _api(account) as api:
            for board_id, board_name in boards[: int(setting("PINTEREST_SECTIONS_MAX_BOARDS"))]:
                sections += [(f"{board_id}:{section_id}", f"{board_name} / {section_name}")
                             for section_id, section_name in _board_sections(api, board_id)]  # fmt: skip
        return sections

    def options_problems(self, *, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        problem = section_problem(options)
        return [(SECTION, problem)] if problem else []

    def _boards(self, account: AccountState) -> list[tuple[str, str]]:
        boards: list[tuple[str, str]] = []
        params: dict[str, Any] = {"page_size": BOARDS_PAGE}
        with _api(account) as api:
            for _ in range(CHOICE_PAGES_MAX):
                answer = api.json("GET", "/boards", params=params)
                items = answer.get("items")
                for board in items if isinstance(items, list) else []:
                    if isinstance(board, dict) and board.get("id"):
                        boards.append((str(board["id"]), str(board.get("name") or board["id"])))
                bookmark = next_bookmark(answer, params)
                if bookmark is None:
                    break
                params = {"page_size": BOARDS_PAGE, "bookmark": bookmark}
        return boards

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(
            max_length=TITLE_MAX + 1 + DESCRIPTION_MAX,
            max_media=CAROUSEL[1],
            max_image_bytes=int(setting("PINTEREST_IMAGE_MAX_BYTES")),
            accepted_mime_types=(*IMAGE_TYPES, *VIDEO_TYPES),
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        images = FormatRule(IMAGE, "Pinterest images", IMAGE_TYPES, max_count=CAROUSEL[1],
                            max_bytes=int(setting("PINTEREST_IMAGE_MAX_BYTES")), fits=True)  # fmt: skip
        video_bytes = int(setting("PINTEREST_VIDEO_MAX_BYTES"))
        video = FormatRule(VIDEO, "Pinterest video", VIDEO_TYPES, max_bytes=video_bytes, duration_range=VIDEO_SECONDS)
        return MediaRules(platform=self.name, formats=(images, video))

    # --- Publishing -----------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        if part.kind != PartKind.MAIN:
            raise ProviderError(ErrorClass.CONTENT, "A Pinterest pin takes no replies or comments.", code="no_threads")
        body = pin_body(request, part)  # bad input fails before anything is uploaded
        with _api(account) as api:
            source = self._media_source(api, part)
            if isinstance(source, Pending):
                return source
            created = api.json("POST", "/pins", json={**body, "media_source": source}, create_call=True)
        pin_id = created.get("id")
        if not isinstance(pin_id, str | int) or isinstance(pin_id, bool) or not str(pin_id):
            raise ProviderError(ErrorClass.TRANSIENT, "Pinterest's answer to the pin has no id.", code="malformed",
                                outcome_unknown=True)  # fmt: skip
        return PublishedItem(platform_post_id=str(pin_id), url=pin_url(str(pin_id)))

    def _media_source(self, api: PinterestApi, part: PartRequest) -> dict[str, Any] | Pending:
        media = part.content.media
        videos = [item for item in media if item.mime_type in VIDEO_TYPES]
        images = [item for item in media if item.mime_type in IMAGE_TYPES]
        if len(videos) + len(images) != len(media):
            raise ProviderError(ErrorClass.CONTENT, "Pinterest takes JPEG, PNG or WebP images, or MP4 or MOV video.",
                                code="media_type")  # fmt: skip
        if videos:
            if len(videos) > 1 or len(images) > 1:
                raise ProviderError(ErrorClass.CONTENT, "A video pin takes one video (and at most one cover image).",
                                    code="media_mix")  # fmt: skip
            return self._video_source(api, part, videos[0], images[0] if images else None)
        if not images:
            raise ProviderError(ErrorClass.CONTENT, "A Pinterest pin needs an image or a video.", code="no_media")
        if len(images) == 1:
            return _image_source(images[0])
        return _carousel_source(images)

    def _video_source(
        self, api: PinterestApi, part: PartRequest, video: MediaItem, cover: MediaItem | None
    ) -> dict[str, Any] | Pending:
        """Register, upload, then wait for Pinterest's processing: each step is skipped once the
        part's upload store says it is done, so a retry never registers the video twice."""
        key = f"video:{video.filename}:{video.size}"
        stored = part.uploads.load(key) or {}
        if not stored.get("media_id"):
            registered = api.json("POST", "/media", json={"media_type": "video"})
            if not registered.get("media_id") or not isinstance(registered.get("upload_url"), str):
                message = "Pinterest's media registration has no media_id or upload_url."
                raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed")
            fields = registered.get("upload_parameters")
            stored = {"media_id": str(registered["media_id"]), "upload_url": registered["upload_url"],
                      "fields": fields if isinstance(fields, dict) else {}}  # fmt: skip
            part.uploads.save(key, stored)
        if not stored.get("uploaded"):
            with video.open() as stream:
                upload_to_storage(
                    str(stored["upload_url"]), stored["fields"], (video.filename, stream, video.mime_type)
                )
            stored = {**stored, "uploaded": True}
            part.uploads.save(key, stored)
        media_id = str(stored["media_id"])
        status = str(api.json("GET", f"/media/{quote(media_id, safe='')}").get("status") or "")
        if status == "failed":
            raise ProviderError(ErrorClass.CONTENT, "Pinterest could not process the video.", code="media_failed")
        if status != "succeeded":
            return self._still_processing(part)
        source: dict[str, Any] = {"source_type": "video_id", "media_id": media_id}
        if cover is not None and cover.public_url:
            source["cover_image_url"] = cover.public_url
        else:
            source["cover_image_key_frame_time"] = int(setting("PINTEREST_VIDEO_COVER_FRAME"))
        return source

    def _still_processing(self, part: PartRequest) -> Pending:
        since = float(part.state.get("since") or time.time())
        if time.time() - since > self.processing_limit_s:
            minutes = self.processing_limit_s // 60
            message = f"Pinterest was still processing the video after {minutes} minutes."
            raise ProviderError(ErrorClass.CONTENT, message, code="processing_timeout")
        return Pending(reason="Pinterest is processing the video", state={**part.state, "since": since})

    # --- After publishing -----------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """The pin among the board's latest ones: same title, description and link, created no
        earlier than the run that sent it (less clock skew), so an older identical pin is not it."""
        if part.kind != PartKind.MAIN:
            return None
        body = pin_body(request, part)
        path = str(setting("PINTEREST_BOARD_PINS_PATH")).format(board_id=quote(body["board_id"], safe=""))
        with _api(account) as api:
            items = api.json("GET", path, params={"page_size": RECENT_PINS}).get("items")
        for pin in items if isinstance(items, list) else []:
            if isinstance(pin, dict) and pin.get("id") and _same_pin(pin, body, part.sent_after):
                return PublishedItem(platform_post_id=str(pin["id"]), url=pin_url(str(pin["id"])))
        return None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with _api(account) as api:
            try:
                api.call("DELETE", f"/pins/{quote(platform_post_id, safe='')}")
            except ProviderError as exc:
                if exc.status != 404:
                    raise
                # Already gone: the goal is met.

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Each pin's totals over the last 90 days (the furthest back Pinterest reaches)."""
        today = datetime.now(UTC).date()
        params = {"start_date": (today - timedelta(days=ANALYTICS_DAYS - 1)).isoformat(), "end_date": today.isoformat(),
                  "metric_types": METRIC_TYPES, "app_types": "ALL"}  # fmt: skip
        metrics: dict[str, PostMetrics] = {}
        with _api(account) as api:
            for pin_id in platform_post_ids:
                try:
                    answer = api.json("GET", f"/pins/{quote(pin_id, safe='')}/analytics", params=params)
                except ProviderError as exc:
                    if exc.status == 404:
                        continue  # a deleted pin has no counts left to read
                    raise
                metrics[pin_id] = _metrics(answer)
        return metrics

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        with _api(account) as api:
            me = api.json("GET", "/user_account")
        if str(me.get("id") or "") != account.external_id:
            raise ProviderError(ErrorClass.AUTH, "This Pinterest token belongs to another account: reconnect.",
                                code="account_mismatch")  # fmt: skip
        return AccountMetrics.from_platform(me, self.account_metric_names)

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        with _api(account) as api:
            return imports.list_own_pins(api, cursor=cursor)


# --- Helpers ------------------------------------------------------------------------------------


def _api(account: AccountState) -> PinterestApi:
    return PinterestApi.of(account.secrets)


def _profile(me: Mapping[str, Any]) -> Profile:
    if not me.get("id") or not me.get("username"):
        raise ProviderError(ErrorClass.TRANSIENT, "Pinterest sent an account without an id or username.",
                            code="malformed")  # fmt: skip
    username = str(me["username"])
    return Profile(
        external_id=str(me["id"]),
        username=username,
        display_name=str(me.get("business_name") or username),
        avatar_url=str(me.get("profile_image") or ""),
        profile_url=f"https://www.pinterest.com/{quote(username)}/",
    )


def _board_sections(api: PinterestApi, board_id: str) -> list[tuple[str, str]]:
    """A board's sections (id, name), every page; a board Pinterest no longer has lists none."""
    path = str(setting("PINTEREST_BOARD_SECTIONS_PATH")).format(board_id=quote(board_id, safe=""))
    found: list[tuple[str, str]] = []
    params: dict[str, Any] = {"page_size": SECTIONS_PAGE}
    for _ in range(CHOICE_PAGES_MAX):
        try:
            answer = api.json("GET", path, params=params)
        except ProviderError as exc:
            if exc.status == 404:
                return found  # deleted since the boards were listed
            raise
        items = answer.get("items")
        for section in items if isinstance(items, list) else []:
            if isinstance(section, dict) and str(section.get("id") or "").isdigit():
                found.append((str(section["id"]), str(section.get("name") or section["id"])))
        bookmark = next_bookmark(answer, params)
        if bookmark is None:
            return found
        params = {"page_size": SECTIONS_PAGE, "bookmark": bookmark}
    return found


# A composer's choice list is read while the author waits: a bounded number of pages, and a
# bookmark Pinterest hands back again ends the list instead of asking for the same page forever.
CHOICE_PAGES_MAX = 50


def section_problem(options: Mapping[str, Any]) -> str:
    """Why the chosen section cannot go with the chosen board ("" when it can, or none is chosen)."""
    chosen = str(options.get(SECTION) or "").strip()
    if not chosen:
        return ""
    board, _colon, section = chosen.partition(":")
    if not (board.isdigit() and section.isdigit()):
        return "That board section is not one Pinterest listed: choose the section again."
    if board != str(options.get(BOARD) or "").strip():
        return "That section belongs to another board: choose one of the chosen board's sections, or no section."
    return ""


def title_and_description(text: str) -> tuple[str, str]:
    """The first line is the title when more lines follow it; otherwise all is description."""
    first, _newline, rest = text.strip().partition("\n")
    if rest.strip():
        return first.strip(), rest.strip()
    return "", first.strip()


def pin_body(request: PublishRequest, part: PartRequest) -> dict[str, Any]:
    board = str(request.options.get(BOARD) or "").strip()
    if not board.isdigit():
        raise ProviderError(ErrorClass.CONTENT, "Choose the Pinterest board to pin to.", code="no_board")
    title, description = title_and_description(part.content.text)
    if len(title) > TITLE_MAX:
        raise ProviderError(ErrorClass.CONTENT, f"A Pinterest title takes at most {TITLE_MAX} characters.",
                            code="title_too_long")  # fmt: skip
    if len(description) > DESCRIPTION_MAX:
        raise ProviderError(ErrorClass.CONTENT, f"A Pinterest description takes at most {DESCRIPTION_MAX} characters.",
                            code="description_too_long")  # fmt: skip
    if len(request.link) > LINK_MAX:
        raise ProviderError(ErrorClass.CONTENT, f"A Pinterest link takes at most {LINK_MAX} characters.",
                            code="link_too_long")  # fmt: skip
    problem = section_problem(request.options)
    if problem:
        raise ProviderError(ErrorClass.CONTENT, problem, code="bad_section")
    body: dict[str, Any] = {"board_id": board}
    section = str(request.options.get(SECTION) or "").strip()
    if section:
        body["board_section_id"] = section.partition(":")[2]
    if title:
        body["title"] = title
    if description:
        body["description"] = description
    if request.link:
        body["link"] = request.link
    alt = next((item.alt_text for item in part.content.media if item.alt_text), "")
    if alt:
        body["alt_text"] = alt[:ALT_TEXT_MAX]
    return body


def _image_source(item: MediaItem) -> dict[str, Any]:
    if item.public_url:
        return {"source_type": "image_url", "url": item.public_url}
    with item.open() as stream:
        data = base64.b64encode(stream.read()).decode("ascii")
    return {"source_type": "image_base64", "content_type": item.mime_type, "data": data}


def _carousel_source(images: list[MediaItem]) -> dict[str, Any]:
    low, high = CAROUSEL
    if not low <= len(images) <= high:
        raise ProviderError(ErrorClass.CONTENT, f"A Pinterest carousel takes {low} to {high} images.",
                            code="too_many_media")  # fmt: skip
    if not all(item.public_url for item in images):
        # Pinterest pulls carousel images by URL only; without one there is nothing to pull.
        raise ProviderError(ErrorClass.CONFIG, "A Pinterest carousel needs the images served at public URLs.",
                            code="no_public_url")  # fmt: skip
    return {"source_type": "multiple_image_urls", "items": [{"url": item.public_url} for item in images]}


def _same_pin(pin: Mapping[str, Any], body: Mapping[str, Any], sent_after: datetime | None) -> bool:
    for field in ("title", "description", "link"):
        if str(pin.get(field) or "") != str(body.get(field) or ""):
            return False
    if sent_after is None:
        return True
    created = pinterest_time(pin.get("created_at"))
    return created is not None and created >= sent_after - CLOCK_SKEW


def _metrics(answer: Mapping[str, Any]) -> PostMetrics:
    found = answer.get("all")
    summary = found.get("summary_metrics") if isinstance(found, dict) else None
    counts = summary if isinstance(summary, dict) else {}

    def number(key: str) -> int:
        value = counts.get(key)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0

    impressions = counts.get("IMPRESSION")
    seen = int(impressions) if isinstance(impressions, int | float) and not isinstance(impressions, bool) else None
    # A save puts the pin on another board: Pinterest's repost.
    return PostMetrics(
        reposts=number("SAVE"),
        impressions=seen,
        extra={"saves": number("SAVE"), "pin_clicks": number("PIN_CLICK"), "outbound_clicks": number("OUTBOUND_CLICK"),
               "video_views": number("VIDEO_MRC_VIEW")},
    )  # fmt: skip
