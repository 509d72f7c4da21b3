"""The user's own posts, a page at a time, for importing what was posted outside Postwright.

``GET /2/users/:id/tweets`` pages backwards (newest first) with ``pagination_token``; the answer's
``meta.next_token`` names the next page and is absent on the last. platforms-other.md does not
describe this listing: the fields below follow X's API v2 documentation, and the parts of it we
were unsure of are marked. Reposts are left out by X (``exclude=retweets``); replies to other
people are dropped here, while the later parts of the user's own threads stay, with the post they
answer and the thread's first post (X's ``conversation_id``). X lists at most the user's 3,200
latest posts this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountState, ImportedItem, ImportedMedia, PostPage
from connections.providers.x.client import XApi
from connections.providers.x.text import plain, status_url

PAGE_SIZE = 100  # the most one page returns
# No public_metrics: an imported post's numbers come with the metrics sync, as any published post's.
POST_FIELDS = "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,attachments"
# A photo's own ``url``; a video or GIF has only ``preview_image_url`` (its still), which is what
# the calendar can show. ⚠ X documents ``alt_text`` on media objects; older answers lack it.
MEDIA_FIELDS = "url,preview_image_url,type,alt_text"


def list_own_posts(api: XApi, *, account: AccountState, cursor: str) -> PostPage:
    params = {"max_results": PAGE_SIZE, "exclude": "retweets", "tweet.fields": POST_FIELDS,
              "expansions": "attachments.media_keys", "media.fields": MEDIA_FIELDS}  # fmt: skip
    if cursor:
        params["pagination_token"] = cursor
    answer = api.json("GET", f"/2/users/{quote(account.external_id, safe='')}/tweets", params=params)
    posts = answer.get("data", [])  # a user with no posts gets no ``data`` at all
    if not isinstance(posts, list):
        raise _malformed("data is not a list")
    media = _media_by_key(answer.get("includes"))
    items = [item for post in posts if (item := _own_item(post, account, media)) is not None]
    meta = answer.get("meta")
    next_token = meta.get("next_token") if isinstance(meta, dict) else None
    return PostPage(items=tuple(items), next_cursor=next_token if isinstance(next_token, str) and posts else "")


def _own_item(post: Any, account: AccountState, media: Mapping[str, ImportedMedia]) -> ImportedItem | None:
    """The post as an import, or None for a reply to somebody else."""
    if not isinstance(post, dict) or not isinstance(post.get("id"), str) or not post["id"]:
        raise _malformed("a post has no string id")
    replied_to = _replied_to(post)
    if replied_to and str(post.get("in_reply_to_user_id") or "") != account.external_id:
        return None
    conversation = str(post.get("conversation_id") or "")
    attachments = post.get("attachments")
    keys = attachments.get("media_keys", []) if isinstance(attachments, dict) else []
    return ImportedItem(
        platform_post_id=post["id"],
        url=status_url(account, post["id"]),
        text=plain(str(post.get("text") or "")),
        published_at=_created_at(post.get("created_at")),
        media=tuple(media[key] for key in keys if key in media),
        reply_to=replied_to,
        thread_root=conversation if replied_to and conversation != post["id"] else "",
    )


def _replied_to(post: Mapping[str, Any]) -> str:
    for reference in post.get("referenced_tweets") or []:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            return str(reference.get("id") or "")
    return ""


def _media_by_key(includes: Any) -> dict[str, ImportedMedia]:
    found = includes.get("media") if isinstance(includes, dict) else None
    media: dict[str, ImportedMedia] = {}
    for raw in found if isinstance(found, list) else []:
        if not isinstance(raw, dict) or not isinstance(raw.get("media_key"), str):
            continue
        kind = "image" if raw.get("type") == "photo" else "video"
        url = str(raw.get("url") or raw.get("preview_image_url") or "")
        if url:
            media[raw["media_key"]] = ImportedMedia(url=url, alt_text=str(raw.get("alt_text") or ""), kind=kind)
    return media


def _created_at(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _malformed("a post's created_at is missing or unreadable") from None
    if moment.tzinfo is None:
        raise _malformed("a post's created_at has no zone")
    return moment


def _malformed(why: str) -> ProviderError:
    return ProviderError(ErrorClass.TRANSIENT, f"X's list of the user's posts is malformed: {why}.", code="malformed")
