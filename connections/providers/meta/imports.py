"""An account's own posts on Facebook, Instagram and Threads, a page at a time, for importing
what was posted outside Postwright.

Each lists newest first and pages with ``after`` cursors (``Graph.page``): a Page's
``published_posts``, an Instagram account's ``media`` (its feed posts and Reels; Stories are
another edge and expire), a Threads account's ``threads`` (its top-level posts; replies are
another edge). Every call goes through the Graph client, so its usage headers pace the calls
that follow. Media are kept as links (Meta's CDN links expire; the post's permalink does not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import ImportedItem, ImportedMedia, PostPage
from connections.providers.meta.graph import Graph, text_field
from connections.providers.meta.shared import setting

FACEBOOK = "https://www.facebook.com"
FACEBOOK_FIELDS = "id,message,created_time,permalink_url,full_picture"
INSTAGRAM_FIELDS = (
    "id,caption,timestamp,permalink,media_type,media_product_type,thumbnail_url,media_url,like_count,comments_count"
)
THREADS_FIELDS = "id,text,timestamp,permalink,media_type,media_url,thumbnail_url"
REPOST = "REPOST_FACADE"  # Threads' stand-in for somebody else's post the account reposted
VIDEO_TYPES = frozenset({"VIDEO", "REELS"})


def page_of(
    api: Graph, path: str, fields: str, cursor: str, item: Callable[[Mapping[str, Any]], ImportedItem | None]
) -> PostPage:
    found, following = api.page(path, after=cursor, fields=fields, limit=int(setting("META_IMPORT_PAGE_SIZE")))
    items = [imported for raw in found if (imported := item(raw)) is not None]
    return PostPage(items=tuple(items), next_cursor=following)


def facebook_item(post: Mapping[str, Any]) -> ImportedItem:
    post_id = _id(post, "Facebook post")
    link, picture = text_field(post, "permalink_url"), text_field(post, "full_picture")
    if link.startswith("/"):  # videos and Reels may answer a relative path [code, ?]
        link = FACEBOOK + link
    return ImportedItem(
        platform_post_id=post_id,
        url=link if link.startswith("https://") else f"{FACEBOOK}/{post_id}",
        text=text_field(post, "message"),
        published_at=_moment(post, "created_time", "Facebook post"),
        media=(ImportedMedia(url=picture),) if picture.startswith("https://") else (),
    )


def instagram_item(media: Mapping[str, Any], *, profile_url: str) -> ImportedItem:
    media_id = _id(media, "Instagram media")
    kind = text_field(media, "media_type")
    video = kind in VIDEO_TYPES
    # A video's media_url is the file, its thumbnail_url the cover; media_url may be left out
    # (media with copyrighted music), and then the cover stands for it.
    source = text_field(media, "media_url") or text_field(media, "thumbnail_url")
    counts = {name: media[name] for name in ("like_count", "comments_count") if _whole(media.get(name))}
    kinds = {key: text_field(media, key) for key in ("media_type", "media_product_type") if text_field(media, key)}
    return ImportedItem(
        platform_post_id=media_id,
        url=text_field(media, "permalink") or profile_url,
        text=text_field(media, "caption"),
        published_at=_moment(media, "timestamp", "Instagram media"),
        media=(ImportedMedia(url=source, kind="video" if video else "image"),) if source else (),
        extra={**kinds, **counts},
    )


def threads_item(post: Mapping[str, Any], *, profile_url: str) -> ImportedItem | None:
    """The post, or None for a repost of somebody else's (it is theirs, not the account's)."""
    kind = text_field(post, "media_type")
    if kind == REPOST:
        return None
    source = text_field(post, "media_url") or text_field(post, "thumbnail_url")
    return ImportedItem(
        platform_post_id=_id(post, "Threads post"),
        # Threads leaves the permalink out for some media: the profile stands for it.
        url=text_field(post, "permalink") or profile_url,
        text=text_field(post, "text"),
        published_at=_moment(post, "timestamp", "Threads post"),
        media=(ImportedMedia(url=source, kind="video" if kind == "VIDEO" else "image"),) if source else (),
        extra={"media_type": kind} if kind else {},
    )


def _id(item: Mapping[str, Any], what: str) -> str:
    found = text_field(item, "id")
    if not found:
        raise ProviderError(ErrorClass.TRANSIENT, f"Meta listed a {what} without an id.", code="malformed")
    return found


def _moment(item: Mapping[str, Any], key: str, what: str) -> datetime:
    """Graph times look like 2026-09-01T07:00:00+0000; a post without one cannot be placed."""
    try:
        return datetime.strptime(text_field(item, key), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        message = f"Meta listed a {what} without a readable {key}."
        raise ProviderError(ErrorClass.TRANSIENT, message, code="malformed") from None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
