"""An account's own statuses, a page at a time, for importing what was posted outside Postwright.

``GET /api/v1/accounts/:id/statuses`` pages backwards with ``max_id``; the server names the next
page in its ``Link`` header (``rel="next"``), and its absence means the oldest page was reached.
Boosts are left out by the server (``exclude_reblogs``); replies to other people are dropped
here, so only the author's own posts and the later parts of their own threads come back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from connections import http
from connections.providers.base import ImportedItem, ImportedMedia, PostPage
from connections.providers.mastodon.client import MastodonClient, decode
from connections.providers.mastodon.schema import _created_at, _id, _object, _text, malformed
from connections.providers.mastodon.text import plain_text

PAGE_SIZE = 40  # the most Mastodon returns in one page


def list_own_posts(api: MastodonClient, *, account_id: str, cursor: str) -> PostPage:
    params = {"limit": str(PAGE_SIZE), "exclude_reblogs": "true"}
    if cursor:
        params["max_id"] = cursor
    response = api.call("GET", f"/api/v1/accounts/{quote(account_id, safe='')}/statuses", params=params)
    data = decode(response, api.host)
    if not isinstance(data, list):
        raise malformed("status list", f"expected a list, got {type(data).__name__}")
    items = [item for raw in data if (item := _own_item(_object(raw, "status"), account_id)) is not None]
    return PostPage(items=tuple(items), next_cursor=_next_max_id(response) if data else "")


def _next_max_id(response: http.Response) -> str:
    link = response.links.get("next", {}).get("url", "")
    values = parse_qs(urlsplit(link).query).get("max_id", [])
    return values[0] if values else ""


def _own_item(status: Mapping[str, Any], account_id: str) -> ImportedItem | None:
    """The status as an import, or None for a boost or a reply to somebody else."""
    if status.get("reblog"):
        return None  # a boost slipped through (older servers ignore exclude_reblogs)
    reply_to = status.get("in_reply_to_id")
    if reply_to and str(status.get("in_reply_to_account_id") or "") != account_id:
        return None
    published = _created_at(status.get("created_at"))
    if not isinstance(published, datetime):
        raise malformed("status", "created_at is missing or unreadable")
    return ImportedItem(
        platform_post_id=_id(status, "id", "status"),
        url=_text(status, "url", "status") or _text(status, "uri", "status"),
        text=plain_text(_text(status, "content", "status")),
        published_at=published,
        media=tuple(_media(status.get("media_attachments"))),
        reply_to=str(reply_to or ""),
    )


def _media(attachments: Any) -> list[ImportedMedia]:
    if not isinstance(attachments, list):
        raise malformed("status", "media_attachments is not a list")
    media = []
    for raw in attachments:
        attachment = _object(raw, "media attachment")
        kind = "video" if attachment.get("type") in ("video", "gifv") else "image"
        url = _text(attachment, "url", "media attachment") or _text(attachment, "remote_url", "media attachment")
        media.append(ImportedMedia(url=url, alt_text=_text(attachment, "description", "media attachment"), kind=kind))
    return media
