"""Turning what the author typed (a local date and time) into UTC, and finding queue slots."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

from connections.models import SocialAccount

MAX_AHEAD = timedelta(days=5 * 365)


def check_schedulable(when: datetime) -> None:
    """In the future, and not absurdly far: a typo like 2206 should not silently park a post."""
    now = timezone.now()
    if when <= now:
        raise ValidationError("That time has passed. Pick a time in the future, or publish now.")
    if when > now + MAX_AHEAD:
        raise ValidationError("That is more than five years ahead: check the year.")


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time names in ``zone``; refuses times that do not exist (DST gaps)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    try:
        round_trip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        raise ValidationError(f"{day:%Y-%m-%d} is too far away to schedule.") from None
    if round_trip != naive:
        raise ValidationError(
            f"{at:%H:%M} does not exist on {day:%d %b %Y} in {zone.key}: the clocks go forward then. Pick another time."
        )
    # In the repeated hour when clocks go back, fold=0 picks the first of the two, as calendars do.
    return aware.astimezone(ZoneInfo("UTC"))


def next_queue_slot(
    *, accounts: list[SocialAccount], zone: ZoneInfo, after: datetime | None = None, ignore_post: int | None = None
) -> datetime:
    """The next posting slot shared by the chosen accounts' schedules that none of them has taken.

    ``ignore_post`` is a post being moved: the slots it holds now are free for it."""
    from publishing.models import PostingSlot, Target

    after = after or timezone.now()
    slots = list(PostingSlot.objects.filter(account__in=accounts).values_list("weekday", "time").distinct())
    if not slots:
        raise ValidationError("These accounts have no posting slots yet: add some under Posts → Queue slots.")
    taken = set(
        Target.objects.filter(account__in=accounts, due_at__gte=after, due_at__lt=after + timedelta(days=60))
        .exclude(status=Target.Status.CANCELED)
        .exclude(post_id=ignore_post or 0)  # 0: no post has it, so nothing is left out
        .values_list("due_at", flat=True)
    )
    local_start = after.astimezone(zone)
    for day_offset in range(60):
        day = (local_start + timedelta(days=day_offset)).date()
        for weekday, at in sorted(slots, key=lambda slot: slot[1]):
            if weekday != day.weekday():
                continue
            try:
                candidate = local_to_utc(day, at, zone)
            except ValidationError:
                continue  # a slot inside a DST gap is skipped that day
            if candidate > after and candidate not in taken:
                return candidate
    raise ValidationError("The queue is full for the next 60 days: add posting slots or pick a time.")
