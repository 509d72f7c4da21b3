"""X (API v2), per platforms-other.md section 1.

Connecting: OAuth 2.0 with PKCE (S256) and ``offline.access``; the refresh token rotates, and
the new one is stored with the access token in one row update on the grant
(``services.grant_refresh``). ``media.write`` is required: a consent or a stored token without it
is asked to reconnect before any upload is refused.

Publishing: each part is one post; replies and the first comment answer their parent with
``reply.in_reply_to_tweet_id``. Up to four images (simple upload, alt text through media
metadata) or one video or GIF (chunked upload: initialize, append, finalize, then status while
X processes it, the engine coming back through Pending). Upload sessions live in the part's
upload store, so a crash resumes at the next segment instead of uploading again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from authlib.integrations.base_client.errors import OAuthError

from connections import http
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import (
    EXTRA,
    AccountMetrics,
    AccountState,
    AppCredentials,
    Connection,
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
from connections.providers.oauth2 import OAuth2Provider, classify_oauth_error, token_set
from connections.providers.x import imports
from connections.providers.x.client import XApi, data_of, setting, windows_hold
from connections.providers.x.text import comparable, status_url, with_link

MEDIA_WRITE = "media.write"
ME = "/2/users/me"
ME_FIELDS = "profile_image_url,public_metrics,verified"
MAX_LENGTH = 280
VERIFIED_MAX_LENGTH = 25_000
URL_WEIGHT = 23
MAX_IMAGES = 4
IMAGE_BYTES = 5 * 1024 * 1024
VIDEO_BYTES = 512 * 1024 * 1024
VIDEO_SECONDS = 140
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
GIF = "image/gif"
REPLY_SETTINGS = (
    ("", "Everyone can reply"),
    ("following", "Accounts you follow"),
    ("mentionedUsers", "Only accounts you mention"),
)
QUOTE_URL = re.compile(r"^https://(?:www\.)?(?:x|twitter)\.com/(?:[A-Za-z0-9_]{1,15}|i)/status/(\d{1,25})/?(?:\?.*)?$")
RECENT_POSTS = 100  # the most one page of the user's posts returns
CLOCK_SKEW = timedelta(minutes=5)
METRICS_BATCH = 100  # ids per GET /2/tweets


@dataclass(frozen=True)
class Upload:
    """Where one attachment stands at X: its media id, and whether X still processes it."""

    media_id: str
    ready: bool
    check_after_s: float = 5.0


class XProvider(OAuth2Provider):
    id = "x"
    name = "X"
    authorize_url = "https://x.com/i/oauth2/authorize"  # X's RFC 8414 metadata, not the OpenAPI spec's
    token_url = "https://api.x.com/2/oauth2/token"
    token_endpoint_auth_method = "client_secret_basic"
    supports_pkce = True
    supports_check = True
    supports_refresh = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_account_metrics = True
    supports_import = True
    # Mapping table for analytics: the extras fetch_metrics returns -> our metric names.
    metric_names = {"bookmarks": "saves"}
    # users/me public_metrics -> ours; ``like_count`` is the posts the user liked, not likes
    # received, so it stays an extra with the list and media counts.
    account_metric_names = {
        "followers_count": "followers",
        "following_count": "following",
        "tweet_count": "posts_count",
        "listed_count": EXTRA,
        "like_count": EXTRA,
        "media_count": EXTRA,
    }
    metrics_batch_size = METRICS_BATCH
    # Without offline.access there is no refresh token and the access token dies after 2 h.
    default_scopes = ("tweet.read", "tweet.write", "users.read", MEDIA_WRITE, "offline.access")
    developer_console_url = "https://developer.x.com/en/portal/dashboard"
    setup_steps = (
        "Create a project and app in the X developer portal, turn on OAuth 2.0 as a confidential "
        "(web) client, add this site's callback URL, and set X_CLIENT_ID and X_CLIENT_SECRET."
    )
    composer_options = (
        ("reply_settings", "Who can reply", REPLY_SETTINGS),
        ("quote_url", "Quote a post (its x.com link)", ()),
    )
    processing_limit_s: ClassVar[int] = 60 * 60
    offers_thread_split = True  # 280 weighted characters: long texts become a thread

    # --- Connect --------------------------------------------------------------------------------

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        return _with_granted_scope(super().exchange_code(
            app=app, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        ))  # fmt: skip

    def refresh(self, *, app: AppCredentials | None, account: AccountState) -> TokenSet:
        """X rotates refresh tokens: the answer's one replaces ours (the caller stores both in
        one update). A used or bad one answers invalid_request, which here means reconnect."""
        refresh_token = account.secrets.get("refresh_token")
        if not refresh_token or app is None:
            raise ProviderError(ErrorClass.AUTH, "No X refresh token is stored: reconnect.", code="no_refresh_token")
        with self.oauth_session(app) as session:
            try:
                token = session.refresh_token(
                    self.token_url, refresh_token=refresh_token, client_id=app.client_id, allow_redirects=False
                )
            except (OAuthError, http.RequestException, ValueError) as exc:
                error = classify_oauth_error(exc)
                if error.code == "invalid_request":
                    error = replace(error, error_class=ErrorClass.AUTH)
                raise error from None
        return _with_granted_scope(token_set(dict(token), previous_refresh_token=refresh_token))

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        if not has_media_write(tokens.scope):
            raise ConnectError("X did not grant media upload (media.write): connect again and allow every permission.")
        with XApi(tokens.access_token) as api:
            me = data_of(api.json("GET", ME, params={"user.fields": ME_FIELDS}), what="users/me")
        return [
            Connection(
                profile=_profile(me),
                secrets=tokens.as_secrets(),
                expires_at=tokens.expires_at,
                scope=tokens.scope,
                extra={"verified": me.get("verified") is True},
            )
        ]

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        with XApi(tokens.access_token) as api:
            return _profile(data_of(api.json("GET", ME, params={"user.fields": ME_FIELDS}), what="users/me"))

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        require_media_write(account)
        with _api(account) as api:
            return _profile(data_of(api.json("GET", ME, params={"user.fields": ME_FIELDS}), what="users/me"))

    # --- Composer rules -------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        long_posts = bool(account and account.extra.get("verified") is True and setting("X_VERIFIED_LONG_POSTS"))
        return TextRules(
            max_length=VERIFIED_MAX_LENGTH if long_posts else MAX_LENGTH,
            counting="x-weighted",
            url_length=URL_WEIGHT,
            max_media=MAX_IMAGES,
            max_image_bytes=IMAGE_BYTES,
            accepted_mime_types=(*IMAGE_TYPES, GIF, *VIDEO_TYPES),
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        """At most four images, or one video, or one GIF. The rules hold one format per kind, so a
        GIF is an image here; publish_part refuses a GIF beside other media in X's words."""
        images = FormatRule(IMAGE, "X images", (*IMAGE_TYPES, GIF), max_count=MAX_IMAGES, max_bytes=IMAGE_BYTES,
                            fits=True)  # fmt: skip
        video = FormatRule(VIDEO, "X video", VIDEO_TYPES, max_count=1, max_bytes=VIDEO_BYTES,
                           duration_range=(0.0, VIDEO_SECONDS))  # fmt: skip
        return MediaRules(platform=self.name, formats=(images, video))

    # --- Publishing -----------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        require_media_write(account)
        body = _post_body(request, part)  # bad options fail before anything is uploaded
        with _api(account) as api:
            uploads = [self._upload(api, item, part, index) for index, item in enumerate(_checked_media(part))]
            waiting = [upload for upload in uploads if not upload.ready]
            if waiting:
                return self._still_processing(part, max(upload.check_after_s for upload in waiting))
            held = windows_hold(account.external_id)
            if held is not None:
                return Pending(reason="Pacing: the X rate-limit window is spent; waiting for its reset",
                               state=dict(part.state), check_in_s=max(1.0, held))  # fmt: skip
            if uploads:
                body["media"] = {"media_ids": [upload.media_id for upload in uploads]}
            created = data_of(api.json("POST", "/2/tweets", json=body, create_call=True), what="the post",
                              create_call=True)  # fmt: skip
        return PublishedItem(platform_post_id=created["id"], url=status_url(account, created["id"]))

    def _still_processing(self, part: PartRequest, check_after_s: float) -> Pending:
        since = float(part.state.get("since") or time.time())
        if time.time() - since > self.processing_limit_s:
            minutes = self.processing_limit_s // 60
            raise ProviderError(ErrorClass.CONTENT, f"X was still processing the media after {minutes} minutes.",
                                code="processing_timeout")  # fmt: skip
        return Pending(reason="X is processing the media", state={**part.state, "since": since},
                       check_in_s=max(1.0, check_after_s))  # fmt: skip

    def _upload(self, api: XApi, item: MediaItem, part: PartRequest, index: int) -> Upload:
        key = f"media:{index}:{item.filename}:{item.size}"
        stored = part.uploads.load(key) or {}
        if stored.get("media_id") and float(stored.get("expires_at") or 0) <= time.time():
            stored = {}  # X forgets unused media: upload it again rather than attach a dead id
        if item.mime_type in IMAGE_TYPES:
            return self._simple_upload(api, item, part, key, stored)
        return self._chunked_upload(api, item, part, key, stored)

    def _simple_upload(self, api: XApi, item: MediaItem, part: PartRequest, key: str, stored: dict[str, Any]) -> Upload:
        if not stored.get("media_id"):
            with item.open() as stream:
                answer = api.json("POST", "/2/media/upload", media_call=True, data={"media_category": "tweet_image"},
                                  files={"media": (item.filename, stream, item.mime_type)})  # fmt: skip
            stored = _uploaded(data_of(answer, what="the image upload"))
            part.uploads.save(key, stored)
        self._describe(api, item, part, key, stored)
        return Upload(media_id=str(stored["media_id"]), ready=True)

    def _chunked_upload(
        self, api: XApi, item: MediaItem, part: PartRequest, key: str, stored: dict[str, Any]
    ) -> Upload:
        """initialize, one append per segment (the segment reached is saved after each), finalize,
        then status until X has processed it: every step is skipped once the store says it is done."""
        if not stored.get("media_id"):
            category = "tweet_gif" if item.mime_type == GIF else "tweet_video"
            body = {"media_type": item.mime_type, "total_bytes": item.size, "media_category": category}
            stored = {**_uploaded(data_of(api.json("POST", "/2/media/upload/initialize", json=body, media_call=True),
                                          what="the upload's initialize")), "segment": 0}  # fmt: skip
            part.uploads.save(key, stored)
        media_id = str(stored["media_id"])
        if not stored.get("finalized"):
            stored = self._append(api, item, part, key, stored)
            answer = api.json("POST", f"/2/media/upload/{quote(media_id, safe='')}/finalize", media_call=True)
            stored = {**stored, "finalized": True, "processing": _processing(data_of(answer, what="finalize"))}
            part.uploads.save(key, stored)
        elif stored.get("processing"):
            answer = api.json("GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id})
            stored = {**stored, "processing": _processing(data_of(answer, what="the upload's status"))}
            part.uploads.save(key, stored)
        processing = stored.get("processing") or {}
        if not processing:
            self._describe(api, item, part, key, stored)
        wait = float(processing.get("check_after_secs", 5))
        return Upload(media_id=media_id, ready=not processing, check_after_s=wait)

    def _append(
        self, api: XApi, item: MediaItem, part: PartRequest, key: str, stored: dict[str, Any]
    ) -> dict[str, Any]:
        chunk = int(setting("X_UPLOAD_CHUNK_BYTES"))
        path = f"/2/media/upload/{quote(str(stored['media_id']), safe='')}/append"
        for segment in range(int(stored.get("segment", 0)), -(-item.size // chunk)):
            data = item.read_range(segment * chunk, chunk)
            api.call("POST", path, media_call=True, data={"segment_index": segment},
                     files={"media": (item.filename, data, "application/octet-stream")})  # fmt: skip
            stored = {**stored, "segment": segment + 1}
            part.uploads.save(key, stored)
        return stored

    def _describe(self, api: XApi, item: MediaItem, part: PartRequest, key: str, stored: dict[str, Any]) -> None:
        """Alt text, once per upload (the store remembers it was set)."""
        if not item.alt_text or stored.get("described"):
            return
        body = {"id": str(stored["media_id"]), "metadata": {"alt_text": {"text": item.alt_text[:1000]}}}
        api.call("POST", str(setting("X_MEDIA_METADATA_PATH")), json=body, media_call=True)
        part.uploads.save(key, {**stored, "described": True})

    # --- After publishing -----------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """The part among the user's latest posts: same text (URLs compared as placeholders, since
        X shortens them), same parent, created no earlier than the run that sent it (less clock
        skew), so an identical older post is not taken for it. X refuses duplicate content, which
        makes a text match within the window a strong one."""
        wanted = comparable(_part_text(request, part))
        parent = part.parent.platform_post_id if part.parent else None
        params = {"max_results": RECENT_POSTS, "tweet.fields": "created_at,referenced_tweets", "exclude": "retweets"}
        if part.sent_after:
            params["start_time"] = _x_time(part.sent_after - CLOCK_SKEW)
        path = f"/2/users/{quote(account.external_id, safe='')}/tweets"
        with _api(account) as api:
            posts = api.json("GET", path, params=params).get("data")
        for post in posts if isinstance(posts, list) else []:
            if not isinstance(post, dict) or not isinstance(post.get("id"), str):
                continue
            if _replied_to(post) == parent and comparable(str(post.get("text") or "")) == wanted:
                return PublishedItem(platform_post_id=post["id"], url=status_url(account, post["id"]))
        return None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with _api(account) as api:
            try:
                api.call("DELETE", f"/2/tweets/{quote(platform_post_id, safe='')}")
            except ProviderError as exc:
                if exc.status != 404:
                    raise
                # Already gone: the goal is met.

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        """Public metrics, 100 posts a call; a deleted post is left out (X lists it under errors)."""
        ids = list(platform_post_ids)
        metrics: dict[str, PostMetrics] = {}
        with _api(account) as api:
            for start in range(0, len(ids), METRICS_BATCH):
                batch = ",".join(ids[start : start + METRICS_BATCH])
                answer = api.json("GET", "/2/tweets", params={"ids": batch, "tweet.fields": "public_metrics"})
                posts = answer.get("data")
                for post in posts if isinstance(posts, list) else []:
                    if isinstance(post, dict) and isinstance(post.get("id"), str):
                        metrics[post["id"]] = _metrics(post.get("public_metrics"))
        return metrics

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        with _api(account) as api:
            me = data_of(api.json("GET", ME, params={"user.fields": "public_metrics"}), what="users/me")
        if me["id"] != account.external_id:
            raise ProviderError(ErrorClass.AUTH, "This X token belongs to another account: reconnect.",
                                code="account_mismatch")  # fmt: skip
        counts = me.get("public_metrics")
        return AccountMetrics.from_platform(counts if isinstance(counts, dict) else {}, self.account_metric_names)

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        with _api(account) as api:
            return imports.list_own_posts(api, account=account, cursor=cursor)


# --- Helpers ------------------------------------------------------------------------------------


def has_media_write(scope: str) -> bool:
    return MEDIA_WRITE in scope.replace(",", " ").split()


def require_media_write(account: AccountState) -> None:
    """A token granted without media.write would be refused at the first upload: ask for a
    reconnect before that (the granted scope is stored with the token, and after each refresh)."""
    granted = account.secrets.get("granted_scope")
    if isinstance(granted, str) and granted and not has_media_write(granted):
        message = "This X connection cannot upload media (media.write was not granted): reconnect the account."
        raise ProviderError(ErrorClass.AUTH, message, code="media_write_missing")


def _with_granted_scope(tokens: TokenSet) -> TokenSet:
    if tokens.scope:
        tokens.extra["granted_scope"] = tokens.scope
    return tokens


def _api(account: AccountState) -> XApi:
    return XApi.of(account.secrets, user_id=account.external_id)


def _profile(me: Mapping[str, Any]) -> Profile:
    username = str(me.get("username") or "")
    avatar = str(me.get("profile_image_url") or "").replace("_normal.", "_400x400.")
    return Profile(
        external_id=str(me["id"]),
        username=f"@{username}" if username else str(me["id"]),
        display_name=str(me.get("name") or ""),
        avatar_url=avatar,
        profile_url=f"https://x.com/{username}" if username else "",
    )


def _part_text(request: PublishRequest, part: PartRequest) -> str:
    return with_link(part.content.text, request.link) if part.index == 0 else part.content.text


def _post_body(request: PublishRequest, part: PartRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"text": _part_text(request, part)}
    if part.parent is not None:
        body["reply"] = {"in_reply_to_tweet_id": part.parent.platform_post_id}
    reply_settings = str(request.options.get("reply_settings") or "")
    if reply_settings:
        if reply_settings not in {value for value, _label in REPLY_SETTINGS}:
            allowed = ", ".join(value for value, _label in REPLY_SETTINGS if value)
            raise ProviderError(ErrorClass.CONTENT, f"X has no reply setting {reply_settings!r}; use {allowed}.",
                                code="bad_option")  # fmt: skip
        body["reply_settings"] = reply_settings
    quoted = str(request.options.get("quote_url") or "").strip()
    if quoted and part.kind == PartKind.MAIN:
        match = QUOTE_URL.match(quoted)
        if match is None:
            message = f"{quoted!r} is not a link to a post on X (https://x.com/<user>/status/<id>)."
            raise ProviderError(ErrorClass.CONTENT, message, code="bad_option")
        body["quote_tweet_id"] = match.group(1)
    return body


def _checked_media(part: PartRequest) -> tuple[MediaItem, ...]:
    media = part.content.media
    moving = [item for item in media if item.mime_type not in IMAGE_TYPES]
    if moving and len(media) > 1:
        raise ProviderError(ErrorClass.CONTENT, "An X post takes one video or one GIF alone, not with other media.",
                            code="media_mix")  # fmt: skip
    if len(media) > MAX_IMAGES:
        raise ProviderError(ErrorClass.CONTENT, f"An X post takes at most {MAX_IMAGES} images.", code="too_many_media")
    return media


def _uploaded(data: Mapping[str, Any]) -> dict[str, Any]:
    expires = data.get("expires_after_secs")
    lifetime = float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else 86400.0
    return {"media_id": str(data["id"]), "expires_at": time.time() + lifetime}


def _processing(data: Mapping[str, Any]) -> dict[str, Any]:
    """What is left to wait for: {} once the media is ready (no processing_info means ready)."""
    info = data.get("processing_info")
    if not isinstance(info, dict) or info.get("state") == "succeeded":
        return {}
    if info.get("state") == "failed":
        found = info.get("error")
        error = found if isinstance(found, dict) else {}
        words = str(error.get("message") or error.get("name") or "X could not process the media.")
        raise ProviderError(ErrorClass.CONTENT, words, code=str(error.get("name") or "media_failed"))
    wait = info.get("check_after_secs")
    return {"state": str(info.get("state") or "pending"),
            "check_after_secs": float(wait) if isinstance(wait, int | float) and wait > 0 else 5.0}  # fmt: skip


def _replied_to(post: Mapping[str, Any]) -> str | None:
    for reference in post.get("referenced_tweets") or []:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            return str(reference.get("id"))
    return None


def _x_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metrics(counts: Any) -> PostMetrics:
    counts = counts if isinstance(counts, dict) else {}

    def number(key: str) -> int:
        value = counts.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    impressions = counts.get("impression_count")
    return PostMetrics(
        likes=number("like_count"), reposts=number("retweet_count"), replies=number("reply_count"),
        quotes=number("quote_count"),
        impressions=impressions if isinstance(impressions, int) and not isinstance(impressions, bool) else None,
        extra={"bookmarks": number("bookmark_count")},
    )  # fmt: skip
