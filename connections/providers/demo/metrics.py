"""The Demo network's numbers: believable, growing, and the same every time they are read.

A post's audience arrives quickly at first and then levels off (a fast wave in its first hour,
a slow tail over days), with bumps from one stretch of time to the next. Everything is derived
from the post's id and its age, so two reads at the same moment agree, counts never go down,
and a new user sees numbers move within minutes of a first post.
"""

import hashlib
import itertools
import math
from collections.abc import Iterable
from datetime import datetime

from connections.providers.base import EXTRA

# The Demo network's own metric names -> ours: the provider's mapping table.
METRIC_NAMES = {
    "like_count": "likes",
    "share_count": "reposts",
    "comment_count": "replies",
    "quote_count": "quotes",
    "bookmark_count": "saves",
    "view_count": "views",
    "reach_count": "reach",
    "link_clicks": "clicks",
    "profile_visits": EXTRA,
}
ACCOUNT_METRIC_NAMES = {
    "follower_count": "followers",
    "following_count": "following",
    "post_count": "posts_count",
    "profile_views": "views",
}

FIRST_STRETCH_S = 60.0  # the first stretch of time with its own bump
STRETCH_GROWTH = 1.25  # each stretch a quarter longer than the one before: a month is ~50 stretches
FAST_HALF_LIFE_S = 10 * 60
SLOW_HALF_LIFE_S = 8 * 3600
FAST_SHARE = 0.3  # of the final audience, arriving in the first hour
# Of those reached, the share who do each thing (before the post's own flair multiplies it).
RATES = {"like_count": 0.08, "share_count": 0.015, "comment_count": 0.01, "quote_count": 0.003,
         "bookmark_count": 0.006, "link_clicks": 0.02, "profile_visits": 0.012}  # fmt: skip
VIEWS_PER_REACH = 1.6


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by its inputs."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _curve(age_s: float) -> float:
    """The share of the final audience reached at this age: 0 at publishing, towards 1."""
    fast = 1 - math.pow(0.5, age_s / FAST_HALF_LIFE_S)
    slow = 1 - math.pow(0.5, age_s / SLOW_HALF_LIFE_S)
    return FAST_SHARE * fast + (1 - FAST_SHARE) * slow


def _stretch_ends(age_s: float) -> Iterable[float]:
    end = FIRST_STRETCH_S
    yield 0.0
    while end < age_s:
        yield end
        end *= STRETCH_GROWTH
    yield age_s


def _noisy_share(key: str, age_s: float) -> float:
    """The curve with a bump per stretch: each stretch adds its part of the curve times 0.5-1.5,
    so the total only grows, and the last stretch is taken in proportion to how far it got."""
    ends = list(_stretch_ends(age_s))
    share = 0.0
    for index, (start, end) in enumerate(itertools.pairwise(ends)):
        share += (_curve(end) - _curve(start)) * (0.5 + _unit(key, index))
    return share


def post_counts(post_id: str, published_at: datetime, now: datetime) -> dict[str, int]:
    """The post's numbers under the Demo network's own names (see METRIC_NAMES)."""
    age_s = max(0.0, (now - published_at).total_seconds())
    audience = 200 + 1800 * _unit(post_id, "audience") ** 2  # most posts modest, a few take off
    reach = audience * _noisy_share(post_id, age_s)
    counts = {"reach_count": math.floor(reach), "view_count": math.floor(reach * VIEWS_PER_REACH)}
    for name, rate in RATES.items():
        flair = 0.5 + _unit(post_id, name)  # this post's own appeal for this action
        counts[name] = math.floor(reach * rate * flair)
    return counts


def account_counts(external_id: str, post_reaches: Iterable[int], posts: int) -> dict[str, int]:
    """Followers start from the account's own base and grow with the reach of its posts."""
    base = 40 + math.floor(460 * _unit(external_id, "followers"))
    reached = sum(post_reaches)
    return {
        "follower_count": base + math.floor(reached * 0.03),
        "following_count": 20 + math.floor(180 * _unit(external_id, "following")),
        "post_count": posts,
        "profile_views": math.floor(reached * 0.05),
    }
