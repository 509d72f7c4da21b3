"""Read-side of analytics: every number the dashboard shows, aggregated in the database.

Each function is one query (or two) whatever the number of posts. The sums read the day cells
of analytics/rollup.py (DailyRollup: one row per account and day, kept by the writers) when
they are in the page's zone; a page in another zone (a member's own) groups
``PartMetrics.published_at`` by its local day instead, on the (workspace, published_at) index.
Python only folds the grouped rows (at most one per account and day).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate

from accounts.models import Workspace
from analytics.models import (
    ENGAGEMENT_FIELDS,
    POST_METRIC_FIELDS,
    AccountMetricSnapshot,
    DailyRollup,
    PartMetrics,
    PartMetricSnapshot,
    RollupState,
)
from publishing.media import media_thumb_url_for
from publishing.models import ContentMedia, PostContent

RANGE_PRESETS = {"7d": 7, "30d": 30, "90d": 90, "12m": 365}
DEFAULT_RANGE = "30d"
MAX_RANGE_DAYS = 3 * 366
TOP_METRICS = ("engagement", "likes", "reposts", "replies", "views")
TOP_COUNT = 10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HEAT_LEVELS = 5  # cells are shaded heat-0 (no posts) to heat-5 (the best hour)


@dataclass(frozen=True)
class Scope:
    """What the page looks at: a workspace, some of its accounts (None: all), days in its zone."""

    workspace: Workspace
    zone: ZoneInfo
    first_day: date
    last_day: date  # inclusive
    account_ids: tuple[int, ...] | None = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    @cached_property
    def rolled(self) -> bool:
        """Whether the workspace's day cells are in this zone (one query, once per page)."""
        return RollupState.objects.filter(workspace=self.workspace, zone=self.zone.key).exists()

    @property
    def by_week(self) -> bool:
        """Posts per week past three months: a year of daily bars is too thin to read."""
        return (self.last_day - self.first_day).days >= 92


def parts_in(scope: Scope) -> QuerySet[PartMetrics]:
    parts = PartMetrics.objects.filter(
        workspace=scope.workspace, published_at__gte=scope.start, published_at__lt=scope.end
    )
    if scope.account_ids is not None:
        parts = parts.filter(account_id__in=scope.account_ids)
    return parts.order_by()


def cells_in(scope: Scope) -> QuerySet[DailyRollup]:
    cells = DailyRollup.objects.filter(workspace=scope.workspace, day__gte=scope.first_day, day__lte=scope.last_day)
    if scope.account_ids is not None:
        cells = cells.filter(account_id__in=scope.account_ids)
    return cells.order_by()


def _cell_sums() -> dict[str, Any]:
    """The same names as _sums(), from the day cells."""
    return {
        "sum_posts": Sum("posts"),
        "sum_engagement": Sum("engagement"),
        "sum_views": Sum("views"),
        "sum_seen_engagement": Sum("seen_engagement"),
        **{f"sum_{name}": Sum(name) for name in ENGAGEMENT_FIELDS},
    }


def _sums() -> dict[str, Any]:
    """Named sum_<field> so they never clash with the model's own fields."""
    return {
        "sum_posts": Count("target_id", distinct=True),
        "sum_engagement": Sum("engagement"),
        "sum_views": Sum("views"),
        # Engagement rate counts only the parts whose views the platform gives.
        "sum_seen_engagement": Sum("engagement", filter=Q(views__isnull=False)),
        **{f"sum_{name}": Sum(name) for name in ENGAGEMENT_FIELDS},
    }


@dataclass
class Totals:
    posts: int = 0
    engagement: int = 0
    views: int | None = None
    seen_engagement: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, row: dict[str, Any]) -> None:
        self.posts += row["sum_posts"] or 0
        self.engagement += row["sum_engagement"] or 0
        self.seen_engagement += row["sum_seen_engagement"] or 0
        if row["sum_views"] is not None:
            self.views = (self.views or 0) + row["sum_views"]
        for name in ENGAGEMENT_FIELDS:
            self.counts[name] = self.counts.get(name, 0) + (row[f"sum_{name}"] or 0)

    @property
    def rate(self) -> float | None:
        """Engagement per view (percent) where views are known; None where no platform gives them."""
        if not self.views:
            return None
        return round(100 * self.seen_engagement / self.views, 2)

    @property
    def per_post(self) -> float:
        return round(self.engagement / self.posts, 1) if self.posts else 0.0


@dataclass(frozen=True)
class Point:
    label: str  # "2026-03-01" or "Week of 2026-03-02"
    totals: Totals


def daily(scope: Scope) -> list[Point]:
    """Posts, engagement and views per day (per week for long ranges), zero where nothing landed."""
    if scope.rolled:
        rows: Iterable[dict[str, Any]] = cells_in(scope).values("day").annotate(**_cell_sums())
    else:
        rows = parts_in(scope).values(day=TruncDate("published_at", tzinfo=scope.zone)).annotate(**_sums())
    by_day = {row["day"]: row for row in rows}
    points: dict[str, Totals] = {}
    by_week = scope.by_week  # once: it counts the days
    for day in scope.days:
        label = f"Week of {day - timedelta(days=day.weekday())}" if by_week else day.isoformat()
        totals = points.setdefault(label, Totals())
        if day in by_day:
            totals.add(by_day[day])
    return [Point(label, totals) for label, totals in points.items()]


def overall(points: Iterable[Point]) -> Totals:
    total = Totals()
    for point in points:
        total.posts += point.totals.posts
        total.engagement += point.totals.engagement
        total.seen_engagement += point.totals.seen_engagement
        if point.totals.views is not None:
            total.views = (total.views or 0) + point.totals.views
    return total


@dataclass(frozen=True)
class PlatformRow:
    platform: str
    name: str
    totals: Totals


def per_platform(scope: Scope, platform_of: dict[int, str], names: dict[str, str]) -> list[PlatformRow]:
    """Grouped by account in the database (no join), folded into platforms from the accounts the
    page already read."""
    folded: dict[str, Totals] = {}
    for row in _per_account(scope):
        platform = platform_of.get(row["account_id"], "")
        folded.setdefault(platform, Totals()).add(row)
    return [PlatformRow(p, names.get(p, p), t) for p, t in sorted(folded.items(), key=lambda kv: -kv[1].engagement)]


def _per_account(scope: Scope) -> Iterable[dict[str, Any]]:
    if not scope.rolled:
        return parts_in(scope).values("account_id").annotate(**_sums())
    # A post on several days of the range (a thread across midnight) is in several cells: the
    # ones whose earlier day is in the range count it again, so they give it back.
    rows = list(cells_in(scope).values("account_id", "repeats").annotate(n_cells=Count("id"), **_cell_sums()))
    first = scope.first_day.isoformat()
    for row in rows:
        again = sum(n for earlier, n in (row["repeats"] or {}).items() if earlier >= first)
        row["sum_posts"] -= row["n_cells"] * again
    return rows


@dataclass(frozen=True)
class TopPost:
    post_id: int
    text: str
    platform: str
    username: str
    published_at: datetime
    url: str
    thumb_url: str
    value: int | None
    engagement: int
    metrics: dict[str, int | None]


def top_posts(scope: Scope, metric: str, *, limit: int = TOP_COUNT) -> list[TopPost]:
    """The best main posts by ``metric`` (unknown numbers last), with text and thumbnail: 3 queries."""
    rows = list(
        parts_in(scope)
        .filter(part__position=0)
        .order_by(F(metric).desc(nulls_last=True), "-published_at")
        .values(
            "target__post_id", "account__platform", "account__username", "published_at", "part__url",
            "engagement", *POST_METRIC_FIELDS,
        )[:limit]
    )  # fmt: skip
    post_ids = [row["target__post_id"] for row in rows]
    texts = dict(
        PostContent.objects.filter(post_id__in=post_ids, kind=PostContent.Kind.MAIN).values_list("post_id", "text")
    )
    thumbs: dict[int, str] = {}
    attachments = ContentMedia.objects.filter(content__post_id__in=post_ids, content__kind=PostContent.Kind.MAIN)
    for post_id, media_id, kind in attachments.order_by("-content_id", "-position").values_list(
        "content__post_id", "media_id", "media__kind"
    ):
        thumbs[post_id] = media_thumb_url_for(media_id, kind)  # the first attachment wins: read last
    return [
        TopPost(
            post_id=row["target__post_id"],
            text=texts.get(row["target__post_id"], "")[:140],
            platform=row["account__platform"],
            username=row["account__username"],
            published_at=row["published_at"],
            url=row["part__url"],
            thumb_url=thumbs.get(row["target__post_id"], ""),
            value=row[metric],
            engagement=row["engagement"],
            metrics={name: row[name] for name in POST_METRIC_FIELDS},
        )
        for row in rows
    ]


@dataclass(frozen=True)
class HeatCell:
    hour: int
    posts: int
    average: float | None  # engagement per post published in that hour
    level: int
    title: str  # what a pointer shows: built here, 168 cells of template filters cost more
    shown: str


def best_times(scope: Scope) -> list[tuple[str, list[HeatCell]]]:
    """Weekday by hour in the workspace's zone: average engagement per post published then."""
    found = _by_hour(scope)
    averages = {key: engagement / posts for key, (posts, engagement) in found.items() if posts}
    best = max(averages.values(), default=0.0)
    grid = []
    for weekday, name in enumerate(WEEKDAYS, start=1):
        cells = []
        for hour in range(24):
            posts, _ = found.get((weekday, hour), (0, 0))
            average = averages.get((weekday, hour))
            at = f"{name} {hour:02d}:00"
            if average is None:
                cells.append(HeatCell(hour, 0, None, 0, f"{at}: no posts", ""))
                continue
            title = f"{at}: {average:.1f} per post, {posts} posts"
            cells.append(HeatCell(hour, posts, round(average, 1), _heat_level(average, best), title, f"{average:.0f}"))
        grid.append((name, cells))
    return grid


def _by_hour(scope: Scope) -> dict[tuple[int, int], tuple[int, int]]:
    """(ISO weekday, hour) -> (main parts published then, their engagement)."""
    if scope.rolled:
        if connection.vendor == "postgresql":
            return _by_hour_summed(scope)
        return fold_hours(cells_in(scope).values_list("day", "hours"))
    rows = (
        parts_in(scope)
        .filter(part__position=0)
        .values(
            weekday=ExtractIsoWeekDay("published_at", tzinfo=scope.zone),
            hour=ExtractHour("published_at", tzinfo=scope.zone),
        )
        .annotate(n_posts=Count("id"), sum_engagement=Sum("engagement"))
    )
    return {(row["weekday"], row["hour"]): (row["n_posts"], row["sum_engagement"] or 0) for row in rows}


def fold_hours(cells: Iterable[tuple[date, dict[str, list[int]]]]) -> dict[tuple[int, int], tuple[int, int]]:
    """The cells' hours summed by weekday and hour, in Python."""
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for day, hours in cells:
        weekday = day.isoweekday()
        for hour, (posts, engagement) in hours.items():
            had = found.get((weekday, int(hour)), (0, 0))
            found[(weekday, int(hour))] = (had[0] + posts, had[1] + engagement)
    return found


# The same sums in PostgreSQL: a year of cells is 168 rows back, not every cell's JSON decoded.
HOURS_SQL = """
SELECT EXTRACT(ISODOW FROM c.day)::int, h.key::int, SUM((h.value->>0)::bigint), SUM((h.value->>1)::bigint)
FROM analytics_dailyrollup c CROSS JOIN LATERAL jsonb_each(c.hours) h
WHERE c.workspace_id = %s AND c.day >= %s AND c.day <= %s {accounts}
GROUP BY 1, 2
"""


def _by_hour_summed(scope: Scope) -> dict[tuple[int, int], tuple[int, int]]:
    params: list[Any] = [scope.workspace.pk, scope.first_day, scope.last_day]
    accounts = ""
    if scope.account_ids is not None:
        accounts = "AND c.account_id = ANY(%s)"
        params.append(list(scope.account_ids))
    with connection.cursor() as cursor:
        cursor.execute(HOURS_SQL.format(accounts=accounts), params)
        return {(weekday, hour): (int(posts), int(engagement)) for weekday, hour, posts, engagement in cursor}


def _heat_level(average: float | None, best: float) -> int:
    if average is None:
        return 0
    return 1 + int((HEAT_LEVELS - 1) * average / best) if best else 1


def followers(scope: Scope) -> list[tuple[str, int | None]]:
    """Followers per day, summed over the accounts, each carried forward from its last snapshot
    (the highest of a day) so a day without a sync does not dip."""
    snapshots = AccountMetricSnapshot.objects.filter(
        workspace=scope.workspace, taken_at__gte=scope.start, taken_at__lt=scope.end, followers__isnull=False
    )
    if scope.account_ids is not None:
        snapshots = snapshots.filter(account_id__in=scope.account_ids)
    rows = (
        snapshots.order_by()
        .values("account_id", day=TruncDate("taken_at", tzinfo=scope.zone))
        .annotate(most=Max("followers"))
    )
    by_day: dict[date, dict[int, int]] = {}
    for row in rows:
        by_day.setdefault(row["day"], {})[row["account_id"]] = row["most"]
    if not by_day:
        return []
    known: dict[int, int] = {}
    series: list[tuple[str, int | None]] = []
    for day in scope.days:
        known.update(by_day.get(day, {}))
        series.append((day.isoformat(), sum(known.values()) if known else None))
    return series


POST_EXPORT_FIELDS = (
    "post_id", "part", "account_id", "platform", "username", "published_at", "url",
    *POST_METRIC_FIELDS, "engagement", "updated_at",
)  # fmt: skip


def post_export_rows(scope: Scope, *, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Every part in the scope with its latest numbers, read in chunks (never all at once)."""
    rows = (
        parts_in(scope)
        .order_by("published_at", "id")
        .values(
            "target__post_id", "part__position", "account_id", "account__platform", "account__username",
            "published_at", "part__url", *POST_METRIC_FIELDS, "engagement", "updated_at",
        )
    )  # fmt: skip
    for row in rows.iterator(chunk_size=chunk_size):
        yield {
            "post_id": row["target__post_id"],
            "part": row["part__position"],
            "account_id": row["account_id"],
            "platform": row["account__platform"],
            "username": row["account__username"],
            "published_at": row["published_at"].astimezone(scope.zone).isoformat(),
            "url": row["part__url"],
            **{name: row[name] for name in POST_METRIC_FIELDS},
            "engagement": row["engagement"],
            "updated_at": row["updated_at"].astimezone(scope.zone).isoformat(),
        }


ACCOUNT_EXPORT_FIELDS = (
    "account_id", "platform", "username", "taken_at", "followers", "following", "posts_count", "views",
)  # fmt: skip


def account_export_rows(scope: Scope, *, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    snapshots = AccountMetricSnapshot.objects.filter(
        workspace=scope.workspace, taken_at__gte=scope.start, taken_at__lt=scope.end
    )
    if scope.account_ids is not None:
        snapshots = snapshots.filter(account_id__in=scope.account_ids)
    rows = snapshots.order_by("account_id", "taken_at", "id").values(
        "account_id", "account__platform", "account__username", "taken_at",
        "followers", "following", "posts_count", "views",
    )  # fmt: skip
    for row in rows.iterator(chunk_size=chunk_size):
        yield {
            "account_id": row["account_id"],
            "platform": row["account__platform"],
            "username": row["account__username"],
            "taken_at": row["taken_at"].astimezone(scope.zone).isoformat(),
            "followers": row["followers"],
            "following": row["following"],
            "posts_count": row["posts_count"],
            "views": row["views"],
        }


@dataclass(frozen=True)
class PartGrowth:
    """One published main part on the post page: its latest numbers and their path since."""

    target_id: int
    latest: PartMetrics | None
    points: list[dict[str, Any]]  # {"at": datetime, "engagement": int, "views": int | None}


def post_growth(post_id: int, workspace: Workspace) -> dict[int, PartGrowth]:
    """Per target of the post (its main part): two queries, snapshots bounded by the schedule."""
    latest = {
        m.target_id: m
        for m in PartMetrics.objects.filter(workspace=workspace, target__post_id=post_id, part__position=0)
    }
    snapshots = (
        PartMetricSnapshot.objects.filter(workspace=workspace, target__post_id=post_id, part__position=0)
        .order_by("target_id", "taken_at")
        .values("target_id", "taken_at", "views", *ENGAGEMENT_FIELDS)
    )
    points: dict[int, list[dict[str, Any]]] = {}
    for row in snapshots:
        engagement = sum(row[name] or 0 for name in ENGAGEMENT_FIELDS)
        points.setdefault(row["target_id"], []).append(
            {"at": row["taken_at"], "engagement": engagement, "views": row["views"]}
        )
    return {
        target_id: PartGrowth(target_id, latest.get(target_id), points.get(target_id, []))
        for target_id in set(latest) | set(points)
    }
