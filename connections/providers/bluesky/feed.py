"""The account's own posts, a page at a time, for importing what was posted outside Postwright.

``app.bsky.feed.getAuthorFeed`` (asked of the account's PDS, which forwards it to the AppView)
with ``filter=posts_and_author_threads``: the author's posts and their own threads, not replies
to others. Reposts still appear in it (marked by a ``reason``) and are dropped here, as is
anything whose author is not the account (a pinned or quoted post is never ours to import).
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connections.providers.base import ImportedItem, ImportedMedia, PostPage
from connections.providers.bluesky.client import AccountClient, malformed, optional_str, require_str

WHAT = "getAuthorFeed"
PAGE_SIZE = 100  # the most getAuthorFeed returns in one page
IMAGE_VIEWS = ("app.bsky.embed.images#view",)
VIDEO_VIEW = "app.bsky.embed.video#view"
WITH_MEDIA_VIEW = "app.bsky.embed.recordWithMedia#view"


def list_own_posts(client: AccountClient, *, cursor: str, profile_url: str) -> PostPage:
    params: dict[str, str] = {"actor": client.did, "limit": str(PAGE_SIZE), "filter": "posts_and_author_threads"}
    if cursor:
        params["cursor"] = cursor
    answer = client.query("app.bsky.feed.getAuthorFeed", params)
    feed = answer.get("feed")
    if not isinstance(feed, list):
        raise malformed(WHAT)
    items = [item for entry in feed if (item := _own_item(entry, client.did, profile_url)) is not None]
    # An empty page with a cursor would loop for ever on a misbehaving server: stop there.
    next_cursor = optional_str(answer, "cursor") if feed else ""
    return PostPage(items=tuple(items), next_cursor=next_cursor)


def _own_item(entry: Any, did: str, profile_url: str) -> ImportedItem | None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("post"), Mapping):
        raise malformed(WHAT)
    if entry.get("reason"):
        return None  # a repost (or a pin shown again): the post itself is somebody's original
    post = entry["post"]
    author = post.get("author")
    if not isinstance(author, Mapping) or author.get("did") != did:
        return None
    record = post.get("record")
    if not isinstance(record, Mapping):
        raise malformed(WHAT)
    uri = require_str(post, "uri", WHAT)
    reply: Mapping[str, Any] = record["reply"] if isinstance(record.get("reply"), Mapping) else {}
    return ImportedItem(
        platform_post_id=uri,
        url=f"{profile_url}/post/{uri.rsplit('/', 1)[-1]}",
        text=optional_str(record, "text"),
        published_at=_published_at(record, post),
        media=tuple(_media(post.get("embed"))),
        reply_to=_ref_uri(reply.get("parent")),
        thread_root=_ref_uri(reply.get("root")),
        extra={"cid": require_str(post, "cid", WHAT)},
    )


def _published_at(record: Mapping[str, Any], post: Mapping[str, Any]) -> datetime:
    """The author's ``createdAt``, else when the AppView indexed it (both ISO 8601)."""
    for value in (record.get("createdAt"), post.get("indexedAt")):
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise malformed(WHAT)


def _ref_uri(ref: Any) -> str:
    return optional_str(ref, "uri") if isinstance(ref, Mapping) else ""


def _media(embed: Any) -> list[ImportedMedia]:
    """The images or the video a post shows (a quote with media carries them one level down)."""
    if not isinstance(embed, Mapping):
        return []
    kind = optional_str(embed, "$type")
    if kind == WITH_MEDIA_VIEW:
        return _media(embed.get("media"))
    if kind in IMAGE_VIEWS and isinstance(embed.get("images"), list):
        return [
            ImportedMedia(url=optional_str(image, "fullsize"), alt_text=optional_str(image, "alt"))
            for image in embed["images"]
            if isinstance(image, Mapping)
        ]
    if kind == VIDEO_VIEW:
        return [ImportedMedia(url=optional_str(embed, "playlist"), alt_text=optional_str(embed, "alt"), kind="video")]
    return []
