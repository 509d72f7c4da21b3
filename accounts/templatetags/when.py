"""Dates, times and durations the way a person says them, in the request's time zone."""

from collections.abc import Sized
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

register = template.Library()


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter
def clock(value: datetime | None) -> str:
    """19:04, or 19:04:30 when the seconds were chosen: what was typed is what is shown."""
    if not value:
        return ""
    local = _local(value)
    return f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"


@register.filter
def moment(value: datetime | None) -> str:
    """Tue 14 Jan 2025, 19:04:30 (the year only when it is not this year)."""
    if not value:
        return ""
    local = _local(value)
    day = f"{local:%a} {local.day} {local:%b}"
    if local.year != timezone.localdate().year:
        day += f" {local.year}"
    return f"{day}, {clock(value)}"


@register.filter
def short_moment(value: datetime | None) -> str:
    """What a button says: "Tue 10:30" within the coming week, "Tue 5 May, 10:30" beyond it."""
    if not value:
        return ""
    local = _local(value)
    ahead = local.date() - timezone.localdate()
    if timedelta(0) <= ahead < timedelta(days=6):
        return f"{local:%a} {clock(value)}"
    return moment(value)


def _span(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = round(seconds / 86400)
    return f"{days} day" if days == 1 else f"{days} days"


@register.filter
def from_now(value: datetime | None) -> str:
    """ "in 30 s", "in 2 h 5 min", "3 min ago", "now"."""
    if not value:
        return ""
    delta = (value - timezone.now()).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(-delta)} ago"


@register.filter
def duration(value: timedelta | None) -> str:
    return _span(value.total_seconds()) if value is not None else ""


@register.filter
def sub_count(total: int, shown: Sized) -> int:
    """How many are left after those shown: "+{{ total|sub_count:posts }} more"."""
    return total - len(shown)
