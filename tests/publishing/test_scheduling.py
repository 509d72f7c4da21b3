from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from publishing.models import PostingSlot, Target
from publishing.scheduling import local_to_utc, next_queue_slot

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")


def test_summer_and_winter_offsets():
    assert local_to_utc(date(2026, 7, 1), time(9, 0), PARIS) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert local_to_utc(date(2026, 12, 1), time(9, 0), PARIS) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_time_in_the_spring_gap_is_refused():
    with pytest.raises(ValidationError, match="does not exist"):
        local_to_utc(date(2026, 3, 29), time(2, 30), PARIS)


def test_repeated_autumn_hour_takes_the_first():
    assert local_to_utc(date(2026, 10, 25), time(2, 30), PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_queue_takes_the_next_free_slot(team, demo_accounts):
    account = demo_accounts[0]
    PostingSlot.objects.create(account=account, weekday=0, time=time(9, 0))  # Mondays 09:00
    PostingSlot.objects.create(account=account, weekday=2, time=time(18, 0))  # Wednesdays 18:00
    after = datetime(2026, 3, 23, 12, 0, tzinfo=UTC)  # a Monday, after 09:00 Paris
    first = next_queue_slot(accounts=[account], zone=PARIS, after=after)
    assert first == datetime(2026, 3, 25, 17, 0, tzinfo=UTC)  # Wednesday 18:00 CET
    from publishing.models import Post

    post = Post.objects.create(workspace=team.workspace)
    Target.objects.create(workspace=team.workspace, post=post, account=account, due_at=first, status="scheduled")
    second = next_queue_slot(accounts=[account], zone=PARIS, after=after)
    assert second == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Monday 09:00, now CEST after the change


def test_queue_without_slots_says_what_to_do(demo_accounts):
    with pytest.raises(ValidationError, match="no posting slots"):
        next_queue_slot(accounts=demo_accounts, zone=PARIS)
