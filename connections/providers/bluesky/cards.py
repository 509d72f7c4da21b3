"""Link cards: read a page's Open Graph tags and its preview image, carefully.

Bluesky renders no previews itself: the posting client fetches the page and uploads the image.
The URL comes from a user's post, so every fetch (and every redirect hop) is checked against
private networks, reads at most a few hundred kilobytes and gives up after a few seconds.
Nothing here raises: a card is a nicety and must never fail the post.
"""

import codecs
import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

from connections.http import RequestException, Response, Session, UnsafeURL, check_public_url

log = logging.getLogger(__name__)

TIMEOUT = (3.0, 5.0)  # connect, read
MAX_HTML_BYTES = 256_000  # Open Graph tags live in <head>, near the top
MAX_IMAGE_BYTES = 1_000_000  # the lexicon's limit for a card thumbnail
MAX_REDIRECTS = 3
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


@dataclass(frozen=True)
class PageInfo:
    url: str
    title: str = ""
    description: str = ""
    image_url: str = ""


@dataclass(frozen=True)
class Image:
    data: bytes
    mime_type: str


class _OpenGraphParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            values = dict(attrs)
            key = (values.get("property") or values.get("name") or "").strip().lower()
            content = values.get("content")
            if key and content is not None and key not in self.meta:
                self.meta[key] = content.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def parse_page(url: str, html: str) -> PageInfo:
    parser = _OpenGraphParser()
    parser.feed(html)
    meta = parser.meta
    image = meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image") or ""
    return PageInfo(
        url=url,
        title=_clip(meta.get("og:title") or meta.get("twitter:title") or parser.title, 300),
        description=_clip(meta.get("og:description") or meta.get("description") or "", 1000),
        image_url=urljoin(url, image) if image else "",
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fetch_page(http: Session, url: str) -> PageInfo | None:
    fetched = _fetch(http, url, limit=MAX_HTML_BYTES, truncate=True)
    if fetched is None:
        return None
    body, content_type, final_url = fetched
    if "html" not in content_type:
        return None
    try:
        return parse_page(final_url, body.decode(_charset(content_type), errors="replace"))
    except AssertionError:  # html.parser gives up on some malformed markup ("<![foo")
        return None


def fetch_image(http: Session, url: str) -> Image | None:
    fetched = _fetch(http, url, limit=MAX_IMAGE_BYTES, truncate=False)
    if fetched is None:
        return None
    body, content_type, _ = fetched
    mime_type = content_type.split(";")[0].strip()
    return Image(body, mime_type) if mime_type in IMAGE_TYPES and body else None


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                return codecs.lookup(value.strip("\"' ")).name
            except LookupError:
                break  # an unknown charset: UTF-8 with replacement characters is the best guess
    return "utf-8"


def _fetch(http: Session, url: str, *, limit: int, truncate: bool) -> tuple[bytes, str, str] | None:
    """(body, content type, final URL); None on any failure, a private address or a body too large."""
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_public_url(url)
            with http.get(url, timeout=TIMEOUT, stream=True, allow_redirects=False) as response:
                if response.is_redirect and response.headers.get("location"):
                    url = urljoin(url, response.headers["location"])
                    continue  # each hop is checked again: a public page may redirect inward
                if not response.ok:
                    return None
                body = _read_capped(response, limit)
                if len(body) > limit and not truncate:
                    return None
                return body[:limit], response.headers.get("content-type", "").lower(), url
    except (RequestException, UnsafeURL) as exc:
        log.info("link card fetch failed for %s: %s", url, type(exc).__name__)
    return None


def _read_capped(response: Response, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=16_384):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)
