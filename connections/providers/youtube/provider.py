"""YouTube: one video per post, sent by resumable upload and watched while YouTube processes it.

The upload session's URI is kept in the engine's upload store, so after a crash or a 5xx the
upload asks YouTube how much it holds (``Content-Range: bytes */N`` answers 308 with ``Range``)
and sends only the rest. The last chunk is the create call: when its answer is lost, the session
is asked again (it answers with the video once complete), then the channel's recent uploads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone

from connections import http
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import (
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
from connections.providers.google import GoogleOAuth2Provider
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules
from connections.providers.youtube import api, imports

SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm", "video/x-msvideo", "video/mpeg")
THUMBNAIL_TYPES = ("image/jpeg", "image/png")
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
THUMBNAILS = "https://www.googleapis.com/upload/youtube/v3/thumbnails/set"
# How far ahead a scheduled video may be set; YouTube wants publishAt in the future.
SCHEDULE_MIN_AHEAD = timedelta(minutes=5)
TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX = 500
SHORT_MAX_S = 180
DEFAULT_CATEGORY = "22"  # the reference's example category
SESSION = "video"  # the upload store's key: one video per post
HASHTAG = re.compile(r"#(\w+)")
SKEW = timedelta(minutes=2)


class YouTubeProvider(GoogleOAuth2Provider):
    id = "youtube"
    name = "YouTube"
    default_scopes = SCOPES
    supports_check = True
    supports_lookup = True
    supports_delete = True
    supports_metrics = True
    supports_account_metrics = True
    supports_import = True
    metrics_batch_size = 50  # videos.list takes at most 50 ids (1 unit a call)
    composer_options = (
        ("privacy", "Visibility", (("public", "Public"), ("unlisted", "Unlisted"), ("private", "Private"))),
        # A moment (ISO 8601): the video stays private until then, and YouTube makes it public.
        ("publish_at", "Go public at (private until then)", (("", "When published"),)),
        ("made_for_kids", "Made for kids", (("", "Choose..."), ("yes", "Yes"), ("no", "No"))),
        ("synthetic", "Altered or synthetic content", (("no", "No"), ("yes", "Yes, realistic altered or synthetic"))),
        ("format", "Format", (("video", "Video"), ("short", "Short (vertical, up to 3 minutes)"))),
    )  # fmt: skip
    required_options = ("made_for_kids",)
    moment_options = ("publish_at",)
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
        # The Google project is no secret: kept beside the account too, so the Accounts page can
        # show its quota without decrypting a token.
        extra = {"quota_project": secrets["quota_project"]} if secrets.get("quota_project") else {}
        return [
            Connection(profile=_profile(channel), secrets=secrets, expires_at=tokens.expires_at, scope=tokens.scope,
                       extra=dict(extra))
            for channel in channels
        ]  # fmt: skip

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
        # One video, and optionally one image: its custom thumbnail.
        return TextRules(
            max_length=TITLE_MAX + DESCRIPTION_MAX_BYTES, max_media=2, accepted_mime_types=VIDEO_TYPES + THUMBNAIL_TYPES
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        return self.format_media_rules(account=account, options={})

    def format_media_rules(self, *, account: AccountState | None, options: Mapping[str, Any]) -> MediaRules:
        if options.get("format") == "short":
            short = FormatRule(VIDEO, "YouTube Short", VIDEO_TYPES, duration_range=(0, SHORT_MAX_S),
                               recommended_aspect="9:16", aspect_range=(0.01, 1.0))  # fmt: skip
            return MediaRules(platform=self.name, formats=(short,))
        video = FormatRule(VIDEO, "YouTube video", VIDEO_TYPES, max_bytes=256 * 1024**3, duration_range=(0, 12 * 3600))
        thumbnail = FormatRule(IMAGE, "YouTube custom thumbnail", THUMBNAIL_TYPES, max_bytes=THUMBNAIL_MAX_BYTES)
        return MediaRules(platform=self.name, formats=(video, thumbnail), may_mix=True)

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
        if not video_id:
            item = _the_video(request, part)
            metadata = video_metadata(request, part)
            resource = self._upload(account, part, item, metadata, session)
            video_id = str(resource["id"])
            session = {"video_id": video_id}
            part.uploads.save(SESSION, session)
        thumbnail = _the_thumbnail(part)
        if thumbnail is not None and "thumbnail" not in session:
            # A step of its own, recorded once done (or refused), so it is never sent twice.
            session = {**session, "video_id": video_id, "thumbnail": self._set_thumbnail(account, video_id, thumbnail)}
            part.uploads.save(SESSION, session)
        return self._watch(account, request, part, video_id, session)

    def _set_thumbnail(self, account: AccountState, video_id: str, image: MediaItem) -> str:
        """thumbnails.set: "set", or why YouTube refused (a channel that is not verified may not
        have custom thumbnails); the video is published either way."""
        api.quota_reserve(_project(account), api.THUMBNAIL_COST)
        with self.api_session(_token(account)) as session:
            try:
                response = session.post(THUMBNAILS, params={"videoId": video_id}, data=image.read_range(0, image.size),
                                        headers={"Content-Type": image.mime_type})  # fmt: skip
            except http.RequestException as exc:
                raise http.transport_error(exc, create_call=False) from None  # setting it again replaces it
        if response.status_code < 400:
            return "set"
        error = api.classify(response)
        if response.status_code == 403 and error.error_class == ErrorClass.CONTENT:
            return "YouTube kept its own thumbnail: custom thumbnails need a verified channel (youtube.com/verify)."
        raise error

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
        # http:// only where local peers are allowed (development, the benchmark's fake YouTube).
        local = settings.ALLOW_PRIVATE_NETWORK_URLS and location.startswith("http://")
        if not location.startswith("https://") and not local:
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
        self,
        account: AccountState,
        request: PublishRequest,
        part: PartRequest,
        video_id: str,
        session: Mapping[str, Any],
    ) -> PublishedItem | Pending:
        """Processing, read from the video's status and processingDetails."""
        api.quota_spend(_project(account), api.LIST_COST)
        found = api.items(self._get(_token(account), "videos", part="status,processingDetails", id=video_id))
        status = found[0].get("status", {}) if found else {}
        upload_status = status.get("uploadStatus", "") if isinstance(status, dict) else ""
        if upload_status == "processed":
            refused = str(session.get("thumbnail", "set"))
            extra = {"thumbnail": refused} if refused != "set" else {}
            return PublishedItem(
                platform_post_id=video_id, url=_url(video_id, short=_format(request) == "short"), extra=extra
            )
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
        api.quota_reserve(_project(account), api.DELETE_COST)
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
        for holder, budget in _project(account).budgets(kept_for_uploads=reserve).items():
            if api.quota_used(holder) + 1 > budget:
                return api.seconds_to_pacific_midnight()
        return None

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        ids = list(platform_post_ids)
        found: dict[str, PostMetrics] = {}
        for start in range(0, len(ids), 50):  # at most 50 ids a call
            api.quota_spend(_project(account), api.LIST_COST)
            body = self._get(_token(account), "videos", part="statistics", id=",".join(ids[start : start + 50]))
            for video in api.items(body):
                found[str(video.get("id"))] = _metrics(video.get("statistics", {}))
        return found

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """The channel's statistics: subscribers (None when the channel hides them), views, videos."""
        api.quota_spend(_project(account), api.LIST_COST)
        found = api.items(self._get(_token(account), "channels", part="statistics", id=account.external_id))
        stats = found[0].get("statistics") if found else None
        if not isinstance(stats, dict):
            return None
        hidden = stats.get("hiddenSubscriberCount") is True
        return AccountMetrics(
            followers=None if hidden else _count(stats.get("subscriberCount")),
            posts_count=_count(stats.get("videoCount")),
            views=_count(stats.get("viewCount")),
        )

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """The channel's uploads, newest first. Each list call's unit is taken from the share of
        the day's quota analytics may use before it is made: an import never spends the units an
        upload needs (the first page's two calls are taken together, so none is spent in vain)."""
        playlist, token = imports.split_cursor(cursor)
        units = api.LIST_COST * (1 if playlist else 2)
        api.quota_reserve(_project(account), units, kept_for_uploads=settings.ANALYTICS_BUDGET_RESERVE)
        access = _token(account)
        if not playlist:
            found = api.items(self._get(access, "channels", part="contentDetails", id=account.external_id))
            playlist = imports.uploads_playlist(found)
        params = {"part": imports.PARTS, "playlistId": playlist, "maxResults": str(imports.PAGE_SIZE)}
        body = self._get(access, "playlistItems", **params, **({"pageToken": token} if token else {}))
        return imports.page_of(body, playlist)

    def account_notes(self, *, account: AccountState) -> tuple[str, ...]:
        ledger = _project(account)
        budget, used = api.quota_budget(), api.quota_used(ledger.project)
        notes = [f"YouTube quota used today: {used:,} / {budget:,} units ({max(0, budget - used):,} left)."]
        if ledger.workspace:
            share, spent = api.workspace_budget(), api.workspace_used(ledger)
            notes.append(f"This workspace's share: {spent:,} / {share:,} units ({max(0, share - spent):,} left).")
        return tuple(notes)

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


def _project(account: AccountState) -> api.Ledger:
    """The account's Google project, and its workspace's share of that project's quota."""
    project = str(account.extra.get("quota_project") or account.secrets.get("quota_project") or "instance")
    workspace = str(account.workspace_id) if account.workspace_id is not None else ""
    return api.Ledger(project=project, workspace=workspace)


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


def _is_video(item: MediaItem) -> bool:
    return item.kind == "video" or item.mime_type.startswith("video/")


def _the_thumbnail(part: PartRequest) -> MediaItem | None:
    images = [item for item in part.content.media if not _is_video(item)]
    return images[0] if images else None


def _the_video(request: PublishRequest, part: PartRequest) -> MediaItem:
    videos = [item for item in part.content.media if _is_video(item)]
    images = [item for item in part.content.media if not _is_video(item)]
    if len(videos) != 1 or len(images) > 1:
        raise ProviderError(
            ErrorClass.CONTENT, "A YouTube post is exactly one video, and at most one thumbnail.", code="one_video"
        )
    if images and (images[0].mime_type not in THUMBNAIL_TYPES or images[0].size > THUMBNAIL_MAX_BYTES):
        raise ProviderError(
            ErrorClass.CONTENT, "A YouTube thumbnail is a JPEG or PNG of at most 2 MB.", code="thumbnail_format"
        )
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
    publish_at = _publish_at(options.get("publish_at"))
    if publish_at:
        # YouTube takes publishAt only on a private video, which it makes public at that moment.
        status.update(privacyStatus="private", publishAt=publish_at)
    status["containsSyntheticMedia"] = options.get("synthetic") == "yes"
    snippet: dict[str, Any] = {"title": title, "description": description, "categoryId": DEFAULT_CATEGORY}
    if tags:
        snippet["tags"] = tags
    return {"snippet": snippet, "status": status}


def _publish_at(value: Any) -> str:
    """The scheduled moment as YouTube's UTC ``...Z`` form; empty when none was chosen."""
    if value in (None, ""):
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ProviderError(
            ErrorClass.CONTENT, "Give the time to go public as a date and time with its zone.", code="option_publish_at"
        )
    if moment < timezone.now() + SCHEDULE_MIN_AHEAD:
        raise ProviderError(
            ErrorClass.CONTENT, "The time to go public on YouTube must be in the future.", code="publish_at_past"
        )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
