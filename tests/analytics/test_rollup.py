"""The day cells behind the Analytics page (analytics/rollup.py): always what a recomputation
from PartMetrics gives, through sync growth, retried syncs, deletion, imports, moved parts and a
changed zone; and a page whose queries do not grow with the posts."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import workspace_update
from analytics import queries, rollup, sync
from analytics.imports import import_run, import_start
from analytics.models import DailyRollup, MetricSync, PartMetrics, RollupState
from publishing import engine
from publishing.models import Post, PostContent, Target, TargetPart
from publishing.services import PartInput, PostInput, When, post_create, post_delete
from tests.analytics.factories import published_post

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def publish(team, account, texts, capture) -> list[TargetPart]:
    """Demo posts published through the engine, so their parts land as in production."""
    for text in texts:
        post_create(
            actor=team.membership("editor"),
            data=PostInput(parts=[PartInput(text=text)], account_ids=[account.id], when=When.now()),
        )
    with capture(execute=True):
        engine.targets_claim_due()
    return list(TargetPart.objects.filter(target__account=account, status="published").order_by("id"))


def cells(workspace) -> dict:
    return {(c.account_id, c.day): c for c in DailyRollup.objects.filter(workspace=workspace)}


def stored_engagement(workspace) -> int:
    """The sum the page must show, read from the parts themselves (not from the cells)."""
    return PartMetrics.objects.filter(workspace=workspace).aggregate(n=Sum("engagement"))["n"] or 0


def cell_engagement(workspace) -> int:
    return DailyRollup.objects.filter(workspace=workspace).aggregate(n=Sum("engagement"))["n"] or 0


def scope(workspace, first, last, zone=None) -> queries.Scope:
    return queries.Scope(workspace, zone or workspace.tzinfo, first, last)


def scanned(s: queries.Scope) -> queries.Scope:
    """The same scope forced to read PartMetrics, as the page did before the cells."""
    s.__dict__["rolled"] = False
    return s


# --- Kept by the sync --------------------------------------------------------------------------


def test_growing_numbers_replace_themselves_in_the_cells_never_add_up(team, demo_accounts, clock,
                                                                     django_capture_on_commit_callbacks):  # fmt: skip
    parts = publish(team, demo_accounts[0], ["one", "two", "three"], django_capture_on_commit_callbacks)
    assert len(parts) == 3
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=1, minutes=1), tick=False)
    assert sync.syncs_run().synced >= 3
    first = stored_engagement(team.workspace)
    assert first > 0
    assert cell_engagement(team.workspace) == first
    clock.move_to(T0 + timedelta(hours=6, minutes=1), tick=False)  # the Demo numbers grow
    sync.syncs_run()
    grown = stored_engagement(team.workspace)
    assert grown > first
    assert cell_engagement(team.workspace) == grown  # the new numbers, not first + grown
    (cell,) = cells(team.workspace).values()
    assert cell.posts == 3
    assert cell.day == T0.astimezone(team.workspace.tzinfo).date()
    assert cell.views == PartMetrics.objects.aggregate(n=Sum("views"))["n"]
    assert cell.hours == {"10": [3, grown]}  # 09:00 UTC is 10:00 in Paris
    assert rollup.differences(team.workspace.pk) == []


def test_a_retried_sync_batch_leaves_the_cells_as_a_recomputation(team, demo_accounts, clock, settings,
                                                                  django_capture_on_commit_callbacks):  # fmt: skip
    settings.ANALYTICS_CLAIM_LEASE_SECONDS = 60
    publish(team, demo_accounts[0], ["one", "two"], django_capture_on_commit_callbacks)
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    sync.syncs_run()
    before = {key: (c.posts, c.engagement, c.views) for key, c in cells(team.workspace).items()}
    # The same numbers stored again (a worker that wrote, then died before it released its rows).
    MetricSync.objects.update(due_at=timezone.now(), step=0)
    PartMetrics.objects.update(likes=None)  # forces the retried write past "nothing changed"
    clock.move_to(T0 + timedelta(hours=2, seconds=1), tick=False)
    sync.syncs_run()
    after = {key: (c.posts, c.engagement, c.views) for key, c in cells(team.workspace).items()}
    assert after == before
    assert rollup.differences(team.workspace.pk) == []


def test_imported_posts_and_their_first_numbers_are_in_the_cells(team, demo_accounts, settings,
                                                                 django_capture_on_commit_callbacks):  # fmt: skip
    settings.DEMO_PAST_POSTS = 25
    with django_capture_on_commit_callbacks(execute=False):
        run = import_start(actor=team.membership("admin"), account=demo_accounts[0])
    for _ in range(5):
        import_run(run_id=run.pk, pages=1)
    sync.housekeeping()
    MetricSync.objects.update(due_at=timezone.now())
    sync.syncs_run(limit=100)
    imported = PartMetrics.objects.filter(workspace=team.workspace, target__post__origin=Post.Origin.IMPORTED)
    assert imported.count() == 25
    assert sum(c.posts for c in cells(team.workspace).values()) == 25
    assert cell_engagement(team.workspace) == stored_engagement(team.workspace) > 0
    assert rollup.differences(team.workspace.pk) == []


# --- Kept by ORM writes: saves, deletions, cascades -------------------------------------------


def test_deleting_a_post_takes_its_numbers_out_of_its_day(team, demo_accounts, clock,
                                                          django_capture_on_commit_callbacks):  # fmt: skip
    parts = publish(team, demo_accounts[0], ["keep", "delete"], django_capture_on_commit_callbacks)
    sync.housekeeping()
    clock.move_to(T0 + timedelta(hours=1, minutes=1), tick=False)
    sync.syncs_run()
    gone = PartMetrics.objects.get(part=parts[1])
    kept = PartMetrics.objects.get(part=parts[0])
    post = gone.target.post
    outcome = post_delete(actor=team.membership("editor"), post=post)
    assert outcome.deleted
    (cell,) = cells(team.workspace).values()
    assert (cell.posts, cell.engagement, cell.views) == (1, kept.engagement, kept.views)
    post_delete(actor=team.membership("editor"), post=kept.target.post)
    assert cells(team.workspace) == {}
    assert rollup.differences(team.workspace.pk) == []


def test_a_part_moved_to_another_day_leaves_the_old_one(team, demo_accounts):
    metrics = published_post(team.workspace, demo_accounts[0], datetime(2026, 3, 1, 12, tzinfo=UTC), likes=4)
    metrics.published_at = datetime(2026, 3, 3, 12, tzinfo=UTC)
    metrics.likes, metrics.engagement = 6, 6
    metrics.save()
    account = demo_accounts[0].pk
    found = {day.isoformat(): c.engagement for (a, day), c in cells(team.workspace).items() if a == account}
    assert found == {"2026-03-03": 6}
    assert rollup.differences(team.workspace.pk) == []


def test_deleting_every_post_then_the_workspace_empties_and_drops_its_cells(team, demo_accounts):
    alpha, beta = demo_accounts
    for day in range(1, 6):
        published_post(team.workspace, alpha, datetime(2026, 3, day, 12, tzinfo=UTC), likes=4)
    kept = published_post(team.workspace, beta, datetime(2026, 3, 1, 12, tzinfo=UTC), likes=5)
    # As accounts/deletion.py does: the posts in one query (one refresh of all their cells) ...
    Post.objects.filter(workspace=team.workspace).exclude(pk=kept.target.post_id).delete()
    assert [(c.account_id, c.engagement) for c in cells(team.workspace).values()] == [(beta.pk, 5)]
    assert rollup.differences(team.workspace.pk) == []
    # ... then the workspace, whose cells and state cascade.
    workspace_id = team.workspace.pk
    Post.objects.filter(workspace=team.workspace).delete()
    team.workspace.delete()
    assert not DailyRollup.objects.filter(workspace_id=workspace_id).exists()
    assert not RollupState.objects.filter(workspace_id=workspace_id).exists()


# --- Days and zones -----------------------------------------------------------------------------


def thread(workspace, account, main_at: datetime, reply_at: datetime, *, likes: int) -> Target:
    """A post whose reply landed on another day than its main part, each part with numbers."""
    first = published_post(workspace, account, main_at, likes=likes)
    reply = TargetPart.objects.create(
        target=first.target, position=1, kind=PostContent.Kind.REPLY, status=TargetPart.Status.PUBLISHED,
        platform_post_id=f"r{first.pk}", url="https://demo.example/r", landed_at=reply_at,
    )  # fmt: skip
    now = timezone.now()
    PartMetrics.objects.create(workspace=workspace, account=account, target=first.target, part=reply,
                               published_at=reply_at, likes=1, engagement=1, first_synced_at=now, updated_at=now)  # fmt: skip  # noqa: E501
    return first.target


def test_a_thread_across_midnight_is_one_post_of_the_range_and_one_of_each_day(team, demo_accounts):
    paris = team.workspace.tzinfo
    thread(team.workspace, demo_accounts[0], datetime(2026, 3, 9, 22, 50, tzinfo=UTC),  # 23:50 in Paris
           datetime(2026, 3, 9, 23, 10, tzinfo=UTC), likes=3)  # fmt: skip  # 00:10 on the 10th
    published_post(team.workspace, demo_accounts[0], datetime(2026, 3, 10, 12, tzinfo=UTC), likes=2)
    both = scope(team.workspace, datetime(2026, 3, 9).date(), datetime(2026, 3, 10).date())
    assert both.rolled
    assert [(p.label, p.totals.posts, p.totals.engagement) for p in queries.daily(both)] == [
        ("2026-03-09", 1, 3), ("2026-03-10", 2, 3),
    ]  # fmt: skip
    names = {"demo": "Demo network"}
    platforms = {demo_accounts[0].pk: "demo"}
    assert [(r.totals.posts, r.totals.engagement) for r in queries.per_platform(both, platforms, names)] == [(2, 6)]
    second = scope(team.workspace, datetime(2026, 3, 10).date(), datetime(2026, 3, 10).date())
    assert [(r.totals.posts, r.totals.engagement) for r in queries.per_platform(second, platforms, names)] == [(2, 3)]
    # The same answers as grouping the parts themselves, as the page did before the cells.
    for s in (both, second):
        plain = scanned(scope(team.workspace, s.first_day, s.last_day, paris))
        assert queries.per_platform(s, platforms, names) == queries.per_platform(plain, platforms, names)
        assert queries.daily(s) == queries.daily(plain)
        assert queries.best_times(s) == queries.best_times(plain)


def test_a_reply_days_later_is_counted_once_over_a_long_range(team, demo_accounts):
    thread(team.workspace, demo_accounts[0], datetime(2026, 3, 1, 12, tzinfo=UTC),
           datetime(2026, 3, 4, 12, tzinfo=UTC), likes=3)  # fmt: skip
    thread(team.workspace, demo_accounts[0], datetime(2026, 3, 2, 12, tzinfo=UTC),
           datetime(2026, 3, 4, 13, tzinfo=UTC), likes=1)  # fmt: skip
    platforms, names = {demo_accounts[0].pk: "demo"}, {}
    for first, last, posts in (("2026-03-01", "2026-03-04", 2), ("2026-03-02", "2026-03-04", 2),
                               ("2026-03-03", "2026-03-04", 2), ("2026-03-04", "2026-03-05", 2),
                               ("2026-03-02", "2026-03-03", 1)):  # fmt: skip
        s = scope(team.workspace, datetime.fromisoformat(first).date(), datetime.fromisoformat(last).date())
        (row,) = queries.per_platform(s, platforms, names)
        assert row.totals.posts == posts, (first, last)


def test_a_new_zone_rebuilds_the_cells_in_it(team, demo_accounts):
    metrics = published_post(team.workspace, demo_accounts[0], datetime(2026, 3, 10, 20, 0, tzinfo=UTC), likes=5)
    assert list(cells(team.workspace)) == [(metrics.account_id, datetime(2026, 3, 10).date())]  # 21:00 in Paris
    workspace = workspace_update(actor=team.membership("owner"), name="Acme", timezone_name="Asia/Kolkata")
    assert RollupState.objects.get(workspace=workspace).zone == "Asia/Kolkata"
    (cell,) = cells(workspace).values()
    assert cell.day == datetime(2026, 3, 11).date()  # 01:30 in Kolkata
    assert cell.hours == {"1": [1, 5]}
    assert rollup.differences(workspace.pk) == []
    heat = dict(queries.best_times(scope(workspace, cell.day, cell.day)))
    assert (heat["Wed"][1].posts, heat["Wed"][1].average) == (1, 5)


def test_a_member_in_their_own_zone_sees_their_days_from_the_parts(team, demo_accounts):
    viewer = team.users["viewer"]
    viewer.timezone = "America/New_York"
    viewer.save()
    published_post(team.workspace, demo_accounts[0], datetime(2026, 3, 11, 3, 0, tzinfo=UTC), likes=5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "localdate", lambda *a, **k: datetime(2026, 3, 20).date())
        response = team.client("viewer").get("/analytics/", {"range": "custom", "from": "2026-03-10",
                                                               "to": "2026-03-11"})  # fmt: skip
    posts = dict(zip(response.context["charts"]["posts"]["labels"],
                     response.context["charts"]["posts"]["datasets"][0]["data"], strict=True))  # fmt: skip
    assert posts == {"2026-03-10": 1, "2026-03-11": 0}  # 23:00 on the 10th in New York


# --- The page and the command -------------------------------------------------------------------


def _page_sql(client, **params) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/analytics/", params).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_the_page_reads_cells_and_its_queries_do_not_grow_with_a_year_of_posts(team, demo_accounts, time_machine):
    time_machine.move_to(NOW, tick=False)
    client = team.client("viewer")
    for n in range(3):
        published_post(team.workspace, demo_accounts[n % 2], NOW - timedelta(days=n * 100), likes=n, views=n)
    few = _page_sql(client, range="12m")
    for n in range(60):
        published_post(team.workspace, demo_accounts[n % 2], NOW - timedelta(days=n * 6, hours=n), likes=n, views=n)
    many = _page_sql(client, range="12m")
    assert len(many) == len(few)
    # PartMetrics is read only for the top posts, walked in order and stopped at ten.
    on_parts = [sql for sql in many if "analytics_partmetrics" in sql]
    assert len(on_parts) == 1
    assert "LIMIT 10" in on_parts[0]
    assert "GROUP BY" not in on_parts[0]
    assert any("analytics_dailyrollup" in sql for sql in many)


def test_the_command_rebuilds_and_checks(team, demo_accounts):
    published_post(team.workspace, demo_accounts[0], datetime(2026, 3, 1, 12, tzinfo=UTC), likes=4)
    DailyRollup.objects.update(engagement=999)  # as if a write had gone astray
    with pytest.raises(CommandError, match="differ"):
        call_command("analytics_rollup", "--check", stdout=io.StringIO())
    out = io.StringIO()
    call_command("analytics_rollup", "--rebuild", "--workspace", str(team.workspace.pk), stdout=out)
    assert f"workspace {team.workspace.pk}: 1 day cells" in out.getvalue()
    assert DailyRollup.objects.get().engagement == 4
    call_command("analytics_rollup", "--check", stdout=out)
    assert "agree" in out.getvalue()
    with pytest.raises(CommandError, match="No workspace"):
        call_command("analytics_rollup", "--rebuild", "--workspace", "999999", stdout=io.StringIO())


def test_the_hours_summed_in_the_database_and_in_python_agree(team, demo_accounts):
    for n in range(12):
        published_post(team.workspace, demo_accounts[n % 2], datetime(2026, 3, 1 + n % 9, n * 2, 15, tzinfo=UTC),
                       likes=n + 1)  # fmt: skip
    s = scope(team.workspace, datetime(2026, 3, 1).date(), datetime(2026, 3, 20).date())
    in_python = queries.fold_hours(queries.cells_in(s).values_list("day", "hours"))
    assert queries._by_hour(s) == in_python
    assert sum(posts for posts, _ in in_python.values()) == 12
    assert sum(engagement for _, engagement in in_python.values()) == sum(range(1, 13))
    alpha_only = queries.Scope(team.workspace, s.zone, s.first_day, s.last_day, (demo_accounts[0].pk,))
    assert sum(posts for posts, _ in queries._by_hour(alpha_only).values()) == 6


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_day_queue_on_its_cell_and_neither_is_lost(team, demo_accounts):
    """The first writer holds its transaction open after recomputing the cell; the second must
    wait for it and recompute with both parts (a cell computed before its lock would lose one)."""
    import threading
    import time

    from django.db import connection as this_thread
    from django.db import transaction

    account = demo_accounts[0]
    at = datetime(2026, 3, 5, 12, tzinfo=UTC)
    published_post(team.workspace, account, at, likes=1)  # the cell and the zone exist, committed
    first_wrote = threading.Event()
    errors: list[BaseException] = []

    def write(likes: int, hold: float) -> None:
        try:
            with transaction.atomic():
                published_post(team.workspace, account, at + timedelta(minutes=likes), likes=likes)
                first_wrote.set()
                time.sleep(hold)
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)
        finally:
            this_thread.close()  # each thread's own connection

    first = threading.Thread(target=write, args=(10, 0.8))
    first.start()
    assert first_wrote.wait(10)
    second = threading.Thread(target=write, args=(100, 0))
    second.start()
    first.join(20)
    second.join(20)
    assert errors == []
    (cell,) = DailyRollup.objects.filter(account=account)
    assert (cell.posts, cell.engagement) == (3, 111)
    assert rollup.differences(team.workspace.pk) == []
