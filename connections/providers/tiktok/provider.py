"""TikTok: Direct Post of one video or of photos (or either sent to the creator's inbox as a
draft), built from the creator's own options.

Before each post ``creator_info`` is asked (TikTok requires it): the privacy level must be one it
lists (the author chooses, there is no default), comments, duets and stitches stay off where the
creator has them off, and the video may not be longer than it allows. The video goes by chunked
FILE_UPLOAD (its publish id, upload URL and offset kept in the upload store, so a crash resumes
at the stored offset) or, on a verified domain, PULL_FROM_URL; then ``status/fetch`` is polled in
the engine's processing state until PUBLISH_COMPLETE gives the post's id. Photos are always
pulled from their URLs (``content/init``). The composer reads creator_info live through
``composer_choices`` and ``composer_notes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from django.core.cache import cache
from django.utils import timezone

from connections import http, quota
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    AppCredentials,
    ComposerNote,
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
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaFacts, MediaRules
from connections.providers.oauth2 import AUTH_ERRORS, OAuth2Provider, token_set
from connections.providers.tiktok import api, imports
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
PHOTO_TYPES = ("image/jpeg", "image/webp")  # TikTok takes no PNG photos
PHOTOS_MAX = 35
PHOTO_TITLE_MAX, PHOTO_DESCRIPTION_MAX = 90, 4000
CAPTION_MAX_UTF16 = 2200
VIDEO_MAX_BYTES = 4 * 1024**3
SESSION = "video"
PROCESSING = ("PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD")
SKEW = timedelta(minutes=2)
# TikTok allows 6 inits a minute per user token. Counted in fixed minutes of half that, so no
# 60 seconds, however they straddle two minutes, hold more than 6.
INITS_PER_MINUTE = 6
CREATOR_INFO_TTL_S = 60  # the composer asks several times per page: once a minute is enough
CREATOR_INFO_KEPT_S = 30 * 24 * 3600  # the last answer, for when TikTok cannot be asked
SCHEDULE_CHECK_TIMEOUT = (3.0, 5.0)  # connect, read: a post being saved waits no longer for TikTok
PROCESSING_NOTE = "After posting, TikTok may take a few minutes to process the post before it appears on the profile."
UNAUDITED_NOTE = (
    "TikTok has not audited this app yet: every post is private (Only me), whatever is chosen, "
    "and the account must be private when posting."
)
DISCLOSURE_NOTE = (
    'Commercial content: with "Your brand" the post is labelled "Promotional content"; with "Branded '
    'content" it is labelled "Paid partnership" and cannot be private. By posting, you agree to TikTok\'s '
    "Music Usage Confirmation, and for branded content to TikTok's Branded Content Policy."
)


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
    supports_account_metrics = True
    supports_import = True  # scope video.list: the creator's public videos
    checks_account_media = True  # the creator's longest video, from creator_info
    composer_options = (
        ("post_mode", "How to post", (("direct", "Post to the profile"),
                                      ("inbox", "Send to the creator's TikTok inbox as a draft"))),
        # Listed live from creator_info: only the levels TikTok offers this creator, no default.
        ("privacy_level", "Who can see this post", (("", "Choose..."),)),
        # Off unless the author turns them on; only "Off" where the creator has them off.
        ("comments", "Allow comments", (("no", "Off"),)),
        ("duet", "Allow duets", (("no", "Off"),)),
        ("stitch", "Allow stitches", (("no", "Off"),)),
        ("commercial", "Commercial content disclosure", COMMERCIAL),
        ("aigc", "AI-generated content", (("no", "No"), ("yes", "Yes"))),
    )  # fmt: skip
    account_options = ("privacy_level", "comments", "duet", "stitch")
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

    def creator_info(self, account: AccountState, *, timeout: tuple[float, float] | None = None) -> dict[str, Any]:
        """Asked fresh before each post, as TikTok requires."""
        return self._call(_token(account), "POST", "post/publish/creator_info/query/", json={}, timeout=timeout)

    def _recent_creator_info(
        self, account: AccountState, *, timeout: tuple[float, float] | None = None
    ) -> dict[str, Any]:
        """For the composer, which asks for several options on one page: kept a minute (TikTok
        allows 20 creator_info calls a minute per user). The last answer is also kept a month
        by the creator's id, for when TikTok cannot be asked (see ``account_media_problems``)."""
        key = "tiktok-creator:" + hashlib.sha256(_token(account).encode()).hexdigest()[:24]
        kept = cache.get(key)
        if isinstance(kept, dict):
            return kept
        info = self.creator_info(account, timeout=timeout)
        cache.set(key, info, timeout=CREATOR_INFO_TTL_S)
        cache.set(last_creator_key(account.external_id), info, timeout=CREATOR_INFO_KEPT_S)
        return info

    def account_media_problems(
        self, *, account: AccountState, media: list[MediaFacts], options: Mapping[str, Any]
    ) -> list[str]:
        """A video longer than creator_info's ``max_video_post_duration_sec``, refused when the
        post is scheduled rather than at upload. creator_info is asked now (kept a minute) with a
        short timeout, as the post is being saved in a transaction that may hold its accounts
        for the queue; if TikTok cannot answer in time, the last answer kept is used, and
        without one the post is not refused: the upload asks TikTok again and refuses it then,
        which beats refusing every post while TikTok is down. A draft for the inbox is limited in
        TikTok's app, not here."""
        videos = [item for item in media if item.kind == VIDEO and item.duration_s is not None]
        if not videos or options.get("post_mode") == "inbox":
            return []
        try:
            info = self._recent_creator_info(account, timeout=SCHEDULE_CHECK_TIMEOUT)
        except ProviderError:
            kept = cache.get(last_creator_key(account.external_id))
            info = kept if isinstance(kept, dict) else {}
        longest = info.get("max_video_post_duration_sec")
        if not isinstance(longest, int) or longest <= 0:
            return []
        who = str(info.get("creator_nickname") or account.username)
        return [
            f"{who}'s TikTok videos can be at most {longest} seconds (TikTok's max_video_post_duration_sec for "
            f"this creator); {item.name} is {item.duration_s:.0f} seconds. Trim it to {longest} seconds or less."
            for item in videos
            if item.duration_s is not None and item.duration_s > longest
        ]

    def composer_choices(self, *, account: AccountState, name: str) -> tuple[tuple[str, str], ...]:
        """The creator's own choices: the privacy levels TikTok lists (after "Choose...", so none
        is preselected) and no "On" for an interaction the creator has turned off."""
        info = self._recent_creator_info(account)
        if name == "privacy_level":
            labels = dict(PRIVACY_LEVELS)
            offered = [level for level in info.get("privacy_level_options") or [] if isinstance(level, str)]
            return (("", "Choose..."), *((level, labels.get(level, level)) for level in offered))
        word = dict(INTERACTIONS).get(name)
        if word is None:
            return ()
        if info.get(f"{word}_disabled"):
            who = str(info.get("creator_nickname") or "The creator")
            return (("no", f"Off ({who} has turned this off on TikTok)"),)
        return (("no", "Off"), ("yes", "On"))

    def composer_notes(self, *, account: AccountState) -> tuple[ComposerNote, ...]:
        info = self._recent_creator_info(account)
        nickname = str(info.get("creator_nickname") or account.username)
        handle = str(info.get("creator_username") or account.username.lstrip("@"))
        avatar = str(info.get("creator_avatar_url") or "")
        notes = [ComposerNote(f"Posting to TikTok as {nickname} (@{handle}).", avatar)]
        longest = info.get("max_video_post_duration_sec")
        if isinstance(longest, int) and longest > 0:
            notes.append(ComposerNote(f"{nickname}'s TikTok videos can be at most {longest} seconds long."))
        notes.append(ComposerNote(PROCESSING_NOTE))
        if not api.setting("TIKTOK_APP_AUDITED"):
            notes.append(ComposerNote(UNAUDITED_NOTE))
        notes.append(ComposerNote(DISCLOSURE_NOTE))
        return tuple(notes)

    def options_required(self, *, options: Mapping[str, Any]) -> tuple[str, ...]:
        # A draft in the creator's inbox is given its privacy in TikTok's app, not here.
        return () if options.get("post_mode") == "inbox" else self.required_options

    # --- Rules -----------------------------------------------------------------------------------

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(
            max_length=CAPTION_MAX_UTF16, max_media=PHOTOS_MAX, accepted_mime_types=VIDEO_TYPES + PHOTO_TYPES
        )

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        video = FormatRule(VIDEO, "TikTok video", VIDEO_TYPES, max_bytes=VIDEO_MAX_BYTES, recommended_aspect="9:16")
        photos = FormatRule(IMAGE, "TikTok photos", PHOTO_TYPES, max_count=PHOTOS_MAX, recommended_aspect="9:16")
        return MediaRules(platform=self.name, formats=(video, photos))

    # --- Publishing ------------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        if part.kind != PartKind.MAIN:
            raise ProviderError(
                ErrorClass.CONTENT, "TikTok takes one video per post: no replies or comments.", code="no_threads"
            )
        session = part.uploads.load(SESSION) or {}
        publish_id = str(part.state.get("publish_id") or session.get("publish_id") or "")
        if publish_id and publish_id == session.get("failed"):
            publish_id, session = "", {}  # TikTok gave up on that one for a passing reason: post anew
        if publish_id and (part.state.get("publish_id") or session.get("uploaded")):
            return self._status(account, request, part, publish_id)
        photos = _the_photos(part)
        if photos:
            return self._post_photos(account, request, part, photos)
        item = _the_video(part)
        if not session.get("publish_id"):
            held = self._init_slot(account, part)
            if held is not None:
                return held
            session = self._init(account, request, part, item)
        elif not session.get("pull"):
            session = self._resumed(account, session, item)
        if not session.get("pull") and not session.get("uploaded"):
            self._upload(part, session, item)
        part.uploads.save(SESSION, {**session, "uploaded": True})
        return self._status(account, request, part, str(session["publish_id"]))

    def _init_slot(self, account: AccountState, part: PartRequest) -> Pending | None:
        """Take one of this user's inits for the current minute, or wait for the next minute."""
        now = timezone.now()
        holder = "init:" + hashlib.sha256(account.external_id.encode()).hexdigest()[:16] + now.strftime(":%H%M")
        full = quota.reserve(platform=self.id, day=now.date(), units=1, budgets={holder: INITS_PER_MINUTE // 2})
        if full is None:
            return None
        reason = f"Pacing: TikTok takes {INITS_PER_MINUTE} posts a minute from one account; waiting for the next minute"
        return Pending(reason=reason, state=dict(part.state), check_in_s=float(61 - now.second))

    def _init(
        self, account: AccountState, request: PublishRequest, part: PartRequest, item: MediaItem
    ) -> dict[str, Any]:
        inbox = _inbox(request)
        pull = bool(api.setting("TIKTOK_PULL_FROM_URL")) and bool(item.public_url)
        source = {"source": "PULL_FROM_URL", "video_url": item.public_url} if pull else _file_source(item.size)
        if inbox:
            # A draft for the creator to finish in the app: only the file; TikTok asks the rest there.
            path, body, privacy = "post/publish/inbox/video/init/", {"source_info": source}, ""
        else:
            info = self.creator_info(account)  # TikTok requires it before each post
            post_info = post_info_for(request, part, info, item)
            path, body = "post/publish/video/init/", {"post_info": post_info, "source_info": source}
            privacy = post_info["privacy_level"]
        # A pulled video is posted by the init itself; an uploaded one only once all its bytes arrive.
        data = self._call(_token(account), "POST", path, json=body, create_call=pull)
        publish_id = data.get("publish_id")
        if not isinstance(publish_id, str) or not publish_id or (not pull and not data.get("upload_url")):
            raise ProviderError(
                ErrorClass.TRANSIENT, "TikTok's init answer has no publish_id or upload_url", code="malformed"
            )
        session = {"publish_id": publish_id, "upload_url": str(data.get("upload_url") or ""), "offset": 0, "pull": pull,
                   "privacy": privacy}  # fmt: skip
        part.uploads.save(SESSION, session)
        return session

    def _post_photos(
        self, account: AccountState, request: PublishRequest, part: PartRequest, photos: list[MediaItem]
    ) -> PublishedItem | Pending:
        """Photos go by PULL_FROM_URL only (content/init), which posts them at once."""
        if not api.setting("TIKTOK_PULL_FROM_URL") or not all(photo.public_url for photo in photos):
            raise ProviderError(
                ErrorClass.CONFIG,
                "TikTok takes photos only by pulling them from a verified domain: verify SITE_URL's domain in "
                "TikTok's developer portal and set TIKTOK_PULL_FROM_URL.",
                code="photos_need_pull",
            )
        held = self._init_slot(account, part)
        if held is not None:
            return held
        inbox = _inbox(request)
        info = {} if inbox else self.creator_info(account)
        post_info = photo_post_info_for(request, part, info, inbox=inbox)
        source = {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": [p.public_url for p in photos]}
        body = {"post_info": post_info, "source_info": source, "media_type": "PHOTO",
                "post_mode": "MEDIA_UPLOAD" if inbox else "DIRECT_POST"}  # fmt: skip
        data = self._call(_token(account), "POST", "post/publish/content/init/", json=body, create_call=True)
        publish_id = data.get("publish_id")
        if not isinstance(publish_id, str) or not publish_id:
            raise ProviderError(ErrorClass.TRANSIENT, "TikTok's photo init answer has no publish_id", code="malformed")
        part.uploads.save(SESSION, {"publish_id": publish_id, "pull": True, "uploaded": True, "kind": "photo",
                                    "privacy": post_info.get("privacy_level", "")})  # fmt: skip
        return self._status(account, request, part, publish_id)

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
        session = part.uploads.load(SESSION) or {}
        if status == "FAILED":
            error = _failed(str(data.get("fail_reason") or ""))
            if error.error_class != ErrorClass.CONTENT:
                # TikTok will not take that publish again; the retry after the wait posts anew.
                part.uploads.save(SESSION, {"failed": publish_id})
            raise error
        if status == "SEND_TO_USER_INBOX":
            return PublishedItem(platform_post_id=publish_id, url=_profile_url(account))
        if status == "PUBLISH_COMPLETE":
            ids = data.get("publicaly_available_post_id") or []  # TikTok's spelling
            if ids:
                kind = "photo" if session.get("kind") == "photo" else "video"
                return PublishedItem(platform_post_id=str(ids[0]), url=_post_url(account, str(ids[0]), kind))
            if session.get("privacy") == "SELF_ONLY":
                return PublishedItem(platform_post_id=publish_id, url=_profile_url(account))  # never gets a public id
            return self._waiting(part, publish_id, "TikTok published the video and is reviewing it")
        what = "photos" if session.get("kind") == "photo" else "video"
        return self._waiting(part, publish_id, f"TikTok is processing the {what}; this can take a few minutes")

    def _waiting(self, part: PartRequest, publish_id: str, reason: str) -> Pending:
        checks = int(part.state.get("checks", 0)) + 1
        delay = self.check_delays_s[min(checks, len(self.check_delays_s)) - 1]
        return Pending(reason=reason, state={"publish_id": publish_id, "checks": checks}, check_in_s=delay)

    # --- Reconciliation and metrics --------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """A pulled video whose init answer was lost: its stored publish id says; without one, the
        creator's recent public videos are searched for the caption, never older than this run."""
        session = part.uploads.load(SESSION) or {}
        if session.get("publish_id") and not session.get("pull") and not session.get("uploaded"):
            # The worker stopped while uploading: TikTok waits for the rest of the file and posts
            # nothing until then. Not landed, so the part is sent again, which resumes this upload
            # at the stored offset (publish_part never makes a second init for a stored publish id).
            return None
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

    def fetch_account_metrics(self, *, account: AccountState) -> AccountMetrics | None:
        """user/info's counts (scope user.info.stats): followers, following, likes, videos."""
        user = self._user(_token(account))

        def count(name: str) -> int | None:
            value = user.get(name)
            return value if isinstance(value, int) else None

        likes = count("likes_count")
        return AccountMetrics(
            followers=count("follower_count"),
            following=count("following_count"),
            posts_count=count("video_count"),
            extra={"likes": likes} if likes is not None else {},
        )

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """The creator's public videos, newest first, through the same client and error
        handling as every call (a 429 ``rate_limit_exceeded`` is RATE at its Retry-After)."""
        data = self._call(_token(account), "POST", "video/list/", params={"fields": imports.FIELDS},
                          json=imports.list_body(cursor))  # fmt: skip
        return imports.page_of(data, _profile_url(account))

    def _call(
        self, token: str, method: str, path: str, *, params: Mapping[str, str] | None = None,
        json: Any = None, create_call: bool = False, timeout: tuple[float, float] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        with self.api_session(token) as session:
            try:
                response = session.request(method, f"{api.OPEN_API}/{path}", params=params, json=json,
                                           timeout=timeout)  # fmt: skip
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


def last_creator_key(external_id: str) -> str:
    """Where the creator's last creator_info is kept, by its open_id (the token changes)."""
    return "tiktok-creator-last:" + hashlib.sha256(external_id.encode()).hexdigest()[:24]


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


def _post_url(account: AccountState, post_id: str, kind: str = "video") -> str:
    return f"{_profile_url(account)}/{kind}/{post_id}"


def _inbox(request: PublishRequest) -> bool:
    return request.options.get("post_mode") == "inbox"


def _is_video(item: MediaItem) -> bool:
    return item.kind == "video" or item.mime_type.startswith("video/")


def _the_photos(part: PartRequest) -> list[MediaItem]:
    """A photo post's images (none for a video post); a mix, or too many, is refused."""
    media = part.content.media
    photos = [item for item in media if not _is_video(item)]
    if not photos:
        return []
    if len(photos) != len(media):
        raise ProviderError(ErrorClass.CONTENT, "A TikTok post is one video or photos, not both.", code="no_mix")
    if len(photos) > PHOTOS_MAX:
        raise ProviderError(ErrorClass.CONTENT, f"A TikTok photo post has at most {PHOTOS_MAX} photos.", code="photos")
    if any(photo.mime_type not in PHOTO_TYPES for photo in photos):
        raise ProviderError(ErrorClass.CONTENT, "TikTok takes JPEG or WebP photos only.", code="photo_format")
    return photos


def _the_video(part: PartRequest) -> MediaItem:
    videos = [item for item in part.content.media if _is_video(item)]
    if len(videos) != 1 or len(part.content.media) != 1:
        raise ProviderError(ErrorClass.CONTENT, "A TikTok post is exactly one video, or photos.", code="one_video")
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


def _privacy(request: PublishRequest, info: Mapping[str, Any]) -> str:
    """The chosen privacy level, one ``creator_info`` offers; branded content may not be private."""
    options = request.options
    privacy = options.get("privacy_level")
    if not privacy:
        raise ProviderError(
            ErrorClass.CONTENT, "Choose who can see the TikTok post: there is no default.", code="privacy_required"
        )
    if privacy not in (info.get("privacy_level_options") or []):
        raise api.classify_code("privacy_level_option_mismatch", "")
    if options.get("commercial") == "branded" and privacy == "SELF_ONLY":
        raise ProviderError(
            ErrorClass.CONTENT,
            "Branded content cannot be private on TikTok: choose who can see it.",
            code="branded_private",
        )
    return str(privacy)


def photo_post_info_for(
    request: PublishRequest, part: PartRequest, info: Mapping[str, Any], *, inbox: bool
) -> dict[str, Any]:
    """A photo post's settings: its first line is the title (at most 90), the whole text the
    description (at most 4,000)."""
    text = part.content.text.strip()
    title = text.partition("\n")[0].strip()
    if len(title) > PHOTO_TITLE_MAX:
        raise ProviderError(
            ErrorClass.CONTENT, "A TikTok photo title (the first line) is at most 90 characters.", code="title_length"
        )
    if len(text) > PHOTO_DESCRIPTION_MAX:
        raise ProviderError(
            ErrorClass.CONTENT, "A TikTok photo description is at most 4,000 characters.", code="caption_length"
        )
    post_info: dict[str, Any] = {"title": title, "description": text}
    if inbox:
        return post_info
    commercial = request.options.get("commercial", "none")
    post_info.update(
        privacy_level=_privacy(request, info),
        disable_comment=bool(info.get("comment_disabled")) or request.options.get("comments") != "yes",
        brand_organic_toggle=commercial == "your_brand",
        brand_content_toggle=commercial == "branded",
    )
    return post_info


def post_info_for(
    request: PublishRequest, part: PartRequest, info: Mapping[str, Any], item: MediaItem
) -> dict[str, Any]:
    """The post's settings, checked against what ``creator_info`` allows this creator now."""
    options = request.options
    privacy = _privacy(request, info)
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
    error = api.classify_code(api.FAIL_REASON_CLASS.get(reason, reason), api.MESSAGES.get(reason, ""))
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
