"""A channel's own uploads, a page at a time, for importing what was posted outside Postwright.

The channel's uploads playlist (``channels.list`` with ``contentDetails``) is read through
``playlistItems.list``, newest first, paged by ``pageToken``. The cursor carries the playlist's
id with the page token (``<playlist>|<token>``), so a resumed run spends no unit finding it
again. Every call is a list call: 1 unit, counted in the project's ledger before it is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import ImportedItem, ImportedMedia, PostPage

PAGE_SIZE = 50  # playlistItems.list's largest page
SEPARATOR = "|"  # neither playlist ids nor page tokens contain it
PARTS = "snippet,contentDetails,status"
# Not published to anyone: a private video (a scheduled one is private until its moment).
UNPUBLISHED = frozenset({"private"})
THUMBNAILS = ("maxres", "standard", "high", "medium", "default")


def split_cursor(cursor: str) -> tuple[str, str]:
    """(playlist id, page token) from a stored cursor; ("", "") for the first page."""
    playlist, _sep, token = cursor.partition(SEPARATOR)
    return playlist, token


def uploads_playlist(channels: list[dict[str, Any]]) -> str:
    related = channels[0].get("contentDetails", {}).get("relatedPlaylists", {}) if channels else {}
    playlist = related.get("uploads") if isinstance(related, dict) else None
    if not isinstance(playlist, str) or not playlist:
        message = "YouTube names no uploads playlist for this channel."
        raise ProviderError(ErrorClass.CONTENT, message, code="no_uploads")
    return playlist


def page_of(body: Mapping[str, Any], playlist: str) -> PostPage:
    listed = body.get("items")
    if not isinstance(listed, list):
        raise ProviderError(ErrorClass.TRANSIENT, "YouTube's answer has no item list", code="malformed")
    items = [item for raw in listed if isinstance(raw, dict) and (item := _item(raw)) is not None]
    token = body.get("nextPageToken")
    following = f"{playlist}{SEPARATOR}{token}" if isinstance(token, str) and token else ""
    return PostPage(items=tuple(items), next_cursor=following)


def _item(entry: Mapping[str, Any]) -> ImportedItem | None:
    """The upload as an import, or None for one that is private or gone (YouTube lists a deleted
    video as "Deleted video", without the moment it went out)."""
    snippet = _object(entry.get("snippet"))
    details = _object(entry.get("contentDetails"))
    status = _object(entry.get("status"))
    video_id = details.get("videoId") or _object(snippet.get("resourceId")).get("videoId")
    published = _moment(details.get("videoPublishedAt"))
    if not isinstance(video_id, str) or not video_id or published is None:
        return None
    if status.get("privacyStatus") in UNPUBLISHED:
        return None
    title, description = str(snippet.get("title") or ""), str(snippet.get("description") or "")
    thumbnail = _thumbnail(_object(snippet.get("thumbnails")))
    return ImportedItem(
        platform_post_id=video_id,
        url=f"https://www.youtube.com/watch?v={video_id}",
        # As Postwright writes a YouTube post: the title is the first line, the description the rest.
        text=f"{title}\n{description}".strip(),
        published_at=published,
        # The video stays on YouTube; its thumbnail stands for it.
        media=(ImportedMedia(url=thumbnail),) if thumbnail else (),
        extra={"privacy": str(status.get("privacyStatus") or "")},
    )


def _thumbnail(thumbnails: Mapping[str, Any]) -> str:
    for size in THUMBNAILS:
        url = _object(thumbnails.get(size)).get("url")
        if isinstance(url, str) and url.startswith("https://"):
            return url
    return ""


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
