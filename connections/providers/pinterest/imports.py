"""The account's own pins, a page at a time, for importing what was pinned outside Postwright.

``GET /v5/pins`` lists the pins of the token's user, paged with ``bookmark`` (the answer's
``bookmark`` names the next page; null or absent on the last). platforms-other.md names only the
boards listing's paging (the same ``items``/``bookmark`` envelope) and the pin's shape from its
create answer; the listing's path is a setting (``PINTEREST_PINS_PATH``) for that reason.
⚠ Uncertain: that the listing comes newest first (Pinterest documents no order; the import stops
at the first pin older than its day cap, so an unordered listing would end it early), and that
``is_owner`` is false for a pin the user saved from somebody else (left out here, as reposts are
everywhere; a pin without the field is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import ImportedItem, ImportedMedia, PostPage
from connections.providers.pinterest.client import PinterestApi, next_bookmark, pin_url, pinterest_time, setting

PAGE_SIZE = 100
# The sizes Pinterest lists a pin's image in, largest first; the largest one there is shown.
IMAGE_SIZES = ("1200x", "600x", "400x300", "150x150")


def list_own_pins(api: PinterestApi, *, cursor: str) -> PostPage:
    params: dict[str, Any] = {"page_size": PAGE_SIZE}
    if cursor:
        params["bookmark"] = cursor
    answer = api.json("GET", str(setting("PINTEREST_PINS_PATH")), params=params)
    pins = answer.get("items")
    if not isinstance(pins, list):
        raise _malformed("items is not a list")
    items = [_item(pin) for pin in pins if not (isinstance(pin, dict) and pin.get("is_owner") is False)]
    bookmark = next_bookmark(answer, params) if pins else None
    return PostPage(items=tuple(items), next_cursor=bookmark or "")


def _item(pin: Any) -> ImportedItem:
    if not isinstance(pin, dict) or not isinstance(pin.get("id"), str | int) or not str(pin["id"]):
        raise _malformed("a pin has no id")
    published = pinterest_time(pin.get("created_at"))
    if published is None:
        raise _malformed("a pin's created_at is missing or unreadable")
    pin_id = str(pin["id"])
    title, description = str(pin.get("title") or "").strip(), str(pin.get("description") or "").strip()
    extra = {key: str(pin[key]) for key in ("board_id", "board_section_id", "link") if pin.get(key)}
    return ImportedItem(
        platform_post_id=pin_id,
        url=pin_url(pin_id),
        # The composer's first line is a pin's title when more lines follow: the same shape back.
        text="\n".join(part for part in (title, description) if part),
        published_at=published,
        media=_media(pin.get("media")),
        extra=extra,
    )


def _media(media: Any) -> tuple[ImportedMedia, ...]:
    """The pin's picture (a video's cover, a carousel's first image), or nothing."""
    if not isinstance(media, dict):
        return ()
    kind = "video" if str(media.get("media_type") or "").startswith("video") else "image"
    url = str(media.get("cover_image_url") or "") if kind == "video" else ""
    url = url or _largest(media.get("images"))
    if not url:
        first = media.get("items")
        first = first[0] if isinstance(first, list) and first and isinstance(first[0], dict) else {}
        url = _largest(first.get("images"))
    return (ImportedMedia(url=url, kind=kind),) if url else ()


def _largest(images: Any) -> str:
    if not isinstance(images, Mapping):
        return ""
    for size in IMAGE_SIZES:
        found = images.get(size)
        if isinstance(found, dict) and isinstance(found.get("url"), str) and found["url"]:
            return str(found["url"])
    return ""


def _malformed(why: str) -> ProviderError:
    return ProviderError(ErrorClass.TRANSIENT, f"Pinterest's list of the account's pins is malformed: {why}.",
                         code="malformed")  # fmt: skip
