"""Pacing calls per platform app, so one workspace cannot spend a rate limit others share.

Publishing and analytics draw on the same budgets: publishing with ``pace_reserve``, analytics
with ``pace_reserve_spare``, which takes only time publishing left unused and never moves a
budget's next slot past the present, so a post that falls due is never held back by it.

Each budget is a row holding the earliest time its next call may start (a virtual schedule:
every call pushes it forward by the interval). Claiming is one conditional UPDATE, so any
number of workers on any number of hosts share a budget without a lock server. A platform's
429 pushes the budget to the reset time for everyone using that app.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from connections.models import SocialAccount
from connections.providers.base import Provider
from publishing.models import RateBudget

TOLERANCE = timedelta(milliseconds=250)  # calls this close to their slot go now rather than wait


def budget_keys(provider: Provider, account: SocialAccount) -> list[tuple[str, float]]:
    """(key, seconds between calls) for every budget a call from this account draws on: the
    app's first (a 429 holds it back for everyone), then the workspace's share, then the account's."""
    keys: list[tuple[str, float]] = []
    if provider.app_calls_per_minute:
        app = f"{provider.id}:app:{account.instance_url or 'default'}"
        interval = 60 / provider.app_calls_per_minute
        # A workspace may use at most a share of the app's pace, leaving the rest to the others.
        share = f"{app}:workspace:{account.workspace_id}"
        keys += [(app, interval), (share, interval / provider.workspace_share)]
    if provider.account_calls_per_minute:
        keys.append((f"{provider.id}:account:{account.pk}", 60 / provider.account_calls_per_minute))
    return keys


def _ensure(key: str, now: datetime) -> None:
    """The budget's row, made free from ``now`` on if it is new."""
    if not RateBudget.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                RateBudget.objects.create(key=key, next_at=now)
        except IntegrityError:
            pass  # another worker created it first


def pace_reserve(keys: list[tuple[str, float]]) -> datetime | None:
    """Take a slot in every budget now, or return when to come back (taking nothing)."""
    now = timezone.now()
    for key, _interval in keys:
        _ensure(key, now)
    blocked: list[str] = []
    with transaction.atomic():
        for key, interval in keys:
            taken = RateBudget.objects.filter(key=key, next_at__lte=now + TOLERANCE).update(
                next_at=Greatest(F("next_at"), Value(now)) + timedelta(seconds=interval)
            )
            if not taken:
                blocked.append(key)
        if blocked:
            transaction.set_rollback(True)  # give back the slots taken in this round
    if not blocked:
        return None
    return max(RateBudget.objects.filter(key__in=blocked).values_list("next_at", flat=True))


def pace_reserve_spare(keys: list[tuple[str, float]], *, reserve: float) -> datetime | None:
    """Take a slot for background work (analytics) only from time publishing has left unused.

    A budget lends a slot when its next call could have started at least ``gap`` ago (gap is the
    interval stretched so that background calls use at most ``1 - reserve`` of the pace); the
    slot is taken from that idle past, so the budget's next slot becomes now, not later, and
    publishing finds it free. Returns when to come back (taking nothing) otherwise."""
    now = timezone.now()
    for key, interval in keys:
        _ensure(key, now - timedelta(seconds=interval / (1 - reserve)))  # a new budget has been idle
    blocked: list[tuple[str, float]] = []
    with transaction.atomic():
        for key, interval in keys:
            gap = timedelta(seconds=interval / (1 - reserve))
            if not RateBudget.objects.filter(key=key, next_at__lte=now - gap).update(next_at=now):
                blocked.append((key, interval / (1 - reserve)))
        if blocked:
            transaction.set_rollback(True)
    if not blocked:
        return None
    gaps = dict(blocked)
    rows = RateBudget.objects.filter(key__in=gaps).values_list("key", "next_at")
    return max(next_at + timedelta(seconds=gaps[key]) for key, next_at in rows)


def pace_block(keys: list[tuple[str, float]], *, seconds: float) -> None:
    """The platform said stop: nobody on these budgets calls before the reset."""
    until = timezone.now() + timedelta(seconds=seconds)
    for key, _interval in keys[:1]:  # the widest budget (the app's where it has one): the limit is its
        _ensure(key, timezone.now())
        RateBudget.objects.filter(key=key, next_at__lt=until).update(next_at=until)
