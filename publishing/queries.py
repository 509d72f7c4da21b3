"""Read-side helpers for the calendar and list views: few queries, whatever the number of posts."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from accounts.models import Workspace
from publishing.models import Post, PostContent, Target


def posts_for_display(workspace: Workspace) -> QuerySet[Post]:
    main_contents = Prefetch(
        "contents", queryset=PostContent.objects.filter(kind=PostContent.Kind.MAIN), to_attr="main"
    )
    targets = Prefetch("targets", queryset=Target.objects.select_related("account").order_by("id"))
    return Post.objects.filter(workspace=workspace).prefetch_related(main_contents, targets)


def post_status_shown(post: Post, targets: list[Target]) -> tuple[str, str]:
    """The post's status as its targets tell it: a post whose targets are already on their way
    reads "Publishing", not "Scheduled", while the roll-up catches up."""
    on_the_way = {Target.Status.QUEUED, Target.Status.PUBLISHING}
    if post.status == Post.Status.SCHEDULED and any(t.status in on_the_way for t in targets):
        return Post.Status.PUBLISHING.value, Post.Status.PUBLISHING.label
    return post.status, post.get_status_display()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def month_grid(day: date) -> list[list[date]]:
    """Weeks (Monday first) covering the month of ``day``."""
    first = day.replace(day=1)
    start = first - timedelta(days=first.weekday())
    next_month = (first + timedelta(days=32)).replace(day=1)
    weeks, cursor = [], start
    while cursor < next_month or cursor.weekday() != 0:
        if cursor.weekday() == 0:
            weeks.append([])
        weeks[-1].append(cursor)
        cursor += timedelta(days=1)
    return weeks


def posts_by_local_day(workspace: Workspace, first: date, last: date, *, zone: ZoneInfo) -> dict[date, list[Post]]:
    posts = (
        posts_for_display(workspace)
        .filter(
            scheduled_at__gte=local_midnight(first, zone),
            scheduled_at__lt=local_midnight(last + timedelta(days=1), zone),
        )
        .order_by("scheduled_at")
    )
    grouped: dict[date, list[Post]] = {}
    for post in posts:
        grouped.setdefault(post.scheduled_at.astimezone(zone).date(), []).append(post)
    return grouped
