"""Read-side helpers for the calendar and list views: few queries and few rows, whatever the
number of posts. A month reads the chips it shows plus a count per day; no view loads account
secrets (decrypting them per row was most of the old month view's time)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, F, OuterRef, Prefetch, QuerySet, Window
from django.db.models.functions import ExtractHour, Left, RowNumber, TruncDate

from accounts.models import Workspace
from connections.registry import platform_choices
from publishing.models import Post, PostContent, Target

CHIPS_PER_DAY = 4  # month view
CHIPS_PER_HOUR = 1  # week view, per day and hour: 168 chips at most, under 100 KB with the grid
CHIP_TEXT = 48  # characters of the main text a chip shows


def posts_for_display(workspace: Workspace) -> QuerySet[Post]:
    main_contents = Prefetch(
        "contents", queryset=PostContent.objects.filter(kind=PostContent.Kind.MAIN), to_attr="main"
    )
    targets = Prefetch(
        "targets",
        queryset=Target.objects.select_related("account")
        .only("id", "post_id", "status", "account_id", "account__platform", "account__username")
        .order_by("id"),
    )
    return Post.objects.filter(workspace=workspace).prefetch_related(main_contents, targets)


def post_status_shown(post: Post, targets: list[Target]) -> tuple[str, str]:
    """The post's status as its targets tell it: a post whose targets are already on their way
    reads "Publishing", not "Scheduled", while the roll-up catches up."""
    on_the_way = {Target.Status.QUEUED, Target.Status.PUBLISHING}
    if post.status == Post.Status.SCHEDULED and any(t.status in on_the_way for t in targets):
        return Post.Status.PUBLISHING.value, Post.Status.PUBLISHING.label
    if post.status == Post.Status.DRAFT and post.approval == Post.Approval.CHANGES_REQUESTED:
        return Post.Approval.CHANGES_REQUESTED.value, Post.Approval.CHANGES_REQUESTED.label
    return post.status, post.get_status_display()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def month_grid(day: date) -> list[list[date]]:
    """Weeks (Monday first) covering the month of ``day``."""
    first = day.replace(day=1)
    start = first - timedelta(days=first.weekday())
    next_month = (first + timedelta(days=32)).replace(day=1)
    weeks: list[list[date]] = []
    cursor = start
    while cursor < next_month or cursor.weekday() != 0:
        if cursor.weekday() == 0:
            weeks.append([])
        weeks[-1].append(cursor)
        cursor += timedelta(days=1)
    return weeks


@dataclass(frozen=True)
class Chip:
    """What a calendar chip shows of a post: plain values, read without building a model per row
    (at 300 chips a week, building Posts, contents, targets and accounts was most of the time)."""

    id: int
    status: str
    status_label: str
    scheduled_at: datetime
    text: str
    platforms: str  # "Bluesky, Mastodon", each network once

    @property
    def movable(self) -> bool:
        return self.status == Post.Status.SCHEDULED


@dataclass(frozen=True)
class CalendarFilter:
    """Only the posts going to this account, or to this platform (either, both or neither)."""

    account_id: int | None = None
    platform: str = ""

    def apply(self, posts: QuerySet[Post]) -> QuerySet[Post]:
        targets = Target.objects.filter(post=OuterRef("pk"))
        if self.account_id is not None:
            targets = targets.filter(account_id=self.account_id)
        if self.platform:
            targets = targets.filter(account__platform=self.platform)
        if self.account_id is None and not self.platform:
            return posts
        return posts.filter(Exists(targets))


def _chips(rows: list[dict[str, Any]]) -> dict[int, Chip]:
    """Chips for the chosen rows: one query for their texts, one for their networks."""
    ids = [row["id"] for row in rows]
    texts = dict(
        PostContent.objects.filter(post_id__in=ids, kind=PostContent.Kind.MAIN)
        .order_by()
        .values_list("post_id", Left("text", CHIP_TEXT + 1))
    )
    platforms: dict[int, list[str]] = {}
    for post_id, platform in (
        Target.objects.filter(post_id__in=ids).order_by("id").values_list("post_id", "account__platform")
    ):
        names = platforms.setdefault(post_id, [])
        if platform not in names:
            names.append(platform)
    labels = dict(platform_choices())
    status_labels = dict(Post.Status.choices)
    return {
        row["id"]: Chip(
            id=row["id"],
            status=row["status"],
            status_label=status_labels.get(row["status"], row["status"]),
            scheduled_at=row["scheduled_at"],
            text=texts.get(row["id"], ""),
            platforms=", ".join(labels.get(p, p) for p in platforms.get(row["id"], [])),
        )
        for row in rows
    }


def _ranked(
    workspace: Workspace, first: date, last: date, zone: ZoneInfo, only: CalendarFilter, partition: list[Any], cap: int
) -> list[dict[str, Any]]:
    """The first ``cap`` posts of each partition (a local day, or a day and hour) and each
    partition's total, in one query."""
    posts = only.apply(
        Post.objects.filter(
            workspace=workspace,
            scheduled_at__gte=local_midnight(first, zone),
            scheduled_at__lt=local_midnight(last + timedelta(days=1), zone),
        )
    )
    ranked = (
        posts.annotate(
            local_day=TruncDate("scheduled_at", tzinfo=zone),
            local_hour=ExtractHour("scheduled_at", tzinfo=zone),
            rank=Window(RowNumber(), partition_by=partition, order_by=[F("scheduled_at").asc(), F("id").asc()]),
            total=Window(Count("id"), partition_by=partition),
        )
        .filter(rank__lte=cap)
        .order_by("scheduled_at", "id")
        .values("id", "status", "scheduled_at", "local_day", "local_hour", "total")
    )
    return list(ranked)


def posts_by_local_day(
    workspace: Workspace,
    first: date,
    last: date,
    *,
    zone: ZoneInfo,
    only: CalendarFilter = CalendarFilter(),
    per_day: int = CHIPS_PER_DAY,
) -> dict[date, tuple[list[Chip], int]]:
    """Per local day: its first ``per_day`` posts and how many it has in all (three queries)."""
    rows = _ranked(workspace, first, last, zone, only, [TruncDate("scheduled_at", tzinfo=zone)], per_day)
    chips = _chips(rows)
    grouped: dict[date, tuple[list[Chip], int]] = {}
    for row in rows:
        grouped.setdefault(row["local_day"], ([], row["total"]))[0].append(chips[row["id"]])
    return grouped


def posts_by_local_hour(
    workspace: Workspace,
    first: date,
    last: date,
    *,
    zone: ZoneInfo,
    only: CalendarFilter = CalendarFilter(),
    per_slot: int = CHIPS_PER_HOUR,
) -> dict[tuple[date, int], tuple[list[Chip], int]]:
    """Per (local day, hour): its first ``per_slot`` posts and how many it has in all."""
    partition = [TruncDate("scheduled_at", tzinfo=zone), ExtractHour("scheduled_at", tzinfo=zone)]
    rows = _ranked(workspace, first, last, zone, only, partition, per_slot)
    chips = _chips(rows)
    grouped: dict[tuple[date, int], tuple[list[Chip], int]] = {}
    for row in rows:
        grouped.setdefault((row["local_day"], row["local_hour"]), ([], row["total"]))[0].append(chips[row["id"]])
    return grouped


HOUR_MORE = 30  # week view: chips one "+N more" loads; beyond that the slot links to the list


def posts_in_local_hour(
    workspace: Workspace,
    day: date,
    hour: int,
    *,
    zone: ZoneInfo,
    only: CalendarFilter = CalendarFilter(),
    skip: int = CHIPS_PER_HOUR,
    limit: int = HOUR_MORE,
) -> tuple[list[Chip], int]:
    """One week slot's posts after the first ``skip`` (those the grid already shows), at most
    ``limit``, and how many the hour has in all: three queries, ``limit`` rows."""
    posts = only.apply(
        Post.objects.filter(
            workspace=workspace,
            scheduled_at__gte=local_midnight(day, zone),
            scheduled_at__lt=local_midnight(day + timedelta(days=1), zone),
        )
    )
    rows = list(
        posts.annotate(local_hour=ExtractHour("scheduled_at", tzinfo=zone))
        .filter(local_hour=hour)
        .annotate(total=Window(Count("id")))  # over the hour's rows, before the page is cut
        .order_by("scheduled_at", "id")
        .values("id", "status", "scheduled_at", "total")[skip : skip + limit]
    )
    chips = _chips(rows)
    return [chips[row["id"]] for row in rows], rows[0]["total"] if rows else 0
