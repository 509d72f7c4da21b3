"""The media library's items in templates (the grid, the composer's picker)."""

from typing import Any

from django import template

from publishing.media import media_thumb_url_for

register = template.Library()


@register.filter
def thumb_url(item: Any) -> str:
    """What a library item shows: an image itself, a video's cover frame, a PDF's icon."""
    return media_thumb_url_for(item.id, item.kind)
