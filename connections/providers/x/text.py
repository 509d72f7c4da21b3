"""What X does to our text, so a lost answer can be matched on the post X kept."""

import html
import re
import unicodedata

from connections.providers.base import AccountState

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def with_link(text: str, link: str) -> str:
    """X has no link field: the URL goes in the text, and X builds the card from it."""
    if not link or link in text:
        return text
    return f"{text}\n\n{link}" if text else link


def comparable(text: str) -> str:
    """Text as it can be compared with what X returns: X shortens every URL to t.co and returns
    entities such as &amp;, so URLs become one placeholder and entities are decoded."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    return " ".join(URL.sub("<url>", text).split())


def status_url(account: AccountState, post_id: str) -> str:
    handle = account.username.lstrip("@")
    return f"https://x.com/{handle or 'i'}/status/{post_id}"


def plain(text: str) -> str:
    """A post's text as the author wrote it: X answers with &amp;, &lt; and &gt; escaped."""
    return html.unescape(text)
