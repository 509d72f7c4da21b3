"""When a post's (or an account's) numbers are fetched next: a decaying schedule.

A post gathers most of its reactions in its first hours, so it is read often at first and then
ever more rarely: ANALYTICS_SCHEDULE after publishing, then every ANALYTICS_REPEAT. Accounts are
read every ANALYTICS_ACCOUNT_EVERY. Durations are written "90s", "30m", "6h", "3d" or "2w".
"""

import re
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION = re.compile(r"(\d+)([smhdw])")


@cache  # read for every row of every sync: parse each distinct value once
def parse_duration(text: str, *, name: str) -> timedelta:
    match = DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ImproperlyConfigured(f'{name}: "{text}" is not a duration such as "30m", "6h" or "3d".')
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def offsets() -> list[timedelta]:
    """The schedule's steps, as time after publishing, in increasing order."""
    steps = [parse_duration(item, name="ANALYTICS_SCHEDULE") for item in settings.ANALYTICS_SCHEDULE.split(",")]
    if steps != sorted(steps) or len(set(steps)) != len(steps):
        raise ImproperlyConfigured("ANALYTICS_SCHEDULE must list increasing durations, such as 1h,6h,24h,3d.")
    return steps


def repeat() -> timedelta:
    return parse_duration(settings.ANALYTICS_REPEAT, name="ANALYTICS_REPEAT")


def account_every() -> timedelta:
    return parse_duration(settings.ANALYTICS_ACCOUNT_EVERY, name="ANALYTICS_ACCOUNT_EVERY")


def step_due(published_at: datetime, step: int) -> datetime:
    """When step ``step`` (0-based) of a post published then falls due."""
    steps = offsets()
    if step < len(steps):
        return published_at + steps[step]
    return published_at + steps[-1] + repeat() * (step - len(steps) + 1)


def next_step(published_at: datetime, step: int, now: datetime) -> tuple[int, datetime]:
    """The step after ``step`` that is still ahead of ``now`` (steps missed while the account was
    paused or the worker down are skipped, not run one after another), and when it falls due."""
    following = step + 1
    steps = offsets()
    while following < len(steps) and step_due(published_at, following) <= now:
        following += 1
    if following >= len(steps):  # the monthly repeats: jump straight to the next one ahead
        passed = (now - (published_at + steps[-1])) // repeat() if now > published_at + steps[-1] else 0
        following = max(following, len(steps) + int(passed))
    return following, step_due(published_at, following)
