"""The account's own submissions, a page at a time, for importing what was posted outside Postwright.

``GET /user/{name}/submitted?sort=new`` is a Listing paged backwards with ``after`` (the last
thing's fullname, ``t3_…``); ``data.after`` names the next page and is null on the last. Reddit
lists at most about 1,000 things this way. platforms-other.md names the listing (for finding a
media post) but not its fields: those below follow Reddit's Listing and link (t3) shapes, as
``_find_post`` already reads them. A crosspost is somebody else's post shared again, so it is
left out, as reposts are everywhere.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountState, ImportedItem, ImportedMedia, PostPage
from connections.providers.reddit.client import RedditApi, children

SITE = "https://www.reddit.com"
PAGE_SIZE = 100  # the most one Listing page holds
# Where Reddit keeps what was uploaded to it: such a post's url is its media, not a shared link.
REDDIT_HOSTS = ("reddit.com", "redd.it", "redditmedia.com")


def list_own_posts(api: RedditApi, *, account: AccountState, cursor: str) -> PostPage:
    params: dict[str, Any] = {"sort": "new", "limit": PAGE_SIZE}
    if cursor:
        params["after"] = cursor
    answer = api.json("GET", f"/user/{quote(account.username, safe='')}/submitted", params={"raw_json": 1, **params})
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("children"), list):
        raise _malformed("no Listing data")
    things = children(answer)
    items = [_item(thing) for thing in things if not thing.get("crosspost_parent")]
    after = data.get("after")
    return PostPage(items=tuple(items), next_cursor=after if isinstance(after, str) and things else "")


def _item(thing: Mapping[str, Any]) -> ImportedItem:
    name = thing.get("name")
    if not isinstance(name, str) or not name.startswith("t3_"):
        raise _malformed("a submission has no t3 fullname")
    created = thing.get("created_utc")
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise _malformed("a submission has no created_utc")
    permalink = str(thing.get("permalink") or "")
    return ImportedItem(
        platform_post_id=name,
        url=f"{SITE}{permalink}" if permalink.startswith("/") else f"{SITE}/comments/{name[3:]}/",
        text=_text(thing),
        published_at=datetime.fromtimestamp(created, tz=UTC),
        media=_media(thing),
        extra={"subreddit": str(thing.get("subreddit") or "")},
    )


def _text(thing: Mapping[str, Any]) -> str:
    """The title on the first line and the body after it, as a post is written in the composer;
    a link post's link ends it (the composer's link field has no imported counterpart)."""
    lines = [str(thing.get("title") or "").strip(), str(thing.get("selftext") or "").strip()]
    url = str(thing.get("url") or "")
    if thing.get("is_self") is not True and url.startswith("https://") and not _on_reddit(url):
        lines.append(url)
    return "\n".join(line for line in lines if line)


def _on_reddit(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == known or host.endswith(f".{known}") for known in REDDIT_HOSTS)


def _media(thing: Mapping[str, Any]) -> tuple[ImportedMedia, ...]:
    """The post's picture as Reddit previews it (a video's still for a video), or nothing. A
    gallery's other images would take another call per post; its preview image stands for it."""
    kind = "video" if thing.get("is_video") is True else "image"
    preview = thing.get("preview")
    images = preview.get("images") if isinstance(preview, dict) else None
    first = images[0] if isinstance(images, list) and images and isinstance(images[0], dict) else {}
    source = first.get("source")
    url = str(source.get("url") or "") if isinstance(source, dict) else ""
    if not url:
        thumbnail = str(thing.get("thumbnail") or "")  # "self", "default" or "nsfw" when there is none
        url = thumbnail if thumbnail.startswith("https://") else ""
    return (ImportedMedia(url=html.unescape(url), kind=kind),) if url else ()


def _malformed(why: str) -> ProviderError:
    return ProviderError(ErrorClass.TRANSIENT, f"Reddit's list of the account's posts is malformed: {why}.",
                         code="malformed")  # fmt: skip
