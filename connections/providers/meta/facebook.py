"""Facebook Pages (platforms-meta.md section 2), connected through Facebook Login.

One consent yields every Page the user ticked, and the Instagram accounts linked to them (see
``login``); each Page publishes with its own Page token. Parts: the main post is a text or
link post, one photo, several photos in one post (unpublished photos, then ``attached_media``),
a video (Meta processes it: the part waits as Pending, polled, never slept on), or, with the
per-post "format" option, a Reel or a photo or video Story; thread replies and the first comment are
comments (each reply answers the part before it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    MediaItem,
    PartRequest,
    Pending,
    PostMetrics,
    PostPage,
    PublishedItem,
    PublishRequest,
    TextRules,
)
from connections.providers.media_rules import IMAGE, VIDEO, FormatRule, MediaRules
from connections.providers.meta import imports
from connections.providers.meta.graph import Graph, required_id, text_field
from connections.providers.meta.shared import (
    MetaLoginProvider,
    account_values,
    created_recently,
    day_window,
    picked,
    require_data_access,
    setting,
)

FACEBOOK = "https://www.facebook.com"
MAX_TEXT = 63_206  # the figure Postiz uses [code, ?]
PHOTO_BYTES = 4_000_000  # community guidance: keep photos under 4 MB, JPG or PNG [?]
RUPLOAD_HOST = "rupload.facebook.com"
FORMATS = ("post", "reel", "story")
VIDEO_FAILED = {
    "error": "Facebook could not process the video",
    "upload_failed": "Facebook could not fetch the video",
    "expired": "Facebook let the video upload expire",
}
# Page insights (section 2.3): not the removed page_fans* or page_impressions* metrics.
PAGE_METRICS = (
    "page_follows",
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_daily_follows_unique",
)


class FacebookProvider(MetaLoginProvider):
    id = "facebook"
    name = "Facebook Pages"
    supports_delete = True
    supports_metrics = True
    supports_import = True
    # Mapping table for analytics: the extras fetch_metrics returns -> our metric names.
    metric_names = {"clicks": "clicks"}
    # Not the removed post_impressions* metrics (gone for all versions by 15 Jun 2026).
    post_metrics = ("post_total_media_view_unique", "post_reactions_by_type_total", "post_clicks")
    setup_steps = (
        "Create a Meta app with Facebook Login, set FACEBOOK_CLIENT_ID and FACEBOOK_CLIENT_SECRET, "
        "and add SITE_URL/connections/callback/facebook/ as a valid OAuth redirect URI."
    )
    connect_intro = (
        "Log in with Facebook and tick the Pages to publish to; Instagram professional accounts linked to them "
        "are offered in the same step."
    )

    def text_rules(self, *, account: AccountState | None = None) -> TextRules:
        return TextRules(
            max_length=MAX_TEXT,
            max_media=int(setting("META_FB_PHOTOS_MAX")),
            max_image_bytes=PHOTO_BYTES,
            accepted_mime_types=("image/jpeg", "image/png", "video/mp4", "video/quicktime"),
        )

    composer_options = (
        ("format", "Format", (("post", "Post"), ("reel", "Reel"), ("story", "Story (photo or video)"))),
    )

    def format_media_rules(self, *, account: AccountState | None, options: Mapping[str, Any]) -> MediaRules:
        format_ = options.get("format")
        if format_ == "reel":
            reel = FormatRule(
                VIDEO,
                "Facebook Reels",
                ("video/mp4",),
                duration_range=(3, 90),
                max_fps=60,
                video_codecs=("h264", "hevc"),
                audio_codecs=("aac",),
                recommended_aspect="9:16",
            )
            return MediaRules(platform=self.name, formats=(reel,))
        if format_ == "story":
            photo = FormatRule(IMAGE, "Facebook Stories", ("image/jpeg", "image/png"), max_bytes=PHOTO_BYTES, fits=True)
            # No duration or size limit is in the reference for Page video Stories: Meta says.
            video = FormatRule(VIDEO, "Facebook video Stories", ("video/mp4",), recommended_aspect="9:16")
            return MediaRules(platform=self.name, formats=(photo, video))
        return self.media_rules(account=account)

    def media_rules(self, *, account: AccountState | None = None) -> MediaRules:
        photos = FormatRule(
            IMAGE,
            "Facebook photos",
            ("image/jpeg", "image/png"),
            max_count=int(setting("META_FB_PHOTOS_MAX")),
            max_bytes=PHOTO_BYTES,
            fits=True,
        )
        video = FormatRule(VIDEO, "Facebook video", ("video/mp4", "video/quicktime"))
        return MediaRules(platform=self.name, formats=(photos, video))

    # --- Publishing ------------------------------------------------------------------------------

    def publish_part(
        self, *, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        require_data_access(account)
        format_ = _format(request) if part.index == 0 else "post"
        with self.api(account) as api:
            if "reel_id" in part.state:
                return self._reel_status(api, account, request, part)
            if "story_video_id" in part.state:
                return self._video_story_status(api, account, part)
            if "video_id" in part.state:
                return self._video_status(api, account, part)
            held = self.paced(account, part, [account.external_id])
            if held is not None:
                return held
            if format_ == "reel":
                return self._reel_start(api, account, part)
            if format_ == "story":
                media = part.content.media
                if len(media) == 1 and media[0].kind == "video":
                    return self._video_story_start(api, account, part)
                return self._photo_story(api, account, part)
            if part.index == 0:
                return self._main(api, account, request, part)
            return self._comment(api, part)

    # --- Reels: start, Meta pulls the file from our URL, poll, finish -------------------------------

    def _reel_start(self, api: Graph, account: AccountState, part: PartRequest) -> Pending:
        """Nothing is visible until ``finish``: starting again after a failure is harmless."""
        media = part.content.media
        if len(media) != 1 or media[0].kind != "video":
            raise ProviderError(ErrorClass.CONTENT, "A Facebook Reel is one video.", code="reel_media")
        video_id = _hosted_upload(api, f"{account.external_id}/video_reels", media[0], what="Reel")
        return self.still_processing(part, "Facebook is fetching the Reel", reel_id=video_id)

    def _reel_status(
        self, api: Graph, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        video_id = str(part.state["reel_id"])
        status = _video_status_of(api, video_id)
        video_status = text_field(status, "video_status")
        if video_status in VIDEO_FAILED:
            raise ProviderError(ErrorClass.CONTENT, f"{VIDEO_FAILED[video_status]}.", code=f"video_{video_status}")
        if _phase(status, "uploading_phase") != "completed":
            return self.still_processing(part, "Facebook is fetching the Reel")
        api.post(
            f"{account.external_id}/video_reels",
            video_id=video_id,
            upload_phase="finish",
            video_state="PUBLISHED",
            description=main_text(request, part),
            create_call=True,
        )
        return PublishedItem(platform_post_id=video_id, url=f"{FACEBOOK}/reel/{video_id}")

    # --- Video Stories: as a Reel (start, Meta fetches our URL, poll), then finish -----------------

    def _video_story_start(self, api: Graph, account: AccountState, part: PartRequest) -> Pending:
        """Nothing is visible until ``finish``: starting again after a failure is harmless."""
        video_id = _hosted_upload(api, f"{account.external_id}/video_stories", part.content.media[0], what="Story")
        return self.still_processing(part, "Facebook is fetching the Story video", story_video_id=video_id)

    def _video_story_status(self, api: Graph, account: AccountState, part: PartRequest) -> PublishedItem | Pending:
        video_id = str(part.state["story_video_id"])
        status = _video_status_of(api, video_id)
        video_status = text_field(status, "video_status")
        if video_status in VIDEO_FAILED:
            raise ProviderError(ErrorClass.CONTENT, f"{VIDEO_FAILED[video_status]}.", code=f"video_{video_status}")
        if _phase(status, "uploading_phase") != "completed":
            return self.still_processing(part, "Facebook is fetching the Story video")
        story = api.post(
            f"{account.external_id}/video_stories", video_id=video_id, upload_phase="finish", create_call=True
        )
        story_id = text_field(story, "post_id") or video_id
        return PublishedItem(platform_post_id=story_id, url=f"{FACEBOOK}/{story_id}")

    # --- Photo Stories: an unpublished photo, then the story ----------------------------------------

    def _photo_story(self, api: Graph, account: AccountState, part: PartRequest) -> PublishedItem:
        media = part.content.media
        if len(media) != 1 or media[0].kind != "image":
            raise ProviderError(ErrorClass.CONTENT, "A Facebook Story here is one photo.", code="story_media")
        photo_id = self._unpublished_photo(api, account.external_id, media[0], part, 0)
        story = api.post(f"{account.external_id}/photo_stories", photo_id=photo_id, create_call=True)
        story_id = text_field(story, "post_id") or required_id(story, what="the Story", create_call=True)
        return PublishedItem(platform_post_id=story_id, url=f"{FACEBOOK}/{story_id}")

    def _main(
        self, api: Graph, account: AccountState, request: PublishRequest, part: PartRequest
    ) -> PublishedItem | Pending:
        page = account.external_id
        media = part.content.media
        videos = [item for item in media if item.kind == "video"]
        if videos:
            if len(media) > 1:
                raise ProviderError(
                    ErrorClass.CONTENT, "A Facebook video post takes one video and nothing else.", code="one_video"
                )
            video = api.post(
                f"{page}/videos", file_url=videos[0].public_url, description=main_text(request, part), create_call=True
            )
            video_id = required_id(video, what="the video upload", create_call=True)
            return self.still_processing(part, "Facebook is processing the video", video_id=video_id)
        if len(media) == 1:
            photo = api.post(
                f"{page}/photos", url=media[0].public_url, message=main_text(request, part), create_call=True
            )
            post_id = text_field(photo, "post_id") or required_id(photo, what="the photo post", create_call=True)
            return PublishedItem(platform_post_id=post_id, url=f"{FACEBOOK}/{post_id}")
        if media:
            attached = {
                f"attached_media[{i}]": {"media_fbid": self._unpublished_photo(api, page, item, part, i)}
                for i, item in enumerate(media)
            }
            post = api.post(f"{page}/feed", message=main_text(request, part), create_call=True, **attached)
        else:
            post = api.post(
                f"{page}/feed",
                message=part.content.text,
                link=request.link,
                fields="id,permalink_url",
                create_call=True,
            )
        post_id = required_id(post, what="the post", create_call=True)
        return PublishedItem(platform_post_id=post_id, url=_permalink(post, post_id))

    def _unpublished_photo(self, api: Graph, page: str, item: MediaItem, part: PartRequest, index: int) -> str:
        """An unpublished photo to attach; kept in the upload store, so a retry attaches the same
        one instead of uploading it again (an unattached one is never seen by anyone)."""
        key = f"photo:{index}:{item.filename}:{item.size}"
        stored = part.uploads.load(key)
        if stored and stored.get("photo_id"):
            return str(stored["photo_id"])
        photo_id = required_id(api.post(f"{page}/photos", url=item.public_url, published=False), what="a photo upload")
        part.uploads.save(key, {"photo_id": photo_id})
        return photo_id

    def _video_status(self, api: Graph, account: AccountState, part: PartRequest) -> PublishedItem | Pending:
        """Read-only, so asking again is safe: the video was created once, on the first call."""
        video_id = str(part.state["video_id"])
        found = api.get(video_id, fields="status,permalink_url")
        status = found.get("status", {}) if isinstance(found, dict) else {}
        video_status = text_field(status, "video_status")
        if video_status in VIDEO_FAILED:
            raise ProviderError(ErrorClass.CONTENT, f"{VIDEO_FAILED[video_status]}.", code=f"video_{video_status}")
        if video_status != "ready":
            return self.still_processing(part, "Facebook is processing the video")
        return PublishedItem(platform_post_id=video_id, url=_permalink(found, video_id))

    def _comment(self, api: Graph, part: PartRequest) -> PublishedItem:
        """A reply comments on the part before it, the first comment on the main post."""
        parent = part.parent.platform_post_id if part.parent else ""
        images = [item for item in part.content.media if item.kind == "image"]
        comment = api.post(
            f"{parent}/comments",
            message=part.content.text,
            attachment_url=images[0].public_url if images else None,
            fields="id,permalink_url",
            create_call=True,
        )
        comment_id = required_id(comment, what="the comment", create_call=True)
        return PublishedItem(platform_post_id=comment_id, url=_permalink(comment, comment_id))

    def metrics_from(self, values: dict[str, int]) -> PostMetrics:
        return PostMetrics(
            likes=values.get("post_reactions_by_type_total", 0),
            impressions=values.get("post_total_media_view_unique"),
            extra={"clicks": values.get("post_clicks", 0)},
        )

    def account_metrics(self, api: Graph, account: AccountState) -> AccountMetrics | None:
        """The Page's followers (``page_follows``) and views (``page_media_view``, added up over
        its breakdowns) on its latest day, with reach and engagement as extras."""
        data = api.get(f"{account.external_id}/insights", metric=",".join(PAGE_METRICS), period="day", **day_window(2))
        values = account_values(data)
        if not values:
            return None
        return AccountMetrics(
            followers=values.get("page_follows"),
            views=values.get("page_media_view"),
            extra=picked(values, PAGE_METRICS[2:]),
        )

    def list_posts(self, *, account: AccountState, cursor: str = "") -> PostPage:
        """The Page's own published posts (``published_posts``), newest first."""
        require_data_access(account)
        with self.api(account) as api:
            return imports.page_of(
                api, f"{account.external_id}/published_posts", imports.FACEBOOK_FIELDS, cursor, imports.facebook_item
            )

    # --- After publishing ------------------------------------------------------------------------

    def find_part(self, *, account: AccountState, request: PublishRequest, part: PartRequest) -> PublishedItem | None:
        """A lost answer, looked up (never re-sent): the video the part started, else the Page's
        published posts, or the parent's comments by the Page, with our text, made recently."""
        with self.api(account) as api:
            if part.state.get("reel_id"):
                return self._found_reel(api, str(part.state["reel_id"]))
            if part.state.get("story_video_id"):
                return self._found_video_story(api, str(part.state["story_video_id"]))
            if part.state.get("video_id"):
                return self._found_video(api, str(part.state["video_id"]))
            if part.index == 0 and _format(request) == "story":
                # A Story has no text to match: asking the author is honest, re-sending is not.
                message = "Facebook offers no way to look a Story up; check the Page's Stories."
                raise ProviderError(ErrorClass.CONFIG, message, code="no_story_lookup")
            if part.index == 0:
                wanted = part.content.text if not part.content.media else main_text(request, part)
                posts = api.pages(
                    f"{account.external_id}/published_posts",
                    limit_pages=2,
                    fields="id,message,created_time,permalink_url",
                    limit=25,
                )
                return _first_match(posts, wanted, author="")
            parent = part.parent.platform_post_id if part.parent else ""
            comments = api.pages(f"{parent}/comments", fields="id,message,from,created_time,permalink_url", limit=100)
            return _first_match(comments, part.content.text, author=account.external_id)

    def _found_reel(self, api: Graph, video_id: str) -> PublishedItem | None:
        """``finish`` reached Meta when the Reel's publishing phase has begun."""
        if _phase(_video_status_of(api, video_id), "publishing_phase") in ("in_progress", "completed"):
            return PublishedItem(platform_post_id=video_id, url=f"{FACEBOOK}/reel/{video_id}")
        return None

    def _found_video_story(self, api: Graph, video_id: str) -> PublishedItem | None:
        """As a Reel: ``finish`` reached Meta when the video's publishing phase has begun. Its
        answer (the Story's post id) was lost, so the video's id stands for it."""
        if _phase(_video_status_of(api, video_id), "publishing_phase") in ("in_progress", "completed"):
            return PublishedItem(platform_post_id=video_id, url=f"{FACEBOOK}/{video_id}")
        return None

    def _found_video(self, api: Graph, video_id: str) -> PublishedItem | None:
        try:
            found = api.get(video_id, fields="status,permalink_url")
        except ProviderError as exc:
            if exc.code == "100/33":
                return None
            raise
        return PublishedItem(platform_post_id=video_id, url=_permalink(found, video_id))

    def delete(self, *, account: AccountState, platform_post_id: str) -> None:
        with self.api(account) as api:
            try:
                api.delete(platform_post_id)
            except ProviderError as exc:
                if exc.code != "100/33":  # the object does not exist (any more): the goal is met
                    raise


def _format(request: PublishRequest) -> str:
    format_ = str((request.options or {}).get("format") or "post")
    if format_ not in FORMATS:
        raise ProviderError(
            ErrorClass.CONTENT, f"Facebook has no format {format_!r}; use post, reel or story.", code="bad_option"
        )
    return format_


def _hosted_upload(api: Graph, edge: str, item: MediaItem, *, what: str) -> str:
    """Start a rupload session on ``edge`` and have Meta fetch the file from our URL (the header
    ``file_url`` instead of the bytes); the video's id. The Page token goes only to rupload."""
    started = api.post(edge, upload_phase="start")
    video_id, upload_url = text_field(started, "video_id"), text_field(started, "upload_url")
    if not video_id or urlsplit(upload_url).hostname != RUPLOAD_HOST:
        message = f"Facebook's {what} start answer has no upload address."
        raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed")
    api.call("POST", upload_url, headers={"Authorization": f"OAuth {api.token}", "file_url": item.public_url})
    return video_id


def _video_status_of(api: Graph, video_id: str) -> dict[str, Any]:
    found = api.get(video_id, fields="status")
    status = found.get("status") if isinstance(found, dict) else None
    return status if isinstance(status, dict) else {}


def _phase(status: dict[str, Any], name: str) -> str:
    return text_field(status.get(name), "status")


def main_text(request: PublishRequest, part: PartRequest) -> str:
    """A photo or video post has no link field: the link goes at the end of its text."""
    text = part.content.text
    if request.link and request.link not in text:
        return f"{text}\n\n{request.link}".strip()
    return text


def _permalink(found: Any, object_id: str) -> str:
    link = text_field(found, "permalink_url")
    if link.startswith("/"):  # Reels and videos may answer a relative path [code, ?]
        return FACEBOOK + link
    return link if link.startswith("https://") else f"{FACEBOOK}/{object_id}"


def _first_match(items: Any, text: str, *, author: str) -> PublishedItem | None:
    for item in items:
        if text_field(item, "message").strip() != text.strip() or not created_recently(
            text_field(item, "created_time")
        ):
            continue
        if author and text_field(item.get("from", {}), "id") != author:
            continue
        item_id = text_field(item, "id")
        if item_id:
            return PublishedItem(platform_post_id=item_id, url=_permalink(item, item_id))
    return None
