"""The analytics sync engine: schedule, claims, pacing shared with publishing, "not yet",
no duplicate snapshots, pausing on reconnect, and the command that runs it."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics import schedule, sync
from analytics.models import AccountMetricSnapshot, MetricSync, PartMetrics, PartMetricSnapshot
from connections.models import SocialAccount
from connections.providers.demo.provider import DemoProvider
from connections.registry import get_provider
from publishing import engine
from publishing.models import RateBudget, Target, TargetPart
from publishing.pacing import budget_keys, pace_reserve, pace_reserve_spare
from publishing.services import PartInput, PostInput, When, post_create

K = MetricSync.Kind
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def publish(team, account, texts, django_capture_on_commit_callbacks) -> list[TargetPart]:
    """Demo posts published through the engine, so their parts land and their events are written."""
    for text in texts:
        post_create(
            actor=team.membership("editor"),
            data=PostInput(parts=[PartInput(text=text)], account_ids=[account.id], when=When.now()),
        )
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    parts = list(TargetPart.objects.filter(target__account=account, status="published").order_by("id"))
    assert len(parts) == len(texts)
    return parts


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def published(team, demo_accounts, clock, django_capture_on_commit_callbacks):
    return publish(team, demo_accounts[0], ["one", "two"], django_capture_on_commit_callbacks)


# --- The schedule -------------------------------------------------------------------------------


def test_the_schedule_decays_and_then_repeats_monthly(settings):
    settings.ANALYTICS_SCHEDULE, settings.ANALYTICS_REPEAT = "1h,6h,24h,3d,7d,30d", "30d"
    hours = [(schedule.step_due(T0, step) - T0) / timedelta(hours=1) for step in range(8)]
    assert hours == [1, 6, 24, 72, 168, 720, 1440, 2160]


def test_steps_missed_while_away_are_skipped_not_run_one_after_another(settings):
    settings.ANALYTICS_SCHEDULE, settings.ANALYTICS_REPEAT = "1h,6h,24h,3d,7d,30d", "30d"
    assert schedule.next_step(T0, 0, T0 + timedelta(hours=1)) == (1, T0 + timedelta(hours=6))
    assert schedule.next_step(T0, 0, T0 + timedelta(days=2)) == (3, T0 + timedelta(days=3))
    # A year later: straight to the next monthly read ahead.
    step, due = schedule.next_step(T0, 1, T0 + timedelta(days=365))
    assert due > T0 + timedelta(days=365)
    assert due - (T0 + timedelta(days=365)) <= timedelta(days=30)
    assert schedule.step_due(T0, step) == due


def test_a_bad_schedule_setting_fails_the_system_check(settings):
    from analytics.apps import schedule_settings_check

    settings.ANALYTICS_SCHEDULE = "1h,soon"
    assert [error.id for error in schedule_settings_check()] == ["analytics.E001"]
    settings.ANALYTICS_SCHEDULE = "6h,1h"
    assert "increasing" in schedule_settings_check()[0].msg


# --- Rows appear for what is published --------------------------------------------------------


def test_a_published_part_gets_a_sync_due_one_step_after_it_landed(published, demo_accounts):
    done = sync.housekeeping()
    assert done["accounts"] == 2  # both connected Demo accounts: their daily totals
    rows = MetricSync.objects.filter(kind=K.PART).order_by("part_id")
    assert [row.part_id for row in rows] == [part.id for part in published]
    assert {row.due_at for row in rows} == {T0 + timedelta(hours=1)}
    assert {row.account_id for row in rows} == {demo_accounts[0].id}
    sync.housekeeping()  # read again: no second row
    assert MetricSync.objects.filter(kind=K.PART).count() == 2


def test_parts_published_before_analytics_ran_are_backfilled(published):
    MetricSync.objects.all().delete()
    assert sync.part_syncs_backfill() == 2
    assert sync.part_syncs_backfill() == 0


# --- Reading and storing ----------------------------------------------------------------------


def test_a_due_sync_stores_the_numbers_and_moves_to_the_next_step(published, clock):
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=1, minutes=1), tick=False)
    result = sync.syncs_run()
    # Two parts in one call, and each connected account's totals in one call each.
    assert (result.synced, result.snapshots, result.calls) == (4, 4, 3)
    latest = PartMetrics.objects.get(part=published[0])
    assert latest.views
    assert latest.views > 0
    assert latest.likes is not None
    assert latest.engagement == sum(getattr(latest, f) or 0 for f in ("likes", "reposts", "replies", "quotes", "saves"))
    assert latest.published_at == published[0].landed_at
    row = MetricSync.objects.get(part=published[0])
    assert (row.step, row.due_at, row.claimed_by) == (1, T0 + timedelta(hours=6), "")
    assert AccountMetricSnapshot.objects.get(account=published[0].target.account_id).followers > 0


def test_numbers_that_did_not_change_write_no_second_snapshot(published, clock):
    sync.housekeeping()
    clock.move_to(T0 + timedelta(days=60), tick=False)  # long levelled off: the numbers stay put
    sync.syncs_run()
    first = PartMetrics.objects.get(part=published[0])
    MetricSync.objects.update(due_at=timezone.now())
    clock.move_to(T0 + timedelta(days=60, seconds=5), tick=False)
    result = sync.syncs_run()
    assert result.synced == 4
    assert result.snapshots == 0
    assert PartMetricSnapshot.objects.filter(part=published[0]).count() == 1
    assert AccountMetricSnapshot.objects.count() == 2  # one per account
    assert PartMetrics.objects.get(part=published[0]).updated_at == first.updated_at  # nothing to write


def test_growing_numbers_write_a_snapshot_each_read(published, clock):
    sync.housekeeping()
    for hours in (1, 6, 24):
        clock.move_to(T0 + timedelta(hours=hours, seconds=1), tick=False)
        sync.syncs_run()
    views = list(PartMetricSnapshot.objects.filter(part=published[0]).values_list("views", flat=True))
    assert len(views) == 3
    assert views == sorted(views)
    assert views[0] < views[-1]
    assert PartMetrics.objects.get(part=published[0]).views == views[-1]


# --- Claims -----------------------------------------------------------------------------------


def test_two_workers_never_claim_the_same_row(published, clock):
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    first = sync.syncs_claim(limit=2)
    second = sync.syncs_claim(limit=10)
    assert len(first) == 2
    assert len(second) == 2
    assert not {row.id for row in first} & {row.id for row in second}
    assert sync.syncs_claim() == []


def test_a_crashed_workers_claim_is_taken_again_when_its_lease_runs_out(published, clock, settings):
    settings.ANALYTICS_CLAIM_LEASE_SECONDS = 60
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    crashed = sync.syncs_claim()  # ...and this worker dies without a word
    assert len(crashed) == 4
    clock.move_to(T0 + timedelta(hours=2, seconds=30), tick=False)
    assert sync.syncs_claim() == []  # still leased
    clock.move_to(T0 + timedelta(hours=2, seconds=61), tick=False)
    assert sync.syncs_run().synced == 4
    # The dead worker's late write cannot undo it: its token no longer holds the rows.
    assert not MetricSync.objects.filter(claimed_by=crashed[0].claimed_by).exists()


# --- Pacing shared with publishing -------------------------------------------------------------


@pytest.fixture
def paced(monkeypatch):
    monkeypatch.setattr(DemoProvider, "account_calls_per_minute", 60)  # one call a second per account


def test_analytics_takes_only_idle_budget_and_never_delays_a_due_post(demo_accounts, paced, clock):
    keys = budget_keys(get_provider("demo"), demo_accounts[0])
    assert pace_reserve_spare(keys, reserve=0.2) is None  # an idle budget lends a slot...
    assert pace_reserve(keys) is None  # ...and a post due now still goes at once
    come_back = pace_reserve_spare(keys, reserve=0.2)  # publishing just used it: analytics waits
    assert come_back is not None
    assert come_back > timezone.now()


def test_analytics_stops_at_the_reserve(demo_accounts, paced, clock):
    keys = budget_keys(get_provider("demo"), demo_accounts[0])
    assert pace_reserve_spare(keys, reserve=0.5) is None
    # At most half the pace: the next background slot is two intervals on, not one.
    come_back = pace_reserve_spare(keys, reserve=0.5)
    assert come_back == timezone.now() + timedelta(seconds=2)
    clock.move_to(T0 + timedelta(seconds=1), tick=False)
    assert pace_reserve_spare(keys, reserve=0.5) is not None  # a publishing pace's worth is not enough
    clock.move_to(T0 + timedelta(seconds=2), tick=False)
    assert pace_reserve_spare(keys, reserve=0.5) is None


def test_syncs_wait_when_publishing_holds_the_budget(published, paced, clock, monkeypatch):
    monkeypatch.setattr(DemoProvider, "metrics_batch_size", 1)
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    result = sync.syncs_run()
    # Each account's first call (its totals) had the budget's spare time; the first account's two
    # parts wait for more, with no attempt spent.
    assert result.calls == 2
    assert result.deferred == 2
    waiting = MetricSync.objects.exclude(last_synced_at__isnull=False)
    assert waiting.count() == 2
    assert {row.attempts for row in waiting} == {0}
    assert all(row.due_at > timezone.now() and row.claimed_by == "" for row in waiting)
    key = budget_keys(get_provider("demo"), SocialAccount.objects.get(pk=published[0].target.account_id))[0][0]
    assert RateBudget.objects.get(key=key).next_at <= timezone.now()  # a post due now would go at once


# --- "Not yet", failures and reconnects ---------------------------------------------------------


def test_a_post_the_platform_has_no_numbers_for_yet_is_asked_again_not_stored_as_zero(published, clock, settings):
    settings.ANALYTICS_NOT_YET_TRIES = 3
    sync.housekeeping()
    from connections.providers.demo.models import DemoPost

    DemoPost.objects.filter(post_id=published[1].platform_post_id).delete()  # the platform has none for it
    clock.move_to(T0 + timedelta(hours=1, seconds=1), tick=False)
    result = sync.syncs_run()
    assert result.not_yet == 1
    assert not PartMetrics.objects.filter(part=published[1]).exists()
    assert not PartMetricSnapshot.objects.filter(part=published[1]).exists()
    row = MetricSync.objects.get(part=published[1])
    assert (row.step, row.attempts, row.last_error) == (0, 1, sync.NOT_YET)
    assert timezone.now() < row.due_at < T0 + timedelta(hours=6)
    for _ in range(2):  # asked again until ANALYTICS_NOT_YET_TRIES, then the schedule moves on
        clock.move_to(MetricSync.objects.get(part=published[1]).due_at, tick=False)
        sync.syncs_run()
    row.refresh_from_db()
    assert row.step >= 1
    assert row.attempts == 0
    assert row.last_error == sync.NOT_YET


def test_an_account_needing_reconnect_pauses_its_syncs_and_resumes_after(published, demo_accounts, clock):
    sync.housekeeping()
    account = demo_accounts[0]
    SocialAccount.objects.filter(pk=account.pk).update(status=SocialAccount.Status.NEEDS_RECONNECT)
    assert sync.syncs_pause_and_resume()[0] == 3
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    assert {row.account_id for row in sync.syncs_claim()} == {demo_accounts[1].id}  # only the other's
    assert set(MetricSync.objects.filter(account=account).values_list("last_error", flat=True)) == {
        sync.NEEDS_RECONNECT
    }
    SocialAccount.objects.filter(pk=account.pk).update(status=SocialAccount.Status.ACTIVE)
    assert sync.syncs_pause_and_resume()[1] == 3
    assert sync.syncs_run().synced == 3


def test_a_failed_call_is_recorded_with_its_reason_and_retried_later(published, clock, monkeypatch):
    from connections.errors import ErrorClass, ProviderError

    def down(self, **kwargs):
        raise ProviderError(ErrorClass.TRANSIENT, "Demo network is having a moment.", status=503)

    monkeypatch.setattr(DemoProvider, "fetch_metrics", down)
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    result = sync.syncs_run()
    assert result.failed == 2
    assert "having a moment" in next(iter(result.errors.values()))
    rows = MetricSync.objects.filter(kind=K.PART)
    assert {row.attempts for row in rows} == {1}
    assert all("TRANSIENT" in row.last_error.upper() and row.due_at > timezone.now() for row in rows)
    assert not PartMetrics.objects.exists()


def test_an_unexpected_error_is_recorded_and_the_other_accounts_go_on(published, clock, monkeypatch, caplog):
    def broken(self, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(DemoProvider, "fetch_metrics", broken)
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    result = sync.syncs_run()
    assert result.failed == 2  # the first account's parts, after its totals were stored
    assert result.synced == 2  # both accounts' totals
    rows = MetricSync.objects.filter(kind=K.PART)
    assert {row.last_error for row in rows} == {"Unexpected error: RuntimeError"}
    assert {row.claimed_by for row in rows} == {""}
    assert MetricSync.objects.filter(kind=K.ACCOUNT, last_error="").count() == 2


def test_a_part_deleted_from_the_platform_stops_syncing_and_keeps_its_history(published, clock):
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=1, seconds=1), tick=False)
    sync.syncs_run()
    TargetPart.objects.filter(pk=published[0].pk).update(removed_at=timezone.now())
    clock.move_to(T0 + timedelta(hours=6, seconds=1), tick=False)
    sync.syncs_run()
    assert not MetricSync.objects.filter(part=published[0]).exists()
    assert PartMetrics.objects.filter(part=published[0]).exists()
    assert PartMetricSnapshot.objects.filter(part=published[0]).count() == 1


# --- The command --------------------------------------------------------------------------------


def test_analytics_sync_once_prints_its_progress(published, clock):
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    out = io.StringIO()
    call_command("analytics_sync", "--once", stdout=out)
    text = out.getvalue()
    assert "housekeeping" in text
    assert "claimed 4: 4 synced (4 changed)" in text
    assert PartMetrics.objects.count() == 2


def test_analytics_sync_has_help():
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("analytics_sync", "--help", stdout=out)


def test_runstack_starts_the_analytics_sync():
    from accounts.management.commands import runstack

    assert "analytics_sync" in runstack.__doc__ + str(runstack.Command.handle.__code__.co_consts)


def test_an_unmetered_platform_gets_no_sync_rows(team, clock):
    target = Target.objects.filter(account__platform="none")
    assert sync.part_syncs_create(TargetPart.objects.filter(target__in=target)) == 0


@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_the_same_moment_on_postgresql_share_the_rows_out(seeded_plans, team, demo_accounts):
    import threading

    from django.db import connection, connections

    from tests.analytics.test_providers import published_parts

    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) are PostgreSQL's; the claim token covers SQLite")
    parts = published_parts(demo_accounts[0], [f"p{i}" for i in range(100)])
    sync.part_syncs_create(TargetPart.objects.filter(id__in=[p.id for p in parts]).select_related("target__account"))
    start, claims = threading.Barrier(2), []

    def worker() -> None:
        try:
            start.wait()
            claims.append({row.id for row in sync.syncs_claim(limit=60)})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not claims[0] & claims[1]
    assert len(claims[0] | claims[1]) == 100
