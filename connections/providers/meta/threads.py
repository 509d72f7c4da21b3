"""Threads (platforms-meta.md section 5): its own OAuth and app, on graph.threads.net.

Every part is a container, then ``threads_publish``: text (with an optional link attachment),
one image, one video or a carousel of 2-20 items. A part with media waits as Pending while
Meta fetches it (the container's ``status``, polled by the engine, never slept on); a
carousel's children are all FINISHED before the parent is made. Thread replies and the first
comment are posts with ``reply_to_id`` (each reply answers the part before it, the first
comment the main post). Only ``threads_publish`` makes anything visible, so it is the one call
whose lost answer is looked up (the account's recent threads, or the parent's replies).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
    MediaItem,
    PartRequest,
    Pending,
    PostMetrics,
    PostPage,
    Profile,
    Provider,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules
from connections.providers.meta import imports, login
from connections.providers.meta.graph import Graph, background_hold, required_id, text_field
from connections.providers.meta.shared import (
    account_values,
    created_recently,
    day_window,
    insight_values,
    paced,
    picked,
    quota_pending,
    setting,
)
from connections.providers.meta.tokens import login_connection, token_call, token_set

MAX_TEXT = 500
MAX_LINKS = 5
IMAGE_BYTES = 8_000_000
VIDEO_BYTES = 1_000_000_000
SCOPES = (
    "threads_basic",
    "threads_content_publish",
    "threads_manage_replies",
    "threads_read_replies",
    "threads_manage_insights",
    "threads_delete",
)
REPLY_CONTROLS = (
    ("everyone", "Everyone"),
    ("accounts_you_follow", "Accounts you follow"),
    ("mentioned_only", "Mentioned only"),
    ("parent_post_author_only", "Only you"),
    ("followers_only", "Followers only"),
)
POST_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")
# User insights (section 5.4); follower_demographics needs a breakdown and is not asked for.
ACCOUNT_METRICS = ("views", "followers_count", "likes", "replies", "reposts", "quotes", "clicks")
MAX_RECREATES = 2
QUOTA_FIELDS = "quota_usage,config,reply_quota_usage,reply_config"
QUOTA_RECHECK_S = 1800.0  # a rolling 24 h window: look again in half an hour


def _host() -> str:
    """Threads' API origin (``META_THREADS_API_URL``)."""
    return str(setting("META_THREADS_API_URL"))


def _api(token: str) -> Graph:
    # No appsecret_proof: Threads documents none.
    return Graph(token, origin=_host(), version=str(setting("META_THREADS_VERSION")))


@contextmanager
def _account_api(account: AccountState) -> Iterator[Graph]:
    with _api(str(account.secrets.get("access_token") or "")) as api:
        yield api


class ThreadsProvider(Provider):
    id = "threads"
    name = "Threads"
    supports_pkce = False
    supports_check = True
    supports_refresh = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_account_metrics = True
    supports_import = True
    signed_callbacks: ClassVar[bool] = True  # Meta signs its callbacks with the Threads app's secret
    # Long-lived tokens last 60 days and can be refreshed once a day old: renewed 10 days ahead.
    refresh_margin_s = 10 * 24 * 3600
    default_scopes = SCOPES
    developer_console_url = "https://developers.facebook.com/apps/"
    setup_steps = (
        "Add the Threads use case to a Meta app, set THREADS_CLIENT_ID and THREADS_CLIENT_SECRET to its "
        "Threads app id and secret, and add SITE_URL/connections/callback/threads/ as a redirect URI."
    )
    connect_intro = "Log in with your Threads account and allow Postwright to post for it."
    composer_options = (("reply_control", "Who can reply", REPLY_CONTROLS),)
    check_delays_s: ClassVar[tuple[float, ...]] = (10, 20, 30, 60)

    # --- Connect ---------------------------------------------------------------------------------

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        login.require_public_site()  # Meta pulls every image and video from our URLs
        params = {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "scope": ",".join(app.scopes or self.default_scopes),  # comma-separated, or Threads refuses them
            "response_type": "code",
            "state": state,
        }
        return f"{setting('META_THREADS_AUTHORIZE_URL')}?{urlencode(params)}"

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        """Code -> short-lived token (1 h) -> long-lived token (60 days)."""
        short = token_call(
            "POST",
            f"{_host()}/oauth/access_token",
            what="Threads",
            data={
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "code": code.removesuffix("#_"),
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
            },
        )
        long = token_call(
            "GET",
            f"{_host()}/access_token",
            what="Threads",
            params={
                "grant_type": "th_exchange_token",
                "client_secret": app.client_secret,
                "access_token": short["access_token"],
            },
        )
        tokens = token_set(long)
        tokens.extra = {login.USER_ID: text_field(short, "user_id"), login.APP_ID: app.client_id}
        return tokens

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        return [login_connection(tokens, self.fetch_profile(tokens=tokens))]

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with _api(tokens.access_token) as api:
            return _profile(api.get("me", fields="id,username,name,threads_profile_picture_url"))

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        with _account_api(account) as api:
            return _profile(api.get("me", fields="id,username,name,threads_profile_picture_url"))

    def refresh(self, *, app: AppCredentials | None, account: AccountState) -> TokenSet:
        """A long-lived token at least a day old and not yet expired gives another 60 days."""
        token = str(account.secrets.get("access_token") or "")
        renewed = token_call(
            "GET",
            f"{_host()}/refresh_access_token",
            what="Threads",
            params={"grant_type": "th_refresh_token", "access_token": token},
        )
        return token_set(renewed)

    # --- Rules -----------------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(
            max_length=MAX_TEXT,
            max_media=_carousel_max(),
            max_image_bytes=IMAGE_BYTES,
            accepted_mime_types=("image/jpeg", "image/png", "video/mp4", "video/quicktime"),
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        images = FormatRule(
            IMAGE,
            "Threads images",
            ("image/jpeg", "image/png"),
            max_count=_carousel_max(),
            max_bytes=IMAGE_BYTES,
            fits=True,
        )
        video = FormatRule(
            VIDEO,
            "Threads video",
            ("video/mp4", "video/quicktime"),
            max_count=_carousel_max(),
            max_bytes=VIDEO_BYTES,
            duration_range=(0, 5 * 60),
            max_fps=60,
        )
        return MediaRules(platform=self.name, formats=(images, video))

    # --- Publishing ------------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        state: dict[str, Any] = dict(part.state)
        with _account_api(account) as api:
            if "container" not in state:
                if not state.get("quota_checked"):
                    _check_text(part.content.text)
                    _reply_control(request)
                    held = paced(part, [account.external_id]) or self._over_quota(api, account, part)
                    if held is not None:
                        return held
                    state["quota_checked"] = True
                waiting = self._containers(api, account, request, part, state)
                if waiting is not None:
                    return waiting
            return self._publish_when_ready(api, account, part, state)

    def _containers(
        self, api: Graph, account: AccountState, request: PublishRequest, part: PartRequest, state: dict[str, Any]
    ) -> Pending | None:
        """Make the container to publish; a carousel's children first, each FINISHED before the
        parent exists (Pending while one is being processed)."""
        me, media = account.external_id, part.content.media
        fields = _common_fields(request, part)
        if len(media) > 1:
            if "children" not in state:
                state["children"] = [
                    required_id(
                        api.post(f"{me}/threads", is_carousel_item=True, **_media_fields(item)), what="a carousel item"
                    )
                    for item in media
                ]
            for number, child in enumerate(state["children"], start=1):
                status, words = _status(api, child)
                if status == "IN_PROGRESS":
                    return self._waiting(part, state, "Threads is processing the carousel's media")
                if status == "ERROR":
                    message = f"Carousel item {number} failed at Threads: {words or 'no reason given'}"
                    raise ProviderError(ErrorClass.CONTENT, message, code="child_error")
                if status == "EXPIRED":
                    return self._expired(state)
            created = api.post(f"{me}/threads", media_type="CAROUSEL", children=",".join(state["children"]), **fields)
        elif media:
            created = api.post(f"{me}/threads", **_media_fields(media[0]), **fields)
        else:
            link = request.link if part.index == 0 else ""
            created = api.post(f"{me}/threads", media_type="TEXT", link_attachment=link or None, **fields)
        state["container"] = required_id(created, what="the Threads container")
        state["has_media"] = bool(media)
        return None

    def _publish_when_ready(
        self, api: Graph, account: AccountState, part: PartRequest, state: dict[str, Any]
    ) -> PublishedItem | Pending:
        container = str(state["container"])
        if state.get("has_media"):
            status, words = _status(api, container)
            if status == "IN_PROGRESS":
                return self._waiting(part, state, "Threads is processing the media")
            if status == "ERROR":
                message = f"Threads could not process the media: {words or 'no reason given'}"
                raise ProviderError(ErrorClass.CONTENT, message, code="container_error")
            if status == "EXPIRED":
                return self._expired(state)
            if status == "PUBLISHED":
                # An earlier threads_publish landed but its answer was lost: look, never publish again.
                raise ProviderError(
                    ErrorClass.TRANSIENT,
                    "Threads says the post went out; looking it up.",
                    code="published_unlisted",
                    outcome_unknown=True,
                )
        published = api.post(f"{account.external_id}/threads_publish", creation_id=container, create_call=True)
        media_id = required_id(published, what="threads_publish", create_call=True)
        return PublishedItem(platform_post_id=media_id, url=self._permalink(api, account, media_id))

    def _over_quota(self, api: Graph, account: AccountState, part: PartRequest) -> Pending | None:
        """Threads allows 250 posts and 1,000 replies per rolling 24 h (read, not assumed): a
        main post counts against the first, a thread reply or first comment the second."""
        data = api.get(f"{account.external_id}/threads_publishing_limit", fields=QUOTA_FIELDS)
        if part.parent is None:
            return quota_pending(
                data, part, usage_key="quota_usage", config_key="config",
                what="Threads' publishing limit", unit="posts", check_in_s=QUOTA_RECHECK_S,
            )  # fmt: skip
        return quota_pending(
            data, part, usage_key="reply_quota_usage", config_key="reply_config",
            what="Threads' reply limit", unit="replies", check_in_s=QUOTA_RECHECK_S,
        )  # fmt: skip

    def _waiting(self, part: PartRequest, state: dict[str, Any], reason: str) -> Pending:
        checks = int(state.get("checks", 0)) + 1
        delay = self.check_delays_s[min(checks, len(self.check_delays_s)) - 1]
        return Pending(reason=reason, state={**state, "checks": checks}, check_in_s=delay)

    def _expired(self, state: dict[str, Any]) -> Pending:
        """A container left unpublished expires: make new ones (nothing was posted)."""
        recreated = int(state.get("recreated", 0)) + 1
        if recreated > MAX_RECREATES:
            message = "Threads let the media container expire again; publish the post again later."
            raise ProviderError(ErrorClass.CONTENT, message, code="container_expired")
        return Pending(
            reason="Threads' container expired; making a new one",
            state={"recreated": recreated, "quota_checked": True},
            check_in_s=1,
        )

    def _permalink(self, api: Graph, account: AccountState, media_id: str) -> str:
        """Read after the post landed: a failure here must not lose the fact that it did."""
        try:
            return text_field(api.get(media_id, fields="id,permalink"), "permalink") or _profile_url(account)
        except ProviderError:
            return _profile_url(account)

    # --- After publishing ------------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """A lost ``threads_publish`` answer: the account's recent threads (the main post) or the
        parent's replies, by our text, posted by this account, made since the run began."""
        username = account.username.lstrip("@")
        since = part.sent_after - timedelta(minutes=2) if part.sent_after else None
        with _account_api(account) as api:
            if part.index == 0:
                found = api.pages(
                    f"{account.external_id}/threads",
                    limit_pages=1,
                    fields="id,text,timestamp,permalink,username",
                    limit=25,
                )
            else:
                parent = part.parent.platform_post_id if part.parent else ""
                found = api.pages(
                    f"{parent}/replies", limit_pages=2, fields="id,text,timestamp,permalink,username", limit=50
                )
            for item in found:
                if _is_ours(item, part.content.text, username, since):
                    return PublishedItem(
                        platform_post_id=text_field(item, "id"),
                        url=text_field(item, "permalink") or _profile_url(account),
                    )
        return None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with _account_api(account) as api:
            try:
                api.delete(platform_post_id)
            except ProviderError as exc:
                if exc.code != "100/33":  # already gone: the goal is met
                    raise

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Per post; an empty ``data`` (a repost, or not counted yet) is left out, not 0."""
        metrics: dict[str, PostMetrics] = {}
        with _account_api(account) as api:
            for post_id in platform_post_ids:
                try:
                    values = insight_values(api.get(f"{post_id}/insights", metric=",".join(POST_METRICS)))
                except ProviderError as exc:
                    if exc.code == "100/33":
                        continue
                    raise
                if values:
                    metrics[post_id] = PostMetrics(
                        likes=values.get("likes", 0),
                        replies=values.get("replies", 0),
                        reposts=values.get("reposts", 0),
                        quotes=values.get("quotes", 0),
                        impressions=values.get("views"),
                        extra={"shares": values["shares"]} if "shares" in values else {},
                    )
        return metrics

    def metrics_hold(self, *, account: AccountState, reserve: float) -> float | None:
        """Background reads (analytics, imports) keep off the usage publishing needs, as on Facebook."""
        return background_hold([account.external_id], reserve=reserve)

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """The account's own top-level posts (``threads``), newest first, without its reposts."""
        profile = _profile_url(account)
        with _account_api(account) as api:
            return imports.page_of(
                api, f"{account.external_id}/threads", imports.THREADS_FIELDS, cursor,
                lambda post: imports.threads_item(post, profile_url=profile),
            )  # fmt: skip

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """Followers (a total) and profile views (a daily series: the latest day); the other
        counts over the last day as extras. An empty ``data`` is "not yet", not 0."""
        with _account_api(account) as api:
            data = api.get(f"{account.external_id}/threads_insights", metric=",".join(ACCOUNT_METRICS), **day_window())
        values = account_values(data)
        if not values:
            return None
        return AccountMetrics(
            followers=values.get("followers_count"),
            views=values.get("views"),
            extra=picked(values, ACCOUNT_METRICS[2:]),
        )


# --- Helpers ------------------------------------------------------------------------------------


def _profile(me: Any) -> Profile:
    username = text_field(me, "username")
    return Profile(
        external_id=required_id(me, what="/me"),
        username=f"@{username}" if username else required_id(me, what="/me"),
        display_name=text_field(me, "name") or username,
        avatar_url=text_field(me, "threads_profile_picture_url"),
        profile_url=f"https://www.threads.net/@{username}" if username else "",
    )


def _profile_url(account: AccountState) -> str:
    username = account.username.lstrip("@")
    return f"https://www.threads.net/@{username}" if username else "https://www.threads.net/"


def _carousel_max() -> int:
    return int(setting("META_THREADS_CAROUSEL_MAX"))


def threads_length(text: str) -> int:
    """Threads counts an emoji by its UTF-8 length (section 5.3), any other character as one."""
    return sum(len(char.encode("utf-8")) if _is_emoji(char) else 1 for char in text)


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF or code in (0x200D, 0xFE0F)


def _check_text(text: str) -> None:
    """Checked here as well as by the composer, which counts characters, not emoji bytes."""
    if threads_length(text) > MAX_TEXT:
        message = f"Threads takes {MAX_TEXT} characters, counting each emoji by its byte length; this is longer."
        raise ProviderError(ErrorClass.CONTENT, message, code="text_length")
    if text.count("http://") + text.count("https://") > MAX_LINKS:
        raise ProviderError(ErrorClass.CONTENT, f"A Threads post takes at most {MAX_LINKS} links.", code="link_limit")


def _common_fields(request: PublishRequest, part: PartRequest) -> dict[str, Any]:
    """Text, who may reply (the author's choice, on every part of the thread) and what it answers."""
    return {
        "text": part.content.text or None,
        "reply_control": _reply_control(request) or None,
        "reply_to_id": part.parent.platform_post_id if part.parent else None,
    }


def _reply_control(request: PublishRequest) -> str:
    reply_control = str((request.options or {}).get("reply_control") or "")
    if reply_control and reply_control not in dict(REPLY_CONTROLS):
        raise ProviderError(ErrorClass.CONTENT, f"Threads has no reply setting {reply_control!r}.", code="bad_option")
    return reply_control


def _media_fields(item: MediaItem) -> dict[str, Any]:
    if item.kind == "video":
        return {"media_type": "VIDEO", "video_url": item.public_url}
    return {"media_type": "IMAGE", "image_url": item.public_url, "alt_text": item.alt_text or None}


def _status(api: Graph, container: str) -> tuple[str, str]:
    """The field is ``status`` (not Instagram's ``status_code``); ``error_message`` on ERROR."""
    found = api.get(container, fields="status,error_message")
    return text_field(found, "status"), text_field(found, "error_message")


def _is_ours(item: Any, text: str, username: str, since: datetime | None) -> bool:
    if text_field(item, "text").strip() != text.strip():
        return False
    if username and text_field(item, "username") not in ("", username):
        return False
    stamp = text_field(item, "timestamp")
    if since is not None:
        try:
            return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z") >= since
        except ValueError:
            return False
    return created_recently(stamp)
