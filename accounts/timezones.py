"""Which time zone a request's dates and times are shown and typed in."""

import zoneinfo
from functools import cache
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from django.http import HttpRequest

# Set by static/js/app.js from the browser's Intl API, so a new workspace starts in the
# author's own zone instead of UTC.
BROWSER_ZONE_COOKIE = "browser_tz"
UTC = ZoneInfo("UTC")


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def zone_names() -> list[str]:
    return sorted(known_zones())


def zone_or_none(name: str | None) -> ZoneInfo | None:
    return ZoneInfo(name) if name and name in known_zones() else None


def zone_for(user, workspace) -> ZoneInfo:
    """The user's own zone where they chose one, else the workspace's, else UTC."""
    return zone_or_none(getattr(user, "timezone", "")) or (workspace.tzinfo if workspace else UTC)


def browser_zone(request: HttpRequest | None) -> str | None:
    """The zone the browser reported, when it is one we know."""
    if request is None:
        return None
    name = unquote(request.COOKIES.get(BROWSER_ZONE_COOKIE, ""))
    return name if name in known_zones() else None
