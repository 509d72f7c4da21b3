"""The calendar's chips, built in Python: a week shows up to 336 of them, and an included
template per chip cost more than the queries behind the whole page."""

from django import template
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.templatetags.when import clock
from publishing.queries import Chip

register = template.Library()


@register.simple_tag
def post_chip(chip: Chip, *, movable: bool) -> SafeString:
    """A link to the post; draggable, and with a reschedule address, when ``movable``."""
    url = reverse("post_detail", args=[chip.id])
    drag = (
        format_html(' draggable="true" data-reschedule-url="{}"', reverse("post_reschedule", args=[chip.id]))
        if movable and chip.movable
        else ""
    )
    return format_html(
        '<a class="post-chip status-{status}" href="{url}"{drag}><time datetime="{iso}">{clock}</time>'
        ' <span class="sr-only">{label}:</span> <span>{text}</span> <span class="small muted">{platforms}</span></a>',
        status=chip.status,
        url=url,
        drag=drag,
        label=chip.status_label,
        iso=timezone.localtime(chip.scheduled_at).isoformat(timespec="seconds"),
        clock=clock(chip.scheduled_at),
        text=truncatechars(chip.text, 48) or "(media only)",
        platforms=chip.platforms,
    )
