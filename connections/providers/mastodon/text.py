"""Status text: adding the post's link, and comparing what we sent with the HTML Mastodon shows."""

import html
import re

TAG = re.compile(r"<[^>]+>")
LINE_BREAK = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
WHITESPACE = re.compile(r"\s+")
# Mastodon renders a mention of @user@domain as "@user" once it resolves the account.
REMOTE_MENTION = re.compile(r"(?<![\w@])(@[\w.-]+)@[\w-]+(?:\.[\w-]+)+")


def with_link(text: str, link: str) -> str:
    """Mastodon has no link field: the URL goes in the text (the server builds the card)."""
    if not link or link in text:
        return text
    return f"{text.rstrip()}\n\n{link}" if text.strip() else link


def comparable(text: str) -> str:
    """Plain text reduced to what survives Mastodon's formatting: mentions without their domain,
    whitespace collapsed."""
    return WHITESPACE.sub(" ", REMOTE_MENTION.sub(r"\1", text)).strip()


def comparable_html(content: str) -> str:
    """A status's ``content`` HTML as comparable text. Linkified URLs survive intact: the
    hidden and shortened spans Mastodon splits them into concatenate back to the full URL."""
    return comparable(html.unescape(TAG.sub("", LINE_BREAK.sub(" ", content))))


PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def plain_text(content: str) -> str:
    """A status's ``content`` HTML as the text its author typed, near enough: paragraphs become
    blank lines, line breaks newlines, every tag goes (links keep their full URL)."""
    text = BREAK.sub("\n", PARAGRAPH.sub("\n\n", content))
    return html.unescape(TAG.sub("", text)).strip()
