"""Thinning old snapshots: history stays, at a coarser grain, and storage stays small.

Every snapshot is kept for ANALYTICS_KEEP_ALL_DAYS; older ones are thinned to the last of each
day, and past ANALYTICS_KEEP_DAILY_DAYS to the last of each ISO week. The last snapshot of a
day or week is what that day or week ended at, so charts drawn from thinned history keep their
shape, and a part's (or account's) latest snapshot is never removed.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from analytics.models import AccountMetricSnapshot, PartMetricSnapshot

OWNERS_PER_BATCH = 500
Report = Callable[[str], None]


def _bucket(taken_at: datetime, weekly_before: datetime) -> tuple[int, int] | date:
    if taken_at < weekly_before:
        year, week, _day = taken_at.isocalendar()
        return year, week
    return taken_at.date()


def _to_remove(rows: list[tuple[int, datetime]], weekly_before: datetime) -> list[int]:
    """Ids of all but the last snapshot of each bucket; ``rows`` are (id, taken_at) in order."""
    last: dict[tuple[int, int] | date, int] = {}
    for row_id, taken_at in rows:
        last[_bucket(taken_at, weekly_before)] = row_id
    kept = set(last.values())
    return [row_id for row_id, _taken in rows if row_id not in kept]


def _thin(model: type[models.Model], owner: str, now: datetime, report: Report) -> int:
    daily_before = now - timedelta(days=settings.ANALYTICS_KEEP_ALL_DAYS)
    weekly_before = now - timedelta(days=settings.ANALYTICS_KEEP_DAILY_DAYS)
    old = model._default_manager.filter(taken_at__lt=daily_before)
    owners = list(old.order_by().values_list(f"{owner}_id", flat=True).distinct())
    removed = 0
    for start in range(0, len(owners), OWNERS_PER_BATCH):
        batch = owners[start : start + OWNERS_PER_BATCH]
        rows: dict[int, list[tuple[int, datetime]]] = {owner_id: [] for owner_id in batch}
        for owner_id, row_id, taken_at in (
            old.filter(**{f"{owner}_id__in": batch}).order_by("taken_at", "id").values_list(f"{owner}_id", "id",
                                                                                            "taken_at")
        ):  # fmt: skip
            rows[owner_id].append((row_id, taken_at))
        ids = [row_id for owner_rows in rows.values() for row_id in _to_remove(owner_rows, weekly_before)]
        removed += model._default_manager.filter(id__in=ids).delete()[0] if ids else 0
        report(f"  {model._meta.verbose_name_plural}: {removed} thinned so far")
    return removed


def snapshots_thin(*, now: datetime | None = None, report: Report | None = None) -> int:
    """Thin part and account snapshots; how many rows went."""
    now, say = now or timezone.now(), report or (lambda line: None)
    return _thin(PartMetricSnapshot, "part", now, say) + _thin(AccountMetricSnapshot, "account", now, say)
