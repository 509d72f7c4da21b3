"""Instagram's typed per-post options (platforms-meta.md section 3.2): collaborators, people
tagged, a location and a Reel's cover frame. Parsed here once, for the services' check before a
post is saved and for the container fields when it is published."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_COLLABORATORS = 3
MAX_USER_TAGS = 20  # 2207035-37/2207040: at most 20 tags
MAX_REEL_S = 15 * 60
USERNAME = re.compile(r"@?([A-Za-z0-9._]{1,30})")
TAG = re.compile(r"@?([A-Za-z0-9._]{1,30})(?:\s+([01](?:\.\d+)?)\s+([01](?:\.\d+)?))?")
PLACE_ID = re.compile(r"\d{1,20}")
TYPED = (("collaborators", "text"), ("user_tags", "text"), ("location_id", "text"), ("thumb_offset", "text"))
# What a Story takes of them: people tags only (captions, collaborators and places are not supported).
NOT_ON_STORIES = ("collaborators", "location_id", "thumb_offset")


class OptionError(ValueError):
    pass


@dataclass(frozen=True)
class Tag:
    username: str
    x: float = 0.5  # where on the image, from its left and top edges (0 to 1)
    y: float = 0.5
    placed: bool = False  # the author said where (otherwise the middle)


def collaborators(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    bad = [name for name in names if not USERNAME.fullmatch(name)]
    if bad:
        raise OptionError(f"{bad[0]!r} is not an Instagram username.")
    if len(names) > MAX_COLLABORATORS:
        raise OptionError(f"Instagram takes at most {MAX_COLLABORATORS} collaborators.")
    return [name.lstrip("@") for name in names]


def user_tags(value: str) -> list[Tag]:
    """``@jane 0.3 0.6, @bob``: usernames, each optionally with where on the image it goes."""
    tags = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        found = TAG.fullmatch(entry)
        if found is None:
            raise OptionError(f"{entry!r} is not a username, or a username then two numbers from 0 to 1.")
        name, x, y = found.groups()
        if x is None:
            tags.append(Tag(name))
        elif float(x) > 1 or float(y) > 1:
            raise OptionError(f"{entry!r}: a position is two numbers from 0 to 1 (left, top).")
        else:
            tags.append(Tag(name, float(x), float(y), placed=True))
    if len(tags) > MAX_USER_TAGS:
        raise OptionError(f"Instagram takes at most {MAX_USER_TAGS} people tags.")
    return tags


def location_id(value: str) -> str:
    if not PLACE_ID.fullmatch(value):
        raise OptionError("a location is the number of a place's Facebook Page (its id).")
    return value


def thumb_offset_ms(value: str) -> int:
    try:
        seconds = float(value)
    except ValueError:
        raise OptionError("the cover frame is a number of seconds into the video.") from None
    if not 0 <= seconds <= MAX_REEL_S:
        raise OptionError(f"the cover frame must be between 0 and {MAX_REEL_S} seconds into the video.")
    return round(seconds * 1000)


PARSERS = {
    "collaborators": collaborators,
    "user_tags": user_tags,
    "location_id": location_id,
    "thumb_offset": thumb_offset_ms,
}


def problem(name: str, value: str, options: Mapping[str, Any]) -> str:
    if name in NOT_ON_STORIES and options.get("format") == "story":
        return "Instagram Stories do not take it; leave it empty or choose another format."
    parser = PARSERS.get(name)
    try:
        if parser is not None:
            parser(value)
    except OptionError as exc:
        return str(exc)
    return ""


def typed(options: Mapping[str, Any] | None, name: str) -> str:
    value = (options or {}).get(name)
    return value.strip() if isinstance(value, str) else ""
