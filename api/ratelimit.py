"""Requests per API key per minute, counted where every web process sees the same number:
Redis when API_RATE_LIMIT_REDIS_URL (default: REDIS_URL) is set, else the database.

A fixed one-minute window: simple to explain in headers (the limit, what is left, the seconds
until the window turns) and the same answer from every process."""

import functools
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from accounts.plans import plan_limit
from api.keys import Principal
from api.models import RateCounter

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateState:
    limit: int
    used: int
    reset: int  # seconds until the window turns

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f'"default";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"default";r={self.remaining};t={self.reset}',
        }


@functools.cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _count_redis(url: str, key: str, minute: int) -> int:
    name = f"postwright:rl:{key}:{minute}"
    pipe = _redis(url).pipeline()
    pipe.incr(name)
    pipe.expire(name, WINDOW_SECONDS * 2)
    count, _ = pipe.execute()
    return int(count)


def _count_database(key: str, minute: int) -> int:
    # One statement, so two processes counting at once both add: no read-then-write race.
    table = RateCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", "minute", "count") VALUES (%s, %s, 1) '  # noqa: S608 - our table name
            f'ON CONFLICT ("key", "minute") DO UPDATE SET "count" = {table}."count" + 1 RETURNING "count"',
            [key, minute],
        )
        return int(cursor.fetchone()[0])


def rate_count(*, key: str, now: float | None = None) -> tuple[int, int]:
    """This request counted in its key's window: (requests so far in the window, seconds left)."""
    now = time.time() if now is None else now
    minute = int(now // WINDOW_SECONDS)
    url = settings.API_RATE_LIMIT_REDIS_URL
    used = _count_redis(url, key, minute) if url else _count_database(key, minute)
    reset = max(1, int((minute + 1) * WINDOW_SECONDS - now + 0.999))
    return used, reset


def rate_check(principal: Principal) -> RateState | None:
    """None when the workspace's plan sets no limit."""
    limit = plan_limit(workspace=principal.key.workspace, limit="api_requests_per_minute")
    if limit is None:
        return None
    used, reset = rate_count(key=f"key{principal.key.pk}")
    return RateState(limit=limit, used=used, reset=reset)


def rate_counters_prune(*, now: float | None = None) -> int:
    """Database counters of windows that have passed (the retention job calls this)."""
    minute = int((time.time() if now is None else now) // WINDOW_SECONDS)
    return RateCounter.objects.filter(minute__lt=minute - 1).delete()[0]
