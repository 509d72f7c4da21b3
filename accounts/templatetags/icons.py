"""Inline SVG icons from the vendored Lucide set (static/vendor/lucide/, ISC licence; Lucide's "x"
is vendored as close.svg, since x is a platform id here).

Inline rather than <img> or emoji: they take the text colour, need no request, and draw the same
on every machine (emoji rendered as empty boxes where no emoji font is installed).
"""

import re
from functools import cache
from pathlib import Path

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
ICONS = Path(settings.BASE_DIR) / "static" / "vendor" / "lucide"
_OPEN_TAG = re.compile(r"<svg\b[^>]*>", re.S)


@cache
def _body(name: str) -> str:
    """The shapes inside the icon's <svg> element; a missing icon is a programming error."""
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise ValueError(f"not an icon name: {name!r}")
    source = (ICONS / f"{name}.svg").read_text()
    start = _OPEN_TAG.search(source)
    if start is None:
        raise ValueError(f"{name}.svg has no <svg> element")
    return source[start.end() : source.rindex("</svg>")].strip()


@register.simple_tag
def icon(name: str, size: int = 20, css: str = "") -> SafeString:
    """{% icon "bell" %}: decorative (aria-hidden); the text or label beside it names the thing."""
    tag = format_html(
        '<svg class="icon{}" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 24 24" '
        'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        'aria-hidden="true" focusable="false">',
        f" {css}" if css else "",
        size,
        size,
    )
    return mark_safe(f"{tag}{_body(name)}</svg>")  # noqa: S308 - our own vendored files, not user input
