"""LinkedIn's "little text" format for ``commentary``: these characters are markup (mentions,
hashtag templates, emphasis) and must be escaped with a backslash, or LinkedIn cuts the text or
refuses it (platforms-other.md section 2)."""

import re

RESERVED = frozenset("\\|{}@[]()<>#*_~")
ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def little_text(text: str) -> str:
    """Plain text as commentary that reads the same: every reserved character escaped."""
    return "".join(f"\\{char}" if char in RESERVED else char for char in text)


def plain_text(commentary: str) -> str:
    """Commentary back to the text it was made from (what LinkedIn shows)."""
    return ESCAPED.sub(lambda match: match.group(1), commentary)


def comparable(text: str) -> str:
    return " ".join(text.split())
