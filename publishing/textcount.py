"""Counting text the way each platform counts it, so the composer can warn before submit."""

import re
import unicodedata

import regex

from connections.providers.base import TextRules

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
# twitter-text v3: these code point ranges weigh 1, everything else 2 (CJK, emoji...).
X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
X_URL_WEIGHT = 23
EMOJI = regex.compile(r"\p{Extended_Pictographic}")
URL_FILLER = "u"  # a URL counted as N characters is replaced by N of these


def _x_weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in X_LIGHT_RANGES) else 2


def x_weighted_length(text: str) -> int:
    """X's weighted length: NFC, URLs count 23, an emoji sequence counts 2."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in URL.finditer(text):
        total += _x_segment_weight(text[position : match.start()]) + X_URL_WEIGHT
        position = match.end()
    return total + _x_segment_weight(text[position:])


def _x_segment_weight(segment: str) -> int:
    weight = 0
    for grapheme in regex.findall(r"\X", segment):
        weight += 2 if EMOJI.search(grapheme) else sum(_x_weight(char) for char in grapheme)
    return weight


def grapheme_length(text: str) -> int:
    return len(regex.findall(r"\X", text))


def character_length(text: str, *, url_length: int | None) -> int:
    if url_length is None:
        return len(text)
    return len(URL.sub(URL_FILLER * url_length, text))


def text_length(text: str, rules: TextRules) -> int:
    if rules.counting == "x-weighted":
        return x_weighted_length(text)
    if rules.counting == "graphemes":
        return grapheme_length(URL.sub(URL_FILLER * rules.url_length, text) if rules.url_length else text)
    return character_length(text, url_length=rules.url_length)
