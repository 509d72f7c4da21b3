"""Old snapshots are thinned, never all removed: one a day after ANALYTICS_KEEP_ALL_DAYS, one a
week after ANALYTICS_KEEP_DAILY_DAYS, and the latest always stays."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from analytics.models import AccountMetricSnapshot, PartMetricSnapshot
from analytics.thinning import snapshots_thin
from tests.analytics.test_providers import published_parts

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def part(demo_accounts):
    (part,) = published_parts(demo_accounts[0], ["p1"])
    return part


def snapshot(part, taken_at: datetime, likes: int) -> PartMetricSnapshot:
    target = part.target
    return PartMetricSnapshot.objects.create(workspace_id=target.workspace_id, account_id=target.account_id,
                                             target=target, part=part, taken_at=taken_at, likes=likes)  # fmt: skip


def test_recent_snapshots_are_all_kept_older_ones_one_a_day_then_one_a_week(part, settings):
    settings.ANALYTICS_KEEP_ALL_DAYS, settings.ANALYTICS_KEEP_DAILY_DAYS = 30, 365
    recent = [snapshot(part, NOW - timedelta(days=1, hours=h), h) for h in range(4)]
    # 40 days ago, four in one day: the day's last stays.
    day = [snapshot(part, datetime(2027, 4, 22, h, tzinfo=UTC), 10 + h) for h in (1, 5, 9, 20)]
    # Over a year ago, one a day for a week (Monday to Sunday of one ISO week): the week's last stays.
    week = [snapshot(part, datetime(2026, 3, 2, 8, tzinfo=UTC) + timedelta(days=d), 100 + d) for d in range(7)]
    removed = snapshots_thin(now=NOW)
    kept = set(PartMetricSnapshot.objects.values_list("id", flat=True))
    assert kept == {s.id for s in recent} | {day[-1].id, week[-1].id}
    assert removed == 3 + 6
    assert snapshots_thin(now=NOW) == 0  # thinning again changes nothing


def test_the_latest_snapshot_is_never_removed(part, settings):
    settings.ANALYTICS_KEEP_ALL_DAYS = 30
    only = snapshot(part, NOW - timedelta(days=400), 7)
    assert snapshots_thin(now=NOW) == 0
    assert PartMetricSnapshot.objects.get().id == only.id


def test_account_snapshots_are_thinned_too(demo_accounts, settings):
    settings.ANALYTICS_KEEP_ALL_DAYS = 30
    account = demo_accounts[0]
    for hour in range(3):
        AccountMetricSnapshot.objects.create(workspace=account.workspace, account=account, followers=hour,
                                             taken_at=datetime(2027, 3, 1, hour, tzinfo=UTC))  # fmt: skip
    snapshots_thin(now=NOW)
    assert list(AccountMetricSnapshot.objects.values_list("followers", flat=True)) == [2]


def test_thinning_runs_from_its_command_and_from_retention(part, settings):
    settings.ANALYTICS_KEEP_ALL_DAYS = 1
    from django.utils import timezone

    for hour in range(3):
        snapshot(part, timezone.now() - timedelta(days=5) + timedelta(minutes=hour), hour)
    out = io.StringIO()
    call_command("analytics_thin", stdout=out)
    assert "2 snapshot(s) thinned" in out.getvalue()
    out = io.StringIO()
    call_command("retention", stdout=out)
    assert "Old metric snapshots" in out.getvalue()
