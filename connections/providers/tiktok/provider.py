"""TikTok: Direct Post of one video, built from the creator's own options.

Before each post ``creator_info`` is asked (TikTok requires it): the privacy level must be one it
lists (the author chooses, there is no default), comments, duets and stitches stay off where the
creator has them off, and the video may not be longer than it allows. The video goes by chunked
FILE_UPLOAD (its publish id, upload URL and offset kept in the upload store, so a crash resumes
at the stored offset) or, on a verified domain, PULL_FROM_URL; then ``status/fetch`` is polled in
the engine's processing state until PUBLISH_COMPLETE gives the post's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from connections import http
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountState,
    AppCredentials,
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
from connections.providers.oauth2 import AUTH_ERRORS, OAuth2Provider, token_set
from connections.providers.tiktok import api
from connections.providers.tiktok.conf import CHUNK_MIN

SCOPES = ("user.info.basic", "user.info.profile", "user.info.stats", "video.publish", "video.upload", "video.list")
PRIVACY_LEVELS = (
    ("PUBLIC_TO_EVERYONE", "Everyone"),
    ("MUTUAL_FOLLOW_FRIENDS", "Friends (followers you follow back)"),
    ("FOLLOWER_OF_CREATOR", "Followers"),
    ("SELF_ONLY", "Only me"),
)
INTERACTIONS = (("comments", "comment"), ("duet", "duet"), ("stitch", "stitch"))
COMMERCIAL = (
    ("none", "Not commercial content"),
    ("your_brand", "Your brand: promotes yourself or your own business"),
    ("branded", "Branded content: promotes another brand or a third party"),
)
USER_FIELDS = "open_id,union_id,avatar_url,display_name,username,follower_count,following_count,likes_count,video_count"
VIDEO_FIELDS = "id,title,create_time,share_url,view_count,like_count,comment_count,share_count"
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
CAPTION_MAX_UTF16 = 2200
VIDEO_MAX_BYTES = 4 * 1024**3
SESSION = "video"
PROCESSING = ("PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD")
SKEW = timedelta(minutes=2)


class TikTokProvider(OAuth2Provider):
    id = "tiktok"
    name = "TikTok"
    authorize_url = api.AUTHORIZE
    token_url = api.TOKEN
    scope_separator = ","
    supports_pkce = False  # PKCE is for TikTok's mobile and desktop apps only
    supports_check = True
    supports_refresh = True
    supports_lookup = True
    supports_metrics = True
    metrics_batch_size = 20  # video/query takes at most 20 ids
    default_scopes = SCOPES
    refresh_margin_s = 30 * 60
    composer_options = (
        ("privacy_level", "Who can see this post", (("", "Choose..."), *PRIVACY_LEVELS)),
        ("comments", "Allow comments", (("no", "Off"), ("yes", "On"))),
        ("duet", "Allow duets", (("no", "Off"), ("yes", "On"))),
        ("stitch", "Allow stitches", (("no", "Off"), ("yes", "On"))),
        ("commercial", "Commercial content disclosure", COMMERCIAL),
        ("aigc", "AI-generated content", (("no", "No"), ("yes", "Yes"))),
    )
    required_options = ("privacy_level",)
    developer_console_url = "https://developers.tiktok.com/apps/"
    setup_steps = (
        "Create an app on developers.tiktok.com with Login Kit and the Content Posting API (Direct Post), "
        "add this site's callback URL, and set TIKTOK_CLIENT_ID (the client key) and TIKTOK_CLIENT_SECRET."
    )
    connect_intro = (
        "Until TikTok audits this app, every post is private (Only me), whatever is chosen. "
        "After posting, TikTok may take a few minutes to process the video."
    )
    check_delays_s: ClassVar[tuple[float, ...]] = (10, 20, 30, 60)

    # --- Connect ---------------------------------------------------------------------------------

    def authorization_url(
        self, *, app: AppCredentials, redirect_uri: str, state: str, code_verifier: str | None, instance_url: str = ""
    ) -> str:
        # TikTok names the client "client_key" and separates scopes with commas.
        scope = ",".join(app.scopes or self.default_scopes)
        query = {"client_key": app.client_id, "response_type": "code", "scope": scope,
                 "redirect_uri": redirect_uri, "state": state}  # fmt: skip
        return f"{api.AUTHORIZE}?{urlencode(query)}"

    def exchange_code(
        self, *, app: AppCredentials, code: str, redirect_uri: str, code_verifier: str | None, instance_url: str = ""
    ) -> TokenSet:
        form = {"client_key": app.client_id, "client_secret": app.client_secret, "code": code,
                "grant_type": "authorization_code", "redirect_uri": redirect_uri}  # fmt: skip
        return _token_request(form, previous_refresh_token=None)

    def refresh(self, *, app: AppCredentials | None, account: AccountState) -> TokenSet:
        refresh_token = account.secrets.get("refresh_token")
        if not refresh_token or app is None:
            raise ProviderError(ErrorClass.AUTH, "no refresh token: reconnect the account", code="no_refresh_token")
        form = {"client_key": app.client_id, "client_secret": app.client_secret,
                "grant_type": "refresh_token", "refresh_token": refresh_token}  # fmt: skip
        # TikTok may rotate the refresh token: the one each refresh returns is the one kept.
        return _token_request(form, previous_refresh_token=str(refresh_token))

    def fetch_profile(self, *, tokens: TokenSet, instance_url: str = "") -> Profile:
        return _profile(self._user(tokens.access_token))

    def check(self, *, app: AppCredentials | None, account: AccountState) -> Profile:
        return _profile(self._user(_token(account)))

    def _user(self, token: str) -> dict[str, Any]:
        user = self._call(token, "GET", "user/info/", params={"fields": USER_FIELDS}).get("user")
        if not isinstance(user, dict) or not user.get("open_id"):
            raise ProviderError(ErrorClass.TRANSIENT, "TikTok sent a profile without an open_id", code="malformed")
        return user

    # --- What the composer offers, from the creator's own options ------------------------------

    def creator_info(self, account: AccountState) -> dict[str, Any]:
        return self._call(_token(account), "POST", "post/publish/creator_info/query/", json={})

    def creator_options(self, account: AccountState) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
        """The composer's TikTok options for this creator: only the privacy levels TikTok lists
        (starting on "Choose...", no default) and no "On" where the creator has an interaction off."""
        info = self.creator_info(account)
        offered = info.get("privacy_level_options") or []
        labels = dict(PRIVACY_LEVELS)
        privacy = (
            ("", "Choose..."),
            *((level, labels.get(level, level)) for level in offered if isinstance(level, str)),
        )
        options = [("privacy_level", "Who can see this post", privacy)]
        for name, word in INTERACTIONS:
            label = dict((n, lbl) for n, lbl, _c in self.composer_options)[name]
            off_only = bool(info.get(f"{word}_disabled"))
            choices = (("no", f"Off (turned off in {info.get('creator_nickname') or 'the creator'}'s settings)"),)
            options.append((name, label, choices if off_only else (("no", "Off"), ("yes", "On"))))
        return (*options, *(option for option in self.composer_options if option[0] in ("commercial", "aigc")))

    # --- Rules -----------------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(max_length=CAPTION_MAX_UTF16, max_media=1, accepted_mime_types=VIDEO_TYPES)

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        video = FormatRule(VIDEO, "TikTok video", VIDEO_TYPES, max_bytes=VIDEO_MAX_BYTES, recommended_aspect="9:16")
        return MediaRules(platform=self.name, formats=(video,))

    # --- Publishing ------------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        if part.kind != PartKind.MAIN:
            raise ProviderError(
                ErrorClass.CONTENT, "TikTok takes one video per post: no replies or comments.", code="no_threads"
            )
        session = part.uploads.load(SESSION) or {}
        if part.state.get("publish_id") or session.get("uploaded"):
            return self._status(account, request, part, str(part.state.get("publish_id") or session["publish_id"]))
        item = _the_video(part)
        if not session.get("publish_id"):
            session = self._init(account, request, part, item)
        elif not session.get("pull"):
            session = self._resumed(account, session, item)
        if not session.get("pull") and not session.get("uploaded"):
            self._upload(part, session, item)
        part.uploads.save(SESSION, {**session, "uploaded": True})
        return self._status(account, request, part, str(session["publish_id"]))

    def _init(
        self, account: AccountState, request: PublishRequest, part: PartRequest, item: MediaItem
    ) -> dict[str, Any]:
        info = self.creator_info(account)  # TikTok requires it before each post
        post_info = post_info_for(request, part, info, item)
        pull = bool(api.setting("TIKTOK_PULL_FROM_URL")) and bool(item.public_url)
        source = {"source": "PULL_FROM_URL", "video_url": item.public_url} if pull else _file_source(item.size)
        # A pulled video is posted by the init itself; an uploaded one only once all its bytes arrive.
        data = self._call(_token(account), "POST", "post/publish/video/init/",
                          json={"post_info": post_info, "source_info": source}, create_call=pull)  # fmt: skip
        publish_id = data.get("publish_id")
        if not isinstance(publish_id, str) or not publish_id or (not pull and not data.get("upload_url")):
            raise ProviderError(
                ErrorClass.TRANSIENT, "TikTok's init answer has no publish_id or upload_url", code="malformed"
            )
        session = {"publish_id": publish_id, "upload_url": str(data.get("upload_url") or ""), "offset": 0, "pull": pull,
                   "privacy": post_info["privacy_level"]}  # fmt: skip
        part.uploads.save(SESSION, session)
        return session

    def _resumed(self, account: AccountState, session: dict[str, Any], item: MediaItem) -> dict[str, Any]:
        """After a crash: if TikTok already holds every byte (an answer lost), nothing is sent again."""
        data = self._fetch_status(account, str(session["publish_id"]))
        if data.get("status") != "PROCESSING_UPLOAD" or int(data.get("uploaded_bytes") or 0) >= item.size:
            return {**session, "uploaded": True}
        return session

    def _upload(self, part: PartRequest, session: dict[str, Any], item: MediaItem) -> None:
        chunk_size, count = chunk_plan(item.size)
        offset = int(session.get("offset") or 0)
        with http.platform_session() as client:
            for index in range(offset // chunk_size if chunk_size else 0, count):
                start = index * chunk_size
                end = item.size if index == count - 1 else start + chunk_size
                data = item.read_range(start, end - start)
                headers = {"Content-Type": item.mime_type, "Content-Range": f"bytes {start}-{end - 1}/{item.size}"}
                try:
                    response = client.put(str(session["upload_url"]), data=data, headers=headers)
                except http.RequestException as exc:
                    # The same upload can be asked about and continued: never a second post.
                    raise http.transport_error(exc, create_call=False) from None
                if response.status_code >= 300:  # 206 for a middle chunk, 201 for the last
                    raise api.classify_code(
                        "", f"TikTok refused chunk {index + 1} of {count}", status=response.status_code
                    )
                session["offset"] = end
                part.uploads.save(SESSION, session)

    def _fetch_status(self, account: AccountState, publish_id: str) -> dict[str, Any]:
        return self._call(_token(account), "POST", "post/publish/status/fetch/", json={"publish_id": publish_id})

    def _status(
        self, account: AccountState, request: PublishRequest, part: PartRequest, publish_id: str
    ) -> PublishedItem | Pending:
        data = self._fetch_status(account, publish_id)
        status = data.get("status")
        if status == "FAILED":
            raise _failed(str(data.get("fail_reason") or ""))
        if status == "SEND_TO_USER_INBOX":
            return PublishedItem(platform_post_id=publish_id, url=_profile_url(account))
        if status == "PUBLISH_COMPLETE":
            ids = data.get("publicaly_available_post_id") or []  # TikTok's spelling
            if ids:
                return PublishedItem(platform_post_id=str(ids[0]), url=_video_url(account, str(ids[0])))
            if (part.uploads.load(SESSION) or {}).get("privacy") == "SELF_ONLY":
                return PublishedItem(platform_post_id=publish_id, url=_profile_url(account))  # never gets a public id
            return self._waiting(part, publish_id, "TikTok published the video and is reviewing it")
        return self._waiting(part, publish_id, "TikTok is processing the video; this can take a few minutes")

    def _waiting(self, part: PartRequest, publish_id: str, reason: str) -> Pending:
        checks = int(part.state.get("checks", 0)) + 1
        delay = self.check_delays_s[min(checks, len(self.check_delays_s)) - 1]
        return Pending(reason=reason, state={"publish_id": publish_id, "checks": checks}, check_in_s=delay)

    # --- Reconciliation and metrics --------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """A pulled video whose init answer was lost: its stored publish id says; without one, the
        creator's recent public videos are searched for the caption, never older than this run."""
        session = part.uploads.load(SESSION) or {}
        if session.get("publish_id"):
            data = self._fetch_status(account, str(session["publish_id"]))
            if data.get("status") == "FAILED":
                return None
            answer = self._status(account, request, part, str(session["publish_id"]))
            if isinstance(answer, Pending):
                raise ProviderError(ErrorClass.TRANSIENT, answer.reason, code="processing")
            return answer
        listed = self._call(
            _token(account), "POST", "video/list/", params={"fields": VIDEO_FIELDS}, json={"max_count": 20}
        )
        for video in listed.get("videos") or []:
            if (
                isinstance(video, dict)
                and video.get("title") == part.content.text
                and _not_before(video.get("create_time"), part.sent_after)
            ):
                return PublishedItem(platform_post_id=str(video["id"]), url=str(video.get("share_url") or ""))
        return None

    def fetch_metrics(self, *, account: AccountState, platform_post_ids: Iterable[str]) -> dict[str, PostMetrics]:
        ids = list(platform_post_ids)
        found: dict[str, PostMetrics] = {}
        for start in range(0, len(ids), 20):  # at most 20 ids a query
            data = self._call(_token(account), "POST", "video/query/", params={"fields": VIDEO_FIELDS},
                              json={"filters": {"video_ids": ids[start : start + 20]}})  # fmt: skip
            for video in data.get("videos") or []:
                if isinstance(video, dict) and video.get("id"):
                    found[str(video["id"])] = _metrics(video)
        return found

    def _call(
        self, token: str, method: str, path: str, *, params: Mapping[str, str] | None = None,
        json: Any = None, create_call: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        with self.api_session(token) as session:
            try:
                response = session.request(method, f"{api.OPEN_API}/{path}", params=params, json=json)
            except http.RequestException as exc:
                raise http.transport_error(exc, create_call=create_call) from None
        return api.data_of(response)


# --- Helpers ------------------------------------------------------------------------------------


def _token_request(form: dict[str, str], *, previous_refresh_token: str | None) -> TokenSet:
    with http.platform_session() as session:
        try:
            response = session.post(api.TOKEN, data=form)
        except http.RequestException as exc:
            raise http.transport_error(exc, create_call=False) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProviderError(
            ErrorClass.TRANSIENT, f"TikTok's token endpoint answered {response.status_code}", code="malformed"
        )
    error = body.get("error")
    if isinstance(error, str) and error:
        message = str(body.get("error_description") or error)
        error_class = ErrorClass.AUTH if error in AUTH_ERRORS else ErrorClass.CONFIG
        raise ProviderError(error_class, message, code=error, status=response.status_code)
    kept = {
        key: body[key] for key in ("access_token", "refresh_token", "expires_in", "scope", "open_id") if key in body
    }
    tokens = token_set(kept, previous_refresh_token=previous_refresh_token)
    if body.get("refresh_expires_in"):
        expires = datetime.now(UTC) + timedelta(seconds=int(body["refresh_expires_in"]))
        tokens.extra["refresh_expires_at"] = expires.isoformat()
    return tokens


def _token(account: AccountState) -> str:
    token = account.secrets.get("access_token")
    if not token:
        raise ProviderError(ErrorClass.AUTH, "No TikTok session: reconnect the account.", code="no_token")
    return str(token)


def _profile(user: dict[str, Any]) -> Profile:
    handle = str(user.get("username") or "")
    return Profile(
        external_id=str(user["open_id"]),
        username=f"@{handle}" if handle else str(user.get("display_name") or user["open_id"]),
        display_name=str(user.get("display_name") or handle),
        avatar_url=str(user.get("avatar_url") or ""),
        profile_url=f"https://www.tiktok.com/@{handle}" if handle else "",
    )


def _profile_url(account: AccountState) -> str:
    return f"https://www.tiktok.com/@{account.username.lstrip('@')}"


def _video_url(account: AccountState, post_id: str) -> str:
    return f"{_profile_url(account)}/video/{post_id}"


def _the_video(part: PartRequest) -> MediaItem:
    videos = [item for item in part.content.media if item.kind == "video" or item.mime_type.startswith("video/")]
    if len(videos) != 1 or len(part.content.media) != 1:
        raise ProviderError(ErrorClass.CONTENT, "A TikTok post is exactly one video.", code="one_video")
    return videos[0]


def chunk_plan(size: int) -> tuple[int, int]:
    """(chunk size, chunk count) by TikTok's rules: under 5 MB one chunk; otherwise chunks of the
    setting's size, ``floor(size / chunk)`` of them, the last taking the remainder (under 128 MB)."""
    chunk = int(api.setting("TIKTOK_UPLOAD_CHUNK_BYTES"))
    if size < CHUNK_MIN or size <= chunk:
        return size, 1
    return chunk, size // chunk


def _file_source(size: int) -> dict[str, Any]:
    chunk, count = chunk_plan(size)
    return {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count}


def post_info_for(
    request: PublishRequest, part: PartRequest, info: Mapping[str, Any], item: MediaItem
) -> dict[str, Any]:
    """The post's settings, checked against what ``creator_info`` allows this creator now."""
    options = request.options
    offered = info.get("privacy_level_options") or []
    privacy = options.get("privacy_level")
    if not privacy:
        raise ProviderError(
            ErrorClass.CONTENT, "Choose who can see the TikTok post: there is no default.", code="privacy_required"
        )
    if privacy not in offered:
        raise api.classify_code("privacy_level_option_mismatch", "")
    if len(part.content.text.encode("utf-16-le")) // 2 > CAPTION_MAX_UTF16:
        raise ProviderError(ErrorClass.CONTENT, "A TikTok caption is at most 2,200 characters.", code="caption_length")
    longest = info.get("max_video_post_duration_sec")
    if isinstance(longest, int) and item.duration_s is not None and item.duration_s > longest:
        message = f"This creator's TikTok videos can be at most {longest} seconds; this one is {item.duration_s:.0f}."
        raise ProviderError(ErrorClass.CONTENT, message, code="duration_check_failed")
    commercial = options.get("commercial", "none")
    post_info: dict[str, Any] = {
        "title": part.content.text,
        "privacy_level": privacy,
        "brand_organic_toggle": commercial == "your_brand",
        "brand_content_toggle": commercial == "branded",
        "is_aigc": options.get("aigc") == "yes",
    }
    for name, word in INTERACTIONS:
        # Off where the creator has it off, whatever was chosen; else as the author chose.
        post_info[f"disable_{word}"] = bool(info.get(f"{word}_disabled")) or options.get(name) != "yes"
    return post_info


def _failed(reason: str) -> ProviderError:
    error = api.classify_code(reason, "")
    if error.error_class in (ErrorClass.RATE, ErrorClass.TRANSIENT, ErrorClass.AUTH):
        return error
    message = api.MESSAGES.get(reason) or f"TikTok could not publish the video ({reason or 'no reason given'})."
    return ProviderError(ErrorClass.CONTENT, message, code=reason or "failed")


def _not_before(create_time: Any, after: datetime | None) -> bool:
    if after is None:
        return True
    try:
        return datetime.fromtimestamp(int(create_time), tz=UTC) >= after - SKEW
    except (TypeError, ValueError, OverflowError):
        return False


def _metrics(video: Mapping[str, Any]) -> PostMetrics:
    def count(name: str) -> int:
        value = video.get(name)
        return value if isinstance(value, int) else 0

    return PostMetrics(likes=count("like_count"), replies=count("comment_count"), reposts=count("share_count"),
                       impressions=count("view_count"))  # fmt: skip
