"""Post text as Bluesky reads it: grapheme counts and facets at UTF-8 byte offsets.

A link, mention or hashtag is only clickable on Bluesky when the record carries a facet for it,
and facets index the UTF-8 bytes of the text (start inclusive, end exclusive), not characters.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

try:  # Unicode's extended grapheme clusters, as the PDS counts them (Intl.Segmenter).
    import regex as _regex
except ImportError:  # pragma: no cover - exercised through _approx_graphemes directly
    _regex = None  # type: ignore[assignment]  # a module or nothing; the check below tells which

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
MAX_TAG_GRAPHEMES = 64

_URL = re.compile(r"(?<![^\s(\[])https?://[^\s<>\"]+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![^\s(])@([A-Za-z0-9.-]+)")
_TAG = re.compile(r"(?<!\S)[#\uff03](\S+)")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HANDLE = re.compile(rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?")
_URL_TRAILING = ".,;:!?'\""
_ZWJ = "\u200d"


@dataclass(frozen=True)
class Span:
    kind: Literal["link", "mention", "tag"]
    start: int  # UTF-8 byte offset, inclusive
    end: int  # UTF-8 byte offset, exclusive
    value: str  # the URL, the handle (without "@") or the tag (without "#")


# --- Counting ------------------------------------------------------------------------------------


def count_graphemes(text: str) -> int:
    if _regex is not None:
        return len(_regex.findall(r"\X", text))
    return _approx_graphemes(text)


def _joins_previous(char: str, previous: str) -> bool:
    """A simplified form of Unicode's grapheme break rules, for installs without ``regex``."""
    code = ord(char)
    if previous == "\r" and char == "\n":
        return True
    if unicodedata.category(char) in ("Mn", "Me", "Mc") or char == _ZWJ:
        return True  # combining marks, variation selectors, zero-width joiner
    if 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True  # skin-tone modifiers, emoji tag sequences (subdivision flags)
    if previous == _ZWJ and unicodedata.category(char) == "So":
        return True  # emoji joined into one picture (family, profession, ...)
    return 0x1160 <= code <= 0x11FF and 0x1100 <= ord(previous) <= 0x11FF  # Hangul jamo


def _approx_graphemes(text: str) -> int:
    count, previous, regional_run = 0, "", 0
    for char in text:
        regional = 0x1F1E6 <= ord(char) <= 0x1F1FF
        # Regional indicators pair up into flags: every second one continues the previous.
        joins = (regional and regional_run % 2 == 1) or (bool(previous) and _joins_previous(char, previous))
        regional_run = regional_run + 1 if regional else 0
        count += 0 if joins else 1
        previous = char
    return count


def length_problem(text: str) -> str | None:
    """Why the PDS would refuse this text, or None when it fits."""
    graphemes = count_graphemes(text)
    if graphemes > MAX_GRAPHEMES:
        return f"Bluesky allows {MAX_GRAPHEMES} characters per post; this one has {graphemes}."
    if len(text.encode()) > MAX_BYTES:
        return f"Bluesky allows {MAX_BYTES} bytes of text per post; this one is longer."
    return None


# --- Detection -----------------------------------------------------------------------------------


def find_spans(text: str) -> list[Span]:
    """Links, mentions and hashtags in the text, in order, never overlapping."""
    spans = [*_links(text), *_mentions(text), *_tags(text)]
    spans.sort(key=lambda span: span.start)
    kept: list[Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def _byte_span(text: str, kind: Literal["link", "mention", "tag"], start: int, end: int, value: str) -> Span:
    byte_start = len(text[:start].encode())
    return Span(kind, byte_start, byte_start + len(text[start:end].encode()), value)


def _links(text: str) -> list[Span]:
    spans = []
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        if urlsplit(url).hostname:
            spans.append(_byte_span(text, "link", match.start(), match.start() + len(url), url))
    return spans


def _trim_url(url: str) -> str:
    """Drop sentence punctuation after a URL, and a closing bracket that opened outside it."""
    while url:
        last = url[-1]
        unbalanced = {")": "(", "]": "["}.get(last)
        if last in _URL_TRAILING or (unbalanced and url.count(unbalanced) < url.count(last)):
            url = url[:-1]
        else:
            return url
    return url


def _mentions(text: str) -> list[Span]:
    spans = []
    for match in _MENTION.finditer(text):
        handle = match.group(1).rstrip(".-")
        if len(handle) <= 253 and _HANDLE.fullmatch(handle):
            spans.append(_byte_span(text, "mention", match.start(), match.start(1) + len(handle), handle.lower()))
    return spans


def _tags(text: str) -> list[Span]:
    spans = []
    for match in _TAG.finditer(text):
        tag = match.group(1)
        while tag and unicodedata.category(tag[-1]).startswith("P"):
            tag = tag[:-1]
        # "#️⃣" is a keycap emoji, not a tag; a bare number is not a tag either (like "#1").
        if not tag or tag[0] in "\ufe0f\u20e3" or tag.isdigit() or count_graphemes(tag) > MAX_TAG_GRAPHEMES:
            continue
        spans.append(_byte_span(text, "tag", match.start(), match.start(1) + len(tag), tag))
    return spans


# --- Facets --------------------------------------------------------------------------------------


def build_facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The record's ``facets``. A mention whose handle does not resolve to a DID is left as text."""
    facets = []
    for span in find_spans(text):
        feature = _feature(span, resolve_handle)
        if feature is not None:
            facets.append({"index": {"byteStart": span.start, "byteEnd": span.end}, "features": [feature]})
    return facets


def _feature(span: Span, resolve_handle: Callable[[str], str | None]) -> dict[str, str] | None:
    if span.kind == "link":
        return {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
    if span.kind == "tag":
        return {"$type": "app.bsky.richtext.facet#tag", "tag": span.value}
    did = resolve_handle(span.value)
    return {"$type": "app.bsky.richtext.facet#mention", "did": did} if did else None


def first_link(text: str) -> str:
    return next((span.value for span in find_spans(text) if span.kind == "link"), "")
