"""The location's daily numbers from the Business Profile Performance API -> ours.

Google counts a location per day (``fetchMultiDailyMetricsTimeSeries``), and its numbers arrive
some days late [unconfirmed delay]: the account's totals are those of the latest day Google has
counted within the look-back window. Views are the profile's impressions on Maps and Search
added up (Google counts a user once per day and surface); each metric is also kept among the
extras under Google's name, so Maps and Search, calls, website clicks and direction requests
stay apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connections.providers.base import EXTRA, AccountMetrics
from connections.providers.google_business.conf import PERFORMANCE_METRICS

IMPRESSIONS = "BUSINESS_IMPRESSIONS"  # ours: the four BUSINESS_IMPRESSIONS_* metrics added up
ACCOUNT_METRIC_NAMES = {IMPRESSIONS: "views", **{name: EXTRA for name in PERFORMANCE_METRICS}}


def latest_day(series: Mapping[str, Mapping[str, int]]) -> str:
    """The latest day with a number above 0 in any metric, else the latest day listed; "" when
    Google listed none. Google leaves a zero day's value out [unconfirmed], so a day where
    everything is 0 cannot be told from one not counted yet: the last day anything happened is
    the latest day known to be counted."""
    days = {day for values in series.values() for day in values}
    counted = {day for values in series.values() for day, value in values.items() if value > 0}
    return max(counted or days, default="")


def account_metrics(series: Mapping[str, Mapping[str, int]], asked: Iterable[str]) -> AccountMetrics | None:
    day = latest_day(series)
    if not day:
        return None  # nothing counted yet: analytics asks again later, it stores no zeros
    counts = {name: series.get(name, {}).get(day, 0) for name in asked}
    impressions = [counts[name] for name in counts if name.startswith(f"{IMPRESSIONS}_")]
    if impressions:
        counts[IMPRESSIONS] = sum(impressions)
    return AccountMetrics.from_platform(counts, ACCOUNT_METRIC_NAMES)
