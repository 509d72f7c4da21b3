"""The composer's network previews: text with its links, hashtags and mentions marked, as each
network shows them (their colour comes from the provider's PreviewLook, through the CSS)."""

import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# A link up to its trailing punctuation; a hashtag or mention not glued to a word before it.
_TOKENS = re.compile(
    r"(?P<link>https?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]])"
    r"|(?<![\w#&])(?P<tag>#\w+)"
    r"|(?<![\w@/])(?P<mention>@[\w.-]*\w(?:@[\w.-]*\w)?)"
)


@register.filter
def highlight(text: str) -> SafeString:
    """Escaped text, each token wrapped in <span class="pv-link|pv-tag|pv-mention">, lines kept."""
    pieces: list[str] = []
    position = 0
    for match in _TOKENS.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        pieces.append(format_html('<span class="pv-{}">{}</span>', match.lastgroup, match.group()))
        position = match.end()
    pieces.append(escape(text[position:]))
    # Every piece above is escaped or built by format_html: joining them keeps that true.
    return mark_safe("<br>".join("".join(pieces).split("\n")))  # noqa: S308


@register.filter
def link_host(url: str) -> str:
    """example.com for https://www.example.com/a/b, as link cards name their site."""
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.IGNORECASE).split("/", 1)[0]
    return host.removeprefix("www.")
