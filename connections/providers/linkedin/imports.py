"""The author's own posts, a page at a time, for importing what was posted outside Postwright.

The posts finder by author (``GET /rest/posts?q=author&author=<urn>``) pages with Rest.li's
``start`` and ``count``: the cursor is the next ``start``, and a page shorter than ``count`` is
the last. Offsets move when the author posts meanwhile; a post seen twice is skipped by the import
(each platform id once per account), and one pushed past a page boundary is met on the next.
platforms-other.md names this finder only for reconciling (``sortBy=LAST_MODIFIED``); the fields
read here follow LinkedIn's Posts API documentation. ⚠ Uncertain: ``sortBy=CREATED`` (newest
created first, which the import's day cap relies on) is a setting, ``LINKEDIN_POSTS_SORT``.

Reading a member's posts needs ``r_member_social``, which LinkedIn grants only to approved apps
(asked for with the setting LINKEDIN_MEMBER_POSTS, which also lets members import); an
organization's need ``r_organization_social`` (asked with the organization scopes).

Media are left out: a post names its image or video by URN only, and the download URL LinkedIn
gives for one (``/rest/images``) expires, so a stored link would soon show nothing; the URNs are
kept among the facts instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import ImportedItem, PostPage
from connections.providers.linkedin.client import LinkedInApi, setting, urn_path
from connections.providers.linkedin.text import plain_text

PAGE_SIZE = 50
MEMBER_POSTS_REFUSED = (
    "LinkedIn lets only apps approved for reading members' posts (r_member_social) list a member's past "
    "posts; a company page's posts can be imported. Once the app is approved, the operator sets "
    "LINKEDIN_MEMBER_POSTS and the member reconnects."
)


def list_own_posts(api: LinkedInApi, *, author: str, cursor: str, member: bool) -> PostPage:
    start = int(cursor) if cursor.isdigit() else 0
    path = (f"posts?q=author&author={urn_path(author)}&start={start}&count={PAGE_SIZE}"
            f"&sortBy={setting('LINKEDIN_POSTS_SORT')}")  # fmt: skip
    try:
        answer = api.rest_json("GET", path)
    except ProviderError as exc:
        if member and exc.status == 403:
            # A member's 403 would otherwise ask for a reconnect, which cannot add a scope the app lacks.
            raise ProviderError(ErrorClass.CONTENT, MEMBER_POSTS_REFUSED, code="member_posts_not_allowed",
                                status=403) from None  # fmt: skip
        raise
    elements = answer.get("elements")
    if not isinstance(elements, list):
        raise _malformed("elements is not a list")
    items = [item for element in elements if (item := _own_item(element)) is not None]
    more = len(elements) >= PAGE_SIZE or _has_next(answer.get("paging"))
    return PostPage(items=tuple(items), next_cursor=str(start + len(elements)) if elements and more else "")


def _has_next(paging: Any) -> bool:
    links = paging.get("links") if isinstance(paging, dict) else None
    return any(isinstance(link, dict) and link.get("rel") == "next" for link in links or [])


def _own_item(post: Any) -> ImportedItem | None:
    """The post as an import, or None for a draft or a plain reshare of somebody else's post."""
    if not isinstance(post, dict) or not isinstance(post.get("id"), str) or not post["id"]:
        raise _malformed("a post has no id")
    if post.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
        return None
    commentary = plain_text(str(post.get("commentary") or "")).strip()
    if post.get("reshareContext") and not commentary:
        return None  # a repost; one with the author's own words is theirs, as a quote is
    urn = str(post["id"])
    found = post.get("content")
    content: dict[str, Any] = found if isinstance(found, dict) else {}
    article = content.get("article")
    link = str(article.get("source") or "") if isinstance(article, dict) else ""
    return ImportedItem(
        platform_post_id=urn,
        url=f"https://www.linkedin.com/feed/update/{urn}/",
        # An article's link ends the text, as the composer's link field has no imported counterpart.
        text=f"{commentary}\n{link}" if link and link not in commentary else commentary,
        published_at=_published(post),
        extra={"linkedin_media": urns} if (urns := _media_urns(content)) else {},
    )


def _published(post: Mapping[str, Any]) -> datetime:
    moment = post.get("publishedAt") or post.get("createdAt")  # epoch milliseconds
    if not isinstance(moment, int | float) or isinstance(moment, bool):
        raise _malformed("a post has no publishedAt or createdAt")
    return datetime.fromtimestamp(moment / 1000, tz=UTC)


def _media_urns(content: Mapping[str, Any]) -> list[str]:
    media = content.get("media")
    if isinstance(media, dict) and isinstance(media.get("id"), str):
        return [media["id"]]
    multi = content.get("multiImage")
    images = multi.get("images") if isinstance(multi, dict) else None
    return [str(image["id"]) for image in images or [] if isinstance(image, dict) and image.get("id")]


def _malformed(why: str) -> ProviderError:
    return ProviderError(ErrorClass.TRANSIENT, f"LinkedIn's list of the author's posts is malformed: {why}.",
                         code="malformed")  # fmt: skip
