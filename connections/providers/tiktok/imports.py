"""A creator's own public videos, a page at a time, for importing what was posted outside Postwright.

The Display API's ``POST /v2/video/list/`` answers newest first with a ``cursor`` (a UTC Unix
time in milliseconds) and ``has_more``; the cursor is passed back for the next page
(platforms-google-snap.md section 3: the paging names come from a third-party copy of TikTok's
page [unconfirmed], so an answer without a usable cursor ends the import rather than loop).
The cover image is not kept: its signed link lives six hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import ImportedItem, PostPage

PAGE_SIZE = 20  # max_count is 1-20
FIELDS = "id,title,video_description,create_time,share_url,duration,view_count,like_count,comment_count,share_count"
COUNTS = ("view_count", "like_count", "comment_count", "share_count")


def list_body(cursor: str) -> dict[str, int]:
    body = {"max_count": PAGE_SIZE}
    if cursor:
        if not cursor.isdigit():
            raise ProviderError(ErrorClass.CONTENT, "The stored TikTok cursor is not a time.", code="bad_cursor")
        body["cursor"] = int(cursor)
    return body


def page_of(data: Mapping[str, Any], profile_url: str) -> PostPage:
    videos = data.get("videos") or []
    if not isinstance(videos, list):
        raise ProviderError(ErrorClass.TRANSIENT, "TikTok's video list is not a list.", code="malformed")
    items = tuple(_item(video, profile_url) for video in videos if isinstance(video, dict))
    cursor = data.get("cursor")
    more = data.get("has_more") is True and _whole(cursor) and bool(items)
    return PostPage(items=items, next_cursor=str(cursor) if more else "")


def _item(video: Mapping[str, Any], profile_url: str) -> ImportedItem:
    video_id = video.get("id")
    created = video.get("create_time")
    if not isinstance(video_id, str | int) or not str(video_id) or not isinstance(created, int):
        raise ProviderError(ErrorClass.TRANSIENT, "TikTok listed a video without its id or time.", code="malformed")
    share = video.get("share_url")
    # The description is the caption as written; the title is its first 150 characters.
    text = video.get("video_description") or video.get("title") or ""
    return ImportedItem(
        platform_post_id=str(video_id),
        url=share if isinstance(share, str) and share.startswith("https://") else f"{profile_url}/video/{video_id}",
        text=str(text),
        published_at=datetime.fromtimestamp(int(created), tz=UTC),  # seconds, unlike the cursor
        extra={name: video[name] for name in (*COUNTS, "duration") if _whole(video.get(name))},
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
