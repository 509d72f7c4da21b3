"""YouTube: one video per post, sent by resumable upload and watched while YouTube processes it.

The upload session's URI is kept in the engine's upload store, so after a crash or a 5xx the
upload asks YouTube how much it holds (``Content-Range: bytes */N`` answers 308 with ``Range``)
and sends only the rest. The last chunk is the create call: when its answer is lost, the session
is asked again (it answers with the video once complete), then the channel's recent uploads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from connections import http
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import (
    AccountState,
    AppCredentials,
    Connection,
    MediaItem,
    PartKind,
    PartRequest,
    Pending,
    PostMetrics,
    Profile,
    PublishedItem,
    PublishRequest,
    TextRules,
    TokenSet,
)
from connections.providers.media_rules import VIDEO, FormatRule, MediaRules
from connections.providers.oauth2 import OAuth2Provider
from connections.providers.youtube import api

SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-msvideo", "video/mpeg")
TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX = 500
SHORT_MAX_S = 180
DEFAULT_CATEGORY = "22"  # the reference's example category
SESSION = "video"  # the upload store's key: one video per post
HASHTAG = re.compile(r"#(\w+)")
SKEW = timedelta(minutes=2)


class YouTubeProvider(OAuth2Provider):
    id = "youtube"
    name = "YouTube"
    authorize_url = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url = "https://oauth2.googleapis.com/token"
    # A refresh token only comes with offline access, and again on a later consent only with prompt=consent.
    extra_authorize_params: ClassVar[dict[str, str]] = {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    }
    default_scopes = SCOPES
    supports_pkce = True
    supports_check = True
    supports_refresh = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    metrics_batch_size = 50  # videos.list takes at most 50 ids (1 unit a call)
    refresh_margin_s = 10 * 60  # access tokens live an hour
    composer_options = (
        ("privacy", "Visibility", (("public", "Public"), ("unlisted", "Unlisted"), ("private", "Private"))),
        ("made_for_kids", "Made for kids", (("", "Choose..."), ("yes", "Yes"), ("no", "No"))),
        ("synthetic", "Altered or synthetic content", (("no", "No"), ("yes", "Yes, realistic altered or synthetic"))),
        ("format", "Format", (("video", "Video"), ("short", "Short (vertical, up to 3 minutes)"))),
    )  # fmt: skip
    required_options = ("made_for_kids",)
    developer_console_url = "https://console.cloud.google.com/apis/credentials"
    setup_steps = (
        "Create an OAuth client (web application) in the Google Cloud console, enable the YouTube Data "
        "API v3, add this site's callback URL, and set YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET. "
        "Projects that have not passed Google's audit can upload only private videos."
    )
    connect_intro = "One Google consent lists every channel the account can upload to; choose the ones to connect."
    # How often a processing video is looked at; the engine comes back, no worker waits.
    check_delays_s: ClassVar[tuple[float, ...]] = (15, 30, 60, 120)

    # --- Connect ---------------------------------------------------------------------------------

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        tokens = super().exchange_code(app=app, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        # Quota is the Google project's; publishing sees the account's secrets, not the app.
        tokens.extra["quota_project"] = api.project_key(app.client_id)
        return tokens

    def connections_from_tokens(self, *, tokens: TokenSet, instance_url: str = "") -> list[Connection]:
        channels = api.items(self._get(tokens.access_token, "channels", part="snippet,statistics", mine="true"))
        if not channels:
            raise ConnectError("This Google account has no YouTube channel. Create one on YouTube, then connect again.")
        secrets = tokens.as_secrets()
        return [
            Connection(profile=_profile(channel), secrets=secrets, expires_at=tokens.expires_at, scope=tokens.scope)
            for channel in channels
        ]

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        return self.connections_from_tokens(tokens=tokens)[0].profile

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        found = api.items(self._get(_token(account), "channels", part="snippet", id=account.external_id))
        if not found:
            raise ProviderError(
                ErrorClass.AUTH, "The channel is no longer reachable with this consent.", code="no_channel"
            )
        return _profile(found[0])

    # --- Rules -----------------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        # The post's first line is the title (100), the rest the description (5,000 bytes).
        return TextRules(max_length=TITLE_MAX + DESCRIPTION_MAX_BYTES, max_media=1, accepted_mime_types=VIDEO_TYPES)

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        return self.format_media_rules(account=account, options={})

    def format_media_rules(self, *, account: AccountState | None, options: Mapping[str, Any]) -> MediaRules:
        if options.get("format") == "short":
            short = FormatRule(VIDEO, "YouTube Short", VIDEO_TYPES, duration_range=(0, SHORT_MAX_S),
                               recommended_aspect="9:16", aspect_range=(0.01, 1.0))  # fmt: skip
            return MediaRules(platform=self.name, formats=(short,))
        video = FormatRule(VIDEO, "YouTube video", VIDEO_TYPES, max_bytes=256 * 1024**3, duration_range=(0, 12 * 3600))
        return MediaRules(platform=self.name, formats=(video,))

    # --- Publishing ------------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        if part.kind != PartKind.MAIN:
            raise ProviderError(
                ErrorClass.CONTENT,
                "YouTube takes one video per post: no thread replies or first comment.",
                code="no_threads",
            )
        session = part.uploads.load(SESSION) or {}
        video_id = str(part.state.get("video_id") or session.get("video_id") or "")
        if video_id:
            return self._watch(account, request, part, video_id)
        item = _the_video(request, part)
        metadata = video_metadata(request, part)
        resource = self._upload(account, part, item, metadata, session)
        part.uploads.save(SESSION, {"video_id": resource["id"]})
        return self._watch(account, request, part, str(resource["id"]))

    def _upload(
        self,
        account: AccountState,
        part: PartRequest,
        item: MediaItem,
        metadata: dict[str, Any],
        session: dict[str, Any],
    ) -> dict[str, Any]:
        token = _token(account)
        offset = 0
        if session.get("url"):
            received = self._received(token, session["url"], item.size)
            if isinstance(received, dict):
                return received
            if received is None:
                session = {}  # the session expired before completing: no video exists for it
            else:
                offset = received
        if not session.get("url"):
            api.quota_reserve(_project(account), int(api.setting("YOUTUBE_UPLOAD_COST_UNITS")))
            session = {"url": self._open_session(token, metadata, item), "offset": 0}
            part.uploads.save(SESSION, session)
        return self._send(token, part, session["url"], item, offset)

    def _open_session(self, token: str, metadata: dict[str, Any], item: MediaItem) -> str:
        headers = {"X-Upload-Content-Length": str(item.size), "X-Upload-Content-Type": item.mime_type}
        with self.api_session(token) as session:
            try:
                response = session.post(
                    api.UPLOAD,
                    params={"uploadType": "resumable", "part": "snippet,status"},
                    json=metadata,
                    headers=headers,
                )
            except http.RequestException as exc:
                # Opening a session creates no video: asking again is safe.
                raise http.transport_error(exc, create_call=False) from None
        if response.status_code >= 400:
            raise api.classify(response)
        location = response.headers.get("Location", "")
        if not location.startswith("https://"):
            raise ProviderError(ErrorClass.TRANSIENT, "YouTube opened no upload session", code="no_session")
        return location

    def _received(self, token: str, url: str, size: int) -> int | dict[str, Any] | None:
        """How much of the file YouTube holds (the next offset), the video if it is complete, or
        None when the session is gone."""
        with self.api_session(token) as session:
            try:
                response = session.put(url, data=b"", headers={"Content-Range": f"bytes */{size}"})
            except http.RequestException as exc:
                raise http.transport_error(exc, create_call=False) from None
        if response.status_code == 308:
            return _next_offset(response)
        if response.status_code in (404, 410):
            return None
        return _video_resource(response)

    def _send(self, token: str, part: PartRequest, url: str, item: MediaItem, offset: int) -> dict[str, Any]:
        chunk_size = int(api.setting("YOUTUBE_UPLOAD_CHUNK_BYTES"))
        with self.api_session(token) as session:
            while True:
                data = item.read_range(offset, min(chunk_size, item.size - offset))
                if not data:
                    raise ProviderError(
                        ErrorClass.CONTENT, f"{item.filename} ended before its size.", code="short_file"
                    )
                last = offset + len(data) >= item.size
                headers = {
                    "Content-Type": item.mime_type,
                    "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{item.size}",
                }
                try:
                    response = session.put(url, data=data, headers=headers)
                except http.RequestException as exc:
                    # Only the last chunk can make the video: its lost answer is an unknown outcome.
                    raise http.transport_error(exc, create_call=last) from None
                if response.status_code != 308:
                    return _video_resource(response)
                offset = _next_offset(response)
                part.uploads.save(SESSION, {"url": url, "offset": offset})

    def _watch(
        self, account: AccountState, request: PublishRequest, part: PartRequest, video_id: str
    ) -> PublishedItem | Pending:
        """Processing, read from the video's status and processingDetails."""
        api.quota_spend(_project(account), 1)
        found = api.items(self._get(_token(account), "videos", part="status,processingDetails", id=video_id))
        status = found[0].get("status", {}) if found else {}
        upload_status = status.get("uploadStatus", "") if isinstance(status, dict) else ""
        if upload_status == "processed":
            return PublishedItem(platform_post_id=video_id, url=_url(video_id, short=_format(request) == "short"))
        if upload_status in ("failed", "rejected", "deleted"):
            why = status.get("failureReason") or status.get("rejectionReason") or upload_status
            raise ProviderError(ErrorClass.CONTENT, f"YouTube did not accept the video: {why}.", code=upload_status)
        checks = int(part.state.get("checks", 0)) + 1
        delay = self.check_delays_s[min(checks, len(self.check_delays_s)) - 1]
        details = found[0].get("processingDetails", {}) if found else {}
        progress = details.get("processingStatus", "") if isinstance(details, dict) else ""
        reason = "YouTube is processing the video" + (f" ({progress})" if progress else "")
        return Pending(reason=reason, state={"video_id": video_id, "checks": checks}, check_in_s=delay)

    # --- Reconciliation, deletion, metrics ------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """The last chunk's answer was lost: the session says whether it completed; else the
        channel's recent uploads are searched for the title, never older than this run."""
        session = part.uploads.load(SESSION) or {}
        short = _format(request) == "short"
        if session.get("video_id"):
            return PublishedItem(
                platform_post_id=str(session["video_id"]), url=_url(str(session["video_id"]), short=short)
            )
        item = _the_video(request, part)
        if session.get("url"):
            received = self._received(_token(account), session["url"], item.size)
            if isinstance(received, dict):
                part.uploads.save(SESSION, {"video_id": received["id"]})
                return PublishedItem(platform_post_id=str(received["id"]), url=_url(str(received["id"]), short=short))
            if isinstance(received, int):
                return None  # still incomplete: no video was made
        return self._recent_upload(account, video_metadata(request, part)["snippet"]["title"], part.sent_after, short)

    def _recent_upload(
        self, account: AccountState, title: str, after: datetime | None, short: bool
    ) -> PublishedItem | None:
        token = _token(account)
        channel = api.items(self._get(token, "channels", part="contentDetails", id=account.external_id))
        related = channel[0].get("contentDetails", {}).get("relatedPlaylists", {}) if channel else {}
        playlist = related.get("uploads") if isinstance(related, dict) else None
        if not playlist:
            return None
        listed = api.items(self._get(token, "playlistItems", part="snippet", playlistId=playlist, maxResults="10"))
        for entry in listed:
            snippet = entry.get("snippet", {})
            video_id = snippet.get("resourceId", {}).get("videoId")
            if video_id and snippet.get("title") == title and _not_before(snippet.get("publishedAt"), after):
                return PublishedItem(platform_post_id=str(video_id), url=_url(str(video_id), short=short))
        return None

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with self.api_session(_token(account)) as session:
            try:
                response = session.delete(f"{api.API}/videos", params={"id": platform_post_id})
            except http.RequestException as exc:
                raise http.transport_error(exc, create_call=False) from None
        if response.status_code == 404:
            return  # already gone
        if response.status_code >= 400:
            raise api.classify(response)

    def metrics_hold(self, *, account: AccountState, reserve: float) -> float | None:
        """Analytics stops at ``1 - reserve`` of the day's units: the rest is for uploads."""
        budget = int(api.setting("YOUTUBE_QUOTA_UNITS_PER_DAY"))
        if api.quota_used(_project(account)) + 1 > budget * (1 - reserve):
            return api.seconds_to_pacific_midnight()
        return None

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        ids = list(platform_post_ids)
        found: dict[str, PostMetrics] = {}
        for start in range(0, len(ids), 50):  # at most 50 ids a call
            api.quota_spend(_project(account), 1)
            body = self._get(_token(account), "videos", part="statistics", id=",".join(ids[start : start + 50]))
            for video in api.items(body):
                found[str(video.get("id"))] = _metrics(video.get("statistics", {}))
        return found

    def _get(self, token: str, resource: str, **params: str) -> dict[str, Any]:
        with self.api_session(token) as session:
            try:
                response = session.get(f"{api.API}/{resource}", params=params)
            except http.RequestException as exc:
                raise http.transport_error(exc, create_call=False) from None
        return api.read_json(response)


# --- Helpers ------------------------------------------------------------------------------------


def _token(account: AccountState) -> str:
    token = account.secrets.get("access_token")
    if not token:
        raise ProviderError(ErrorClass.AUTH, "No YouTube session: reconnect the account.", code="no_token")
    return str(token)


def _project(account: AccountState) -> str:
    return str(account.secrets.get("quota_project") or "instance")


def _profile(channel: dict[str, Any]) -> Profile:
    snippet = channel.get("snippet", {}) if isinstance(channel.get("snippet"), dict) else {}
    channel_id = channel.get("id")
    if not isinstance(channel_id, str) or not channel_id:
        raise ProviderError(ErrorClass.TRANSIENT, "YouTube sent a channel without an id", code="malformed")
    title = str(snippet.get("title") or channel_id)
    avatar = snippet.get("thumbnails", {}).get("default", {}).get("url", "")
    return Profile(
        external_id=channel_id,
        username=str(snippet.get("customUrl") or title),
        display_name=title,
        avatar_url=str(avatar),
        profile_url=f"https://www.youtube.com/channel/{channel_id}",
    )


def _format(request: PublishRequest) -> str:
    return "short" if request.options.get("format") == "short" else "video"


def _url(video_id: str, *, short: bool) -> str:
    return f"https://www.youtube.com/shorts/{video_id}" if short else f"https://www.youtube.com/watch?v={video_id}"


def _the_video(request: PublishRequest, part: PartRequest) -> MediaItem:
    videos = [item for item in part.content.media if item.kind == "video" or item.mime_type.startswith("video/")]
    if len(videos) != 1 or len(part.content.media) != 1:
        raise ProviderError(ErrorClass.CONTENT, "A YouTube post is exactly one video.", code="one_video")
    item = videos[0]
    if _format(request) == "short":
        if item.width and item.height and item.width >= item.height:
            raise ProviderError(ErrorClass.CONTENT, "A YouTube Short is a vertical video.", code="short_vertical")
        if item.duration_s is not None and item.duration_s > SHORT_MAX_S:
            raise ProviderError(ErrorClass.CONTENT, "A YouTube Short is at most 3 minutes long.", code="short_length")
    return item


def _choice(options: Mapping[str, Any], name: str, allowed: tuple[str, ...], message: str) -> str:
    value = options.get(name)
    if value not in allowed:
        raise ProviderError(ErrorClass.CONTENT, message, code=f"option_{name}")
    return str(value)


def video_metadata(request: PublishRequest, part: PartRequest) -> dict[str, Any]:
    """The upload's snippet and status, checked against YouTube's limits before anything is sent."""
    title, _newline, description = part.content.text.strip().partition("\n")
    title, description = title.strip(), description.strip()
    if not title:
        raise ProviderError(ErrorClass.CONTENT, "Give the video a title: the post's first line.", code="no_title")
    if len(title) > TITLE_MAX:
        raise ProviderError(
            ErrorClass.CONTENT,
            f"A YouTube title is at most {TITLE_MAX} characters (the first line).",
            code="title_length",
        )
    if len(description.encode()) > DESCRIPTION_MAX_BYTES:
        raise ProviderError(
            ErrorClass.CONTENT, "A YouTube description is at most 5,000 bytes.", code="description_length"
        )
    if any(bracket in title + description for bracket in "<>"):
        raise ProviderError(
            ErrorClass.CONTENT, "YouTube titles and descriptions cannot contain < or >.", code="angle_brackets"
        )
    tags = list(dict.fromkeys(HASHTAG.findall(part.content.text)))
    if len(",".join(tags)) > TAGS_MAX:
        raise ProviderError(
            ErrorClass.CONTENT, f"YouTube tags are at most {TAGS_MAX} characters together.", code="tags_length"
        )
    options = request.options
    kids = _choice(
        options, "made_for_kids", ("yes", "no"), "Say whether the video is made for kids: YouTube requires the choice."
    )
    privacy = _choice(
        options,
        "privacy",
        ("public", "unlisted", "private"),
        "Choose the video's visibility: public, unlisted or private.",
    )
    status: dict[str, Any] = {"privacyStatus": privacy, "selfDeclaredMadeForKids": kids == "yes"}
    status["containsSyntheticMedia"] = options.get("synthetic") == "yes"
    snippet: dict[str, Any] = {"title": title, "description": description, "categoryId": DEFAULT_CATEGORY}
    if tags:
        snippet["tags"] = tags
    return {"snippet": snippet, "status": status}


def _next_offset(response: http.Response) -> int:
    """308's ``Range: bytes=0-N`` means N + 1 bytes are held; no Range, none yet."""
    held = re.fullmatch(r"bytes=0-(\d+)", response.headers.get("Range", "").strip())
    return int(held.group(1)) + 1 if held else 0


def _video_resource(response: http.Response) -> dict[str, Any]:
    body = api.read_json(response)
    if not isinstance(body.get("id"), str) or not body["id"]:
        raise ProviderError(ErrorClass.TRANSIENT, "YouTube finished the upload without a video id", code="malformed")
    return body


def _not_before(published_at: Any, after: datetime | None) -> bool:
    if after is None:
        return True
    try:
        moment = datetime.fromisoformat(str(published_at).replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment >= after - SKEW


def _count(value: Any) -> int:
    try:
        return int(value)  # YouTube sends counts as strings
    except (TypeError, ValueError):
        return 0


def _metrics(statistics: Any) -> PostMetrics:
    stats = statistics if isinstance(statistics, dict) else {}
    return PostMetrics(
        likes=_count(stats.get("likeCount")),
        replies=_count(stats.get("commentCount")),
        impressions=_count(stats.get("viewCount")),
        extra={"favorites": _count(stats.get("favoriteCount"))},
    )
