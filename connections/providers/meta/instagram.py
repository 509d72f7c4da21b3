"""Instagram professional accounts through Facebook Login (platforms-meta.md section 3).

Connected in the Facebook consent (``login``): each account publishes with the token of the
Page it is linked to. Publishing is container-based and asynchronous: the part creates its
container(s) (a carousel's children first, each checked before the parent is made), waits as
Pending while Meta fetches and processes the media (polled by the engine, never slept on),
reads ``status_code`` before ``media_publish`` (a container already PUBLISHED is never
published again, so a retry cannot post twice), and reads ``content_publishing_limit`` before
the first container, so a post over the daily quota waits with that reason.

The format is a per-post option (``format``: post, reel or story) in the composer's
per-platform settings; the composer checks the feed rules live, and the chosen format's own
rules (a Story's 60 s, a Reel's single video) are checked again here before anything is created.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    EXTRA,
    AccountMetrics,
    AccountState,
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
)
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaFacts, MediaRules, media_problems
from connections.providers.meta import ig_options, imports
from connections.providers.meta.graph import DAILY_LIMIT_SUBCODE, NOT_READY_SUBCODE, Graph, required_id, text_field
from connections.providers.meta.shared import (
    MetaLoginProvider,
    account_values,
    created_recently,
    day_window,
    picked,
    quota_pending,
    require_data_access,
    setting,
)

MAX_CAPTION = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_ALT_TEXT = 1000
IMAGE_BYTES = 8_000_000  # "8 MB"; decimal, the stricter reading
REEL_BYTES = 300_000_000
STORY_VIDEO_BYTES = 100_000_000
IMAGE_TYPES = ("image/jpeg",)  # JPEG only: other images reach Instagram as a fitted JPEG copy
VIDEO_TYPES = ("video/mp4", "video/quicktime")
QUOTA_RECHECK_S = 1800.0  # the quota is a rolling 24 h window: look again in half an hour
MAX_RECREATES = 2  # an expired container is made again, but not for ever
FORMATS = ("post", "reel", "story")
HASHTAG = re.compile(r"(?<![\w#])#\w+")
MENTION = re.compile(r"(?<![\w@])@[\w.]+")
# Post insights by the media's kind (section 3.3): the feed's, plus the Reels-only ones; Stories
# answer views, reach and shares, and their own replies and link clicks [?: which of the feed's
# metrics Stories take is not in the reference; likes, comments and saves are not asked].
FEED_METRICS = ("views", "reach", "likes", "comments", "saved", "shares", "total_interactions")
REELS_EXTRAS = ("ig_reels_avg_watch_time", "ig_reels_video_view_total_time")
STORY_METRICS = ("views", "reach", "shares", "total_interactions", "replies", "link_clicks")
PRODUCT_METRICS = {"FEED": FEED_METRICS, "REELS": FEED_METRICS + REELS_EXTRAS, "STORY": STORY_METRICS}
EXTRA_METRICS = ("reach", "saved", "shares", "total_interactions", "link_clicks", *REELS_EXTRAS)
# Account insights (section 3.3): totals over the day, and the daily series. Not the removed
# account-level impressions.
ACCOUNT_TOTALS = ("views", "likes", "comments", "shares", "saves", "replies", "total_interactions", "accounts_engaged")
ACCOUNT_SERIES = ("reach", "follower_count")  # follower_count: followers gained that day
ACCOUNT_FIELDS = "followers_count,follows_count,media_count"


class InstagramProvider(MetaLoginProvider):
    id = "instagram"
    name = "Instagram"
    setup_steps = (
        "Instagram professional accounts are connected through Facebook: connect Facebook Pages and choose the "
        "Instagram accounts linked to them in the same step."
    )
    connected_through = "facebook"
    signed_callbacks = False  # Facebook's app ran the consent: its callbacks cover these accounts
    composer_options = (
        ("format", "Format", (("post", "Post (photo, carousel or video)"), ("reel", "Reel"), ("story", "Story"))),
        ("share_to_feed", "Reels also in the feed", (("true", "Yes"), ("false", "No (Reels tab only)"))),
        ("collaborators", "Collaborators (up to 3 usernames, comma-separated)", ()),
        ("user_tags", "Tag people (@jane, or @jane 0.3 0.6 to place on an image)", ()),
        ("location_id", "Location (the place's Facebook Page id)", ()),
        ("thumb_offset", "Reel cover (seconds into the video)", ()),
    )
    typed_options = ig_options.TYPED

    def option_problem(self, *, name: str, value: str, options: Mapping[str, Any]) -> str:
        return ig_options.problem(name, value, options)

    check_fields: ClassVar[str] = "id,username,name"

    def profile_of(self, found: Any, account: AccountState) -> Profile:
        """As connected: "@kitten", the Instagram way of naming an account."""
        username = text_field(found, "username")
        return Profile(
            external_id=required_id(found, what="the account check"),
            username=f"@{username}" if username else account.username,
            display_name=text_field(found, "name") or username,
        )

    supports_metrics = True
    supports_import = True
    # Mapping table for analytics: the extras fetch_metrics returns -> our metric names.
    metric_names = {"reach": "reach", "saved": "saves", "shares": EXTRA, "total_interactions": EXTRA}
    # Story insights close after 24 h, and under 5 viewers they answer error 10.
    no_insights_codes: ClassVar[frozenset[str]] = frozenset({"100/33", "10"})
    # Not impressions, plays or video_views: removed for every version (April 2025).
    post_metrics = FEED_METRICS

    def metrics_for(self, api: Graph, post_id: str) -> tuple[str, ...]:
        """Reels have their watch-time extras, Stories their own set (no likes, comments or
        saves); asking a post for a metric its kind lacks is an error, so its kind is read."""
        kind = text_field(api.get(post_id, fields="media_product_type"), "media_product_type")
        return PRODUCT_METRICS.get(kind, self.post_metrics)

    def usage_budgets(self, account: AccountState) -> list[str]:
        return _budgets(account)

    def metrics_from(self, values: dict[str, int]) -> PostMetrics:
        extra = {name: values[name] for name in EXTRA_METRICS if name in values}
        return PostMetrics(
            likes=values.get("likes", 0),
            replies=values.get("comments", values.get("replies", 0)),  # a Story's replies are its answers
            reposts=values.get("shares", 0),
            impressions=values.get("views"),
            extra=extra,
        )

    def account_metrics(self, api: Graph, account: AccountState) -> AccountMetrics | None:
        """Followers, following and posts from the account itself (the IG User's counts; not
        in the reference, which covers insights only), views over the last day, reach and the
        day's new followers from the daily series."""
        ig, window = account.external_id, day_window()
        counts = api.get(ig, fields=ACCOUNT_FIELDS)
        totals = account_values(
            api.get(
                f"{ig}/insights", metric=",".join(ACCOUNT_TOTALS), metric_type="total_value", period="day", **window
            )
        )
        series = account_values(api.get(f"{ig}/insights", metric=",".join(ACCOUNT_SERIES), period="day", **window))
        followers = _whole(counts, "followers_count")
        if followers is None and not totals and not series:
            return None
        return AccountMetrics(
            followers=followers,
            following=_whole(counts, "follows_count"),
            posts_count=_whole(counts, "media_count"),
            views=totals.get("views"),
            extra={**picked(totals, ACCOUNT_TOTALS[1:]), **picked(series, ACCOUNT_SERIES)},
        )

    # --- Rules -----------------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(
            max_length=MAX_CAPTION,
            max_media=_carousel_max(),
            max_image_bytes=IMAGE_BYTES,
            accepted_mime_types=IMAGE_TYPES + VIDEO_TYPES,
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        """The feed's rules (the composer's default format): one image, a Reel, or a carousel."""
        return self.format_rules("post")

    def format_media_rules(self, *, account: AccountState | None, options: Mapping[str, Any]) -> MediaRules:
        """The chosen format's rules, so the composer checks a Story's 60 s live."""
        format_ = options.get("format")
        return self.format_rules(format_ if isinstance(format_, str) and format_ in FORMATS else "post")

    def format_rules(self, format_: str) -> MediaRules:
        if format_ == "story":
            image = FormatRule(IMAGE, "Instagram Stories", IMAGE_TYPES, max_bytes=IMAGE_BYTES, fits=True)
            video = FormatRule(
                VIDEO,
                "Instagram Story videos",
                VIDEO_TYPES,
                max_bytes=STORY_VIDEO_BYTES,
                duration_range=(3, 60),
                recommended_aspect="9:16",
            )
            return MediaRules(platform=self.name, formats=(image, video))
        reel = FormatRule(
            VIDEO,
            "Instagram Reels",
            VIDEO_TYPES,
            max_count=1 if format_ == "reel" else _carousel_max(),
            max_bytes=REEL_BYTES,
            duration_range=(3, 15 * 60),
            max_fps=60,
            video_codecs=("h264", "hevc"),
            audio_codecs=("aac",),
            aspect_range=(0.01, 10),
            recommended_aspect="9:16",
        )
        if format_ == "reel":
            return MediaRules(platform=self.name, formats=(reel,))
        image = FormatRule(
            IMAGE,
            "Instagram images",
            IMAGE_TYPES,
            max_count=_carousel_max(),
            max_bytes=IMAGE_BYTES,
            fits=True,
            aspect_range=(0.8, 1.91),
        )
        return MediaRules(platform=self.name, formats=(image, reel), may_mix=True)

    # --- Publishing ------------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        require_data_access(account)
        with self.api(account) as api:
            if part.index == 0:
                return self._main(api, account, request, part)
            held = self.paced(account, part, _budgets(account))
            return held if held is not None else self._comment(api, part)

    def _main(
        self, api: Graph, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        format_ = _format(request)
        state: dict[str, Any] = dict(part.state)
        if "container" not in state:
            if not state:
                _check_content(self.format_rules(format_), format_, part)
                _check_options(request, format_, part)
                held = self.paced(account, part, _budgets(account)) or self._over_quota(api, account, part)
                if held is not None:
                    return held
                state["quota_checked"] = True
            waiting = self._containers(api, account, request, part, state, format_)
            if waiting is not None:
                return waiting
        return self._publish_when_ready(api, account, request, part, state)

    def _over_quota(self, api: Graph, account: AccountState, part: PartRequest) -> Pending | None:
        data = api.get(f"{account.external_id}/content_publishing_limit", fields="quota_usage,config")
        return quota_pending(
            data,
            part,
            usage_key="quota_usage",
            config_key="config",
            what="Instagram's publishing limit",
            unit="posts",
            check_in_s=QUOTA_RECHECK_S,
        )

    def _containers(
        self,
        api: Graph,
        account: AccountState,
        request: PublishRequest,
        part: PartRequest,
        state: dict[str, Any],
        format_: str,
    ) -> Pending | None:
        """Make the container to publish (a carousel's children first, all FINISHED before the
        parent exists); Pending while a child is still being processed."""
        ig, media, caption = account.external_id, part.content.media, _caption(request, part)
        if format_ == "post" and len(media) > 1:
            if "children" not in state:
                state["children"] = [self._child(api, ig, item) for item in media]
            for number, child in enumerate(state["children"], start=1):
                status_code, words = _status(api, child)
                if status_code == "IN_PROGRESS":
                    return self._waiting(part, state, "Instagram is processing the carousel's media")
                if status_code == "ERROR":
                    raise ProviderError(
                        ErrorClass.CONTENT, f"Carousel item {number} failed at Instagram: {words}", code="child_error"
                    )
                if status_code == "EXPIRED":
                    return self._expired(part, state)
            children = ",".join(state["children"])
            # Collaborators and a place on the carousel itself [?: the reference names them for
            # single images and Reels]; people tags were refused before anything was made.
            created = api.post(
                f"{ig}/media",
                media_type="CAROUSEL",
                children=children,
                caption=caption,
                **_option_fields(request, "carousel", "image"),
            )
        else:
            to_feed = format_ == "post" or (request.options or {}).get("share_to_feed", "true") != "false"
            fields = _single_fields(format_, media[0], caption, to_feed=to_feed)
            created = api.post(f"{ig}/media", **fields, **_option_fields(request, format_, media[0].kind))
        state["container"] = required_id(created, what="the media container")
        return None

    def _child(self, api: Graph, ig: str, item: MediaItem) -> str:
        fields: dict[str, Any]
        if item.kind == "video":
            fields = {"media_type": "VIDEO", "video_url": item.public_url, "is_carousel_item": True}
        else:
            # alt_text is documented for single images only: not sent where Meta might refuse it.
            fields = {"image_url": item.public_url, "is_carousel_item": True}
        return required_id(api.post(f"{ig}/media", **fields), what="a carousel item")

    def _publish_when_ready(
        self, api: Graph, account: AccountState, request: PublishRequest, part: PartRequest, state: dict[str, Any]
    ) -> PublishedItem | Pending:
        container = str(state["container"])
        status_code, words = _status(api, container)
        if status_code == "IN_PROGRESS":
            return self._waiting(part, state, "Instagram is processing the media")
        if status_code == "ERROR":
            raise ProviderError(
                ErrorClass.CONTENT, f"Instagram could not process the media: {words}", code="container_error"
            )
        if status_code == "EXPIRED":
            return self._expired(part, state)
        if status_code == "PUBLISHED":
            # An earlier media_publish landed but its answer was lost: never publish twice.
            found = self._landed(api, account, request, part, container)
            if found is None:
                raise ProviderError(
                    ErrorClass.TRANSIENT,
                    "Instagram says the post went out but does not list it yet.",
                    code="published_unlisted",
                    outcome_unknown=True,
                )
            return found
        try:
            published = api.post(f"{account.external_id}/media_publish", creation_id=container, create_call=True)
        except ProviderError as exc:
            if exc.code.endswith(f"/{NOT_READY_SUBCODE}"):
                return self._waiting(part, state, "Instagram is processing the media")
            if exc.code.endswith(f"/{DAILY_LIMIT_SUBCODE}"):
                return Pending(
                    reason="Instagram's daily publishing limit is reached; the post waits",
                    state=state,
                    check_in_s=QUOTA_RECHECK_S,
                )
            raise
        media_id = required_id(published, what="media_publish", create_call=True)
        return PublishedItem(platform_post_id=media_id, url=self._permalink(api, account, media_id))

    def _waiting(self, part: PartRequest, state: dict[str, Any], reason: str) -> Pending:
        return self.still_processing(part, reason, **state)

    def _expired(self, part: PartRequest, state: dict[str, Any]) -> Pending:
        """Containers expire after 24 h unpublished: make new ones (nothing was posted)."""
        recreated = int(state.get("recreated", 0)) + 1
        if recreated > MAX_RECREATES:
            message = "Instagram let the media container expire again; publish the post again later."
            raise ProviderError(ErrorClass.CONTENT, message, code="container_expired")
        fresh = {"quota_checked": True, "recreated": recreated}
        return Pending(reason="Instagram's media container expired; making a new one", state=fresh, check_in_s=1)

    def _permalink(self, api: Graph, account: AccountState, media_id: str) -> str:
        """Read after the post landed: a failure here must not lose the fact that it did."""
        try:
            return text_field(api.get(media_id, fields="id,permalink"), "permalink") or _profile_url(account)
        except ProviderError:
            return _profile_url(account)

    def _comment(self, api: Graph, part: PartRequest) -> PublishedItem:
        """The first comment and the first reply comment on the post; later replies answer the
        comment before them."""
        parent = part.parent.platform_post_id if part.parent else ""
        edge = "replies" if part.kind == PartKind.REPLY and part.index > 1 else "comments"
        comment = api.post(f"{parent}/{edge}", message=part.content.text, create_call=True)
        comment_id = required_id(comment, what="the comment", create_call=True)
        return PublishedItem(platform_post_id=comment_id, url=part.root.url if part.root else "")

    # --- After publishing ------------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """The container the part made says whether it was published; the account's recent
        media (or the parent's comments) then say which post it became."""
        with self.api(account) as api:
            if part.index == 0:
                container = str(part.state.get("container") or "")
                if container and _status(api, container)[0] != "PUBLISHED":
                    return None
                if not container and not _matchable(request, part):
                    message = "Instagram offers no way to find a post without a caption; check the account."
                    raise ProviderError(ErrorClass.CONFIG, message, code="no_lookup")
                return self._landed(api, account, request, part, container)
            parent = part.parent.platform_post_id if part.parent else ""
            edge = "replies" if part.kind == PartKind.REPLY and part.index > 1 else "comments"
            username = account.username.lstrip("@")
            for comment in api.pages(f"{parent}/{edge}", fields="id,text,timestamp,username", limit=50):
                if (
                    text_field(comment, "text").strip() == part.content.text.strip()
                    and text_field(comment, "username") == username
                ):
                    return PublishedItem(
                        platform_post_id=text_field(comment, "id"), url=part.root.url if part.root else ""
                    )
        return None

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """The account's feed posts and Reels (``media``), newest first; Instagram Login's
        accounts list the same edge on their own host (section 4)."""
        require_data_access(account)
        profile = _profile_url(account)
        with self.api(account) as api:
            return imports.page_of(
                api, f"{account.external_id}/media", imports.INSTAGRAM_FIELDS, cursor,
                lambda media: imports.instagram_item(media, profile_url=profile),
            )  # fmt: skip

    def _landed(
        self, api: Graph, account: AccountState, request: PublishRequest, part: PartRequest, container: str
    ) -> PublishedItem | None:
        """The post a PUBLISHED container (or, without one, our caption) became. Stories and
        captionless posts cannot be matched among recent media: Instagram's word that the
        container was published is taken, and the container's id kept in place of the post's."""
        if _matchable(request, part):
            return self._recent_media(api, account, _caption(request, part))
        if container:
            return PublishedItem(platform_post_id=container, url=_profile_url(account), extra={"container": True})
        return None

    def _recent_media(self, api: Graph, account: AccountState, caption: str) -> PublishedItem | None:
        recent = api.pages(
            f"{account.external_id}/media", limit_pages=1, fields="id,caption,timestamp,permalink", limit=25
        )
        for media in recent:
            if text_field(media, "caption").strip() == caption.strip() and created_recently(
                text_field(media, "timestamp")
            ):
                media_id = text_field(media, "id")
                return PublishedItem(
                    platform_post_id=media_id, url=text_field(media, "permalink") or _profile_url(account)
                )
        return None


# --- Helpers ------------------------------------------------------------------------------------


def _whole(found: Any, key: str) -> int | None:
    value = found.get(key) if isinstance(found, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _budgets(account: AccountState) -> list[str]:
    """The Instagram account's own usage budget, and its Page's: the calls go with the Page token."""
    page_id = account.extra.get("page_id")
    return [account.external_id, *([page_id] if isinstance(page_id, str) and page_id else [])]


def _carousel_max() -> int:
    return int(setting("META_IG_CAROUSEL_MAX"))


def _format(request: PublishRequest) -> str:
    format_ = str((request.options or {}).get("format") or "post")
    if format_ not in FORMATS:
        raise ProviderError(
            ErrorClass.CONTENT, f"Instagram has no format {format_!r}; use post, reel or story.", code="bad_option"
        )
    return format_


def _matchable(request: PublishRequest, part: PartRequest) -> bool:
    return _format(request) != "story" and bool(_caption(request, part).strip())


def _caption(request: PublishRequest, part: PartRequest) -> str:
    """Links in captions are not clickable, but the author asked for it: it goes at the end."""
    text = part.content.text
    if request.link and request.link not in text:
        return f"{text}\n\n{request.link}".strip()
    return text


def _check_content(rules: MediaRules, format_: str, part: PartRequest) -> None:
    """The chosen format's rules, before anything is created (the composer checked the feed's)."""
    media = part.content.media
    problems: list[str] = []
    if not media:
        problems.append("Instagram posts need a photo or a video.")
    elif format_ in ("reel", "story") and len(media) > 1:
        problems.append(f"An Instagram {format_} takes one photo or video.")
    elif format_ == "post" and len(media) > 1 and len(media) > _carousel_max():
        problems.append(f"An Instagram carousel takes 2 to {_carousel_max()} items.")
    problems += media_problems(rules, [_facts(item) for item in media])
    text = part.content.text
    if len(HASHTAG.findall(text)) > MAX_HASHTAGS:
        problems.append(f"Instagram captions take at most {MAX_HASHTAGS} hashtags.")
    if len(MENTION.findall(text)) > MAX_MENTIONS:
        problems.append(f"Instagram captions take at most {MAX_MENTIONS} @-mentions.")
    if problems:
        raise ProviderError(ErrorClass.CONTENT, " ".join(problems), code="format_rules")


def _check_options(request: PublishRequest, format_: str, part: PartRequest) -> None:
    """The typed options again (the services checked them when the post was saved), and what
    only the media says: people tags go on one image, a Reel or a Story, not on a carousel."""
    options = request.options or {}
    problems = [
        words
        for name, _input in ig_options.TYPED
        if (value := ig_options.typed(options, name)) and (words := ig_options.problem(name, value, options))
    ]
    frame, media = ig_options.typed(options, "thumb_offset"), part.content.media
    length = media[0].duration_s if len(media) == 1 else None
    if frame and not problems and length is not None and ig_options.thumb_offset_ms(frame) > length * 1000:
        problems.append(f"The Reel cover at {frame} s is past the video's end ({length:.0f} s).")
    if ig_options.typed(options, "user_tags") and format_ == "post" and len(media) > 1:
        problems.append("Instagram takes people tags on a single image, a Reel or a Story, not on a carousel.")
    if problems:
        raise ProviderError(ErrorClass.CONTENT, " ".join(problems), code="bad_option")


def _option_fields(request: PublishRequest, format_: str, kind: str) -> dict[str, Any]:
    """The container fields of the author's typed options for this format and kind of media:
    tags placed on an image carry where (the middle unless said), others only the username."""
    options = request.options or {}
    fields: dict[str, Any] = {}
    tags = ig_options.typed(options, "user_tags")
    if tags and format_ != "carousel":
        fields["user_tags"] = [
            {"username": tag.username, "x": tag.x, "y": tag.y} if kind == "image" else {"username": tag.username}
            for tag in ig_options.user_tags(tags)
        ]
    if format_ == "story":
        return fields
    names = ig_options.typed(options, "collaborators")
    if names:
        fields["collaborators"] = ig_options.collaborators(names)
    place = ig_options.typed(options, "location_id")
    if place:
        fields["location_id"] = ig_options.location_id(place)
    frame = ig_options.typed(options, "thumb_offset")
    if frame and kind == "video":
        fields["thumb_offset"] = ig_options.thumb_offset_ms(frame)
    return fields


def _facts(item: MediaItem) -> MediaFacts:
    return MediaFacts(
        name=item.filename,
        kind=item.kind,
        mime_type=item.mime_type,
        size=item.size,
        width=item.width,
        height=item.height,
        duration_s=item.duration_s,
    )


def _single_fields(format_: str, item: MediaItem, caption: str, *, to_feed: bool) -> dict[str, Any]:
    url_field = "video_url" if item.kind == "video" else "image_url"
    if format_ == "story":
        return {"media_type": "STORIES", url_field: item.public_url}  # Stories take no caption
    if item.kind == "video":
        # Every standalone video is a Reel since July 2023; a "post" video is shown in the feed too.
        return {"media_type": "REELS", "video_url": item.public_url, "caption": caption, "share_to_feed": to_feed}
    return {"image_url": item.public_url, "caption": caption, "alt_text": item.alt_text[:MAX_ALT_TEXT] or None}


def _status(api: Graph, container: str) -> tuple[str, str]:
    found = api.get(container, fields="status_code,status")
    return text_field(found, "status_code"), text_field(found, "status")


def _profile_url(account: AccountState) -> str:
    username = account.username.lstrip("@")
    return f"https://www.instagram.com/{username}/" if username else "https://www.instagram.com/"
