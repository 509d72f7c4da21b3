"""The calendar's chips, built in Python: a week shows up to 336 of them, and an included
template per chip cost more than the queries behind the whole page."""

from datetime import date

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
    # calendar.js reschedules at the post's address + "reschedule/" (the URL pattern's).
    drag = ' draggable="true"' if movable and chip.movable else ""
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


@register.simple_tag(takes_context=True)
def week_slot(context: template.Context, day: date, hour: int, posts: list[Chip], total: int) -> SafeString:
    """One hour of the week grid: its chips and "+N more" (loaded in place by htmx, or the posts
    list of that day without script). Built here, not in the template: 168 cells a week, and the
    template's loops and date filters per cell cost more than the page's queries."""
    movable = bool(context["can"].get("edit_content"))  # the capabilities the page was given
    today = context["today"]
    chips = SafeString("".join(post_chip(chip, movable=movable) for chip in posts))
    iso = day.isoformat()
    more = SafeString("")
    if total > len(posts):  # calendar.js loads the hour in place (data-hour-url on the grid)
        more = format_html(
            '<a class="small" href="{posts}?from={d}&amp;to={d}" data-more>+{n} more</a>',
            posts=context["posts_url"], d=iso, n=total - len(posts),
        )  # fmt: skip
    return format_html(
        '<div class="calendar-day calendar-slot{today}" role="gridcell" data-date="{d}" data-hour="{h}">'
        "{chips}{more}</div>",
        today=" is-today" if day == today else "", d=iso, h=hour, chips=chips, more=more,
    )  # fmt: skip
