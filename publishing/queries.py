"""Read-side helpers for the calendar and list views: few queries and few rows, whatever the
number of posts. A month reads the chips it shows plus a count per day; no view loads account
secrets (decrypting them per row was most of the old month view's time)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Prefetch, QuerySet, Window
from django.db.models.functions import ExtractHour, RowNumber, TruncDate

from accounts.models import Workspace
from publishing.models import Post, PostContent, Target

CHIPS_PER_DAY = 4  # month view
CHIPS_PER_HOUR = 2  # week view, per day and hour


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


def _in_range(workspace: Workspace, first: date, last: date, zone: ZoneInfo) -> QuerySet[Post]:
    return posts_for_display(workspace).filter(
        scheduled_at__gte=local_midnight(first, zone),
        scheduled_at__lt=local_midnight(last + timedelta(days=1), zone),
    )


def posts_by_local_day(
    workspace: Workspace, first: date, last: date, *, zone: ZoneInfo, per_day: int = CHIPS_PER_DAY
) -> dict[date, tuple[list[Post], int]]:
    """Per local day: its first ``per_day`` posts and how many it has in all (one query, plus
    one each for the chips' texts and targets)."""
    day = TruncDate("scheduled_at", tzinfo=zone)
    posts = (
        _in_range(workspace, first, last, zone)
        .annotate(
            local_day=day,
            rank=Window(RowNumber(), partition_by=[day], order_by=[F("scheduled_at").asc(), F("id").asc()]),
            day_total=Window(Count("id"), partition_by=[day]),
        )
        .filter(rank__lte=per_day)
        .order_by("scheduled_at", "id")
    )
    grouped: dict[date, tuple[list[Post], int]] = {}
    for post in posts:
        grouped.setdefault(post.local_day, ([], post.day_total))[0].append(post)
    return grouped


def posts_by_local_hour(
    workspace: Workspace, first: date, last: date, *, zone: ZoneInfo, per_slot: int = CHIPS_PER_HOUR
) -> dict[tuple[date, int], tuple[list[Post], int]]:
    """Per (local day, hour): its first ``per_slot`` posts and how many it has in all."""
    day = TruncDate("scheduled_at", tzinfo=zone)
    hour = ExtractHour("scheduled_at", tzinfo=zone)
    posts = (
        _in_range(workspace, first, last, zone)
        .annotate(
            local_day=day,
            local_hour=hour,
            rank=Window(RowNumber(), partition_by=[day, hour], order_by=[F("scheduled_at").asc(), F("id").asc()]),
            slot_total=Window(Count("id"), partition_by=[day, hour]),
        )
        .filter(rank__lte=per_slot)
        .order_by("scheduled_at", "id")
    )
    grouped: dict[tuple[date, int], tuple[list[Post], int]] = {}
    for post in posts:
        grouped.setdefault((post.local_day, post.local_hour), ([], post.slot_total))[0].append(post)
    return grouped
