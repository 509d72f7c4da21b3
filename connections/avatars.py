"""A creator's avatar shown in the composer, served from this site (img-src is 'self' only).

The browser never names a URL: the composer links to ``/connections/<account>/avatar/<key>/``,
where the key is an HMAC of the account and the avatar URL its provider returned. The view asks
the provider again (its answer is cached a minute) for the account's avatars and fetches only
the one whose key matches, so nobody can make the server fetch an address of their choosing.
The fetch goes through the HTTP chokepoint (the private-address guard on every request), over
https only, without redirects (a redirect would be an address the provider did not return),
capped at a megabyte, and the answer must decode as an image: it is re-encoded small with
Pillow, which drops whatever metadata it carried, and kept a day.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac
from PIL import Image, UnidentifiedImageError

from connections import http

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024
MAX_PIXELS = 4096 * 4096  # a decoded avatar larger than this is a decompression bomb, not a face
SIDE = 128  # twice the drawn size, for sharp high-density screens
KEPT_S = 24 * 3600
REFUSED_S = 10 * 60  # a broken avatar is not asked for again on every page view
FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})


class AvatarRefused(Exception):
    """The avatar's answer was not taken (why, in the message); nothing of it is served."""


@dataclass(frozen=True)
class Avatar:
    data: bytes
    content_type: str


def avatar_key(account_id: int, url: str) -> str:
    """The opaque key the browser passes for this account's avatar URL."""
    return salted_hmac("composer-avatar", f"{account_id}\n{url}").hexdigest()[:32]


def matching_url(account_id: int, key: str, urls: list[str]) -> str | None:
    """The one of the provider's URLs this key names, or None."""
    return next((url for url in urls if constant_time_compare(avatar_key(account_id, url), key)), None)


def _cache_key(kind: str, account_id: int, key: str) -> str:
    # The account is part of it: a key is only ever served for the account it was made for.
    return f"avatar-{kind}:{account_id}:{key}"


def cached_avatar(account_id: int, key: str) -> Avatar | None:
    kept = cache.get(_cache_key("img", account_id, key))
    return kept if isinstance(kept, Avatar) else None


def was_refused(account_id: int, key: str) -> bool:
    return bool(cache.get(_cache_key("refused", account_id, key)))


def avatar_fetch(account_id: int, key: str, url: str) -> Avatar:
    """The avatar at ``url``, fetched and cleaned once a day; AvatarRefused when it cannot be."""
    try:
        avatar = _clean(_download(url))
    except AvatarRefused as exc:
        log.info("Avatar of account %s refused: %s", account_id, exc)  # its URL is not logged
        cache.set(_cache_key("refused", account_id, key), True, timeout=REFUSED_S)
        raise
    cache.set(_cache_key("img", account_id, key), avatar, timeout=KEPT_S)
    return avatar


def _download(url: str) -> bytes:
    if urlsplit(url).scheme != "https":
        raise AvatarRefused("only https avatars are fetched")
    try:
        with http.platform_session() as session:
            response = session.get(url, stream=True, allow_redirects=False, timeout=(3.0, 5.0))
            with response:
                if response.status_code != 200:
                    raise AvatarRefused(f"the avatar's host answered {response.status_code}")
                if not response.headers.get("Content-Type", "").lower().startswith("image/"):
                    raise AvatarRefused("the answer is not an image")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > MAX_BYTES:
                    raise AvatarRefused("the avatar is larger than a megabyte")
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_BYTES:  # a missing or false Content-Length is not trusted
                        raise AvatarRefused("the avatar is larger than a megabyte")
    except http.RequestException as exc:  # RefusedAddress (a private address) is one
        # The exception's text names the URL (a signed CDN address): only its kind is said.
        raise AvatarRefused(f"the avatar could not be fetched ({type(exc).__name__})") from None
    return bytes(body)


def _clean(data: bytes) -> Avatar:
    """Decoded (so it is an image, whatever the header said), shrunk and encoded anew."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise AvatarRefused(f"a {image.format} image is not served")
            if image.width * image.height > MAX_PIXELS:
                raise AvatarRefused("the image is too large to decode")
            image.thumbnail((SIDE, SIDE))
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            picture = image.convert("RGBA" if alpha else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise AvatarRefused("the answer does not decode as an image") from None
    out = io.BytesIO()
    if alpha:
        picture.save(out, format="PNG", optimize=True)
        return Avatar(out.getvalue(), "image/png")
    picture.save(out, format="JPEG", quality=85)
    return Avatar(out.getvalue(), "image/jpeg")
