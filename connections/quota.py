"""Daily quotas counted in units (YouTube's Data API): what was spent today, and reserving units
before a call so the day's budget is never passed.

Counts live in the database (QuotaUsage), so every worker and web process sees one total. The
platform's day is given by the caller (YouTube's resets at midnight Pacific). A holder is whoever
a budget belongs to: a Google project, or one workspace's share of it."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import F


def used(*, platform: str, holder: str, day: date) -> int:
    from connections.models import QuotaUsage  # the models import the providers that call this

    row = QuotaUsage.objects.filter(platform=platform, holder=holder, day=day).values_list("units", flat=True)
    return int(row.first() or 0)


def spend(*, platform: str, holder: str, day: date, units: int) -> None:
    """Count units already spent (a call that cannot be refused: a processing check)."""
    from connections.models import QuotaUsage

    with transaction.atomic():
        row, _created = QuotaUsage.objects.select_for_update().get_or_create(platform=platform, holder=holder, day=day)
        QuotaUsage.objects.filter(pk=row.pk).update(units=F("units") + units)


def reserve(*, platform: str, day: date, units: int, budgets: dict[str, int]) -> str | None:
    """Spend ``units`` under every holder's budget at once (a Google project and one workspace's
    share of it), or under none: None once spent, else the first holder whose budget they would
    pass. Rows are locked in holder order, so two workers taking the same pair cannot deadlock."""
    from connections.models import QuotaUsage

    with transaction.atomic():
        rows = [
            QuotaUsage.objects.select_for_update().get_or_create(platform=platform, holder=holder, day=day)[0]
            for holder in sorted(budgets)
        ]
        for row in rows:
            if row.units + units > budgets[row.holder]:
                return row.holder
        QuotaUsage.objects.filter(pk__in=[row.pk for row in rows]).update(units=F("units") + units)
    return None
