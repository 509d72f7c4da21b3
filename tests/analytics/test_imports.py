"""Importing an account's existing posts: paged, resumable, never duplicated, never re-published."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from analytics import imports
from analytics.imports import import_run, import_runs_claim_due, import_start
from analytics.models import ImportedPost, ImportRun
from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.providers.demo.models import DemoPost
from connections.providers.demo.provider import DemoProvider
from events.models import Event
from publishing import engine
from publishing.models import Post, Target, TargetPart
from publishing.services import PartInput, PostInput, When, post_create

S = ImportRun.Status


@pytest.fixture
def history(settings):
    settings.DEMO_PAST_POSTS = 45  # three Demo pages: 20, 20 and 5


@pytest.fixture
def started(team, demo_accounts, history, django_capture_on_commit_callbacks):
    """An import of the first Demo account, queued by its admin (the worker not run yet)."""
    with django_capture_on_commit_callbacks(execute=False):
        return import_start(actor=team.membership("admin"), account=demo_accounts[0])


def _run_to_the_end(run: ImportRun) -> ImportRun:
    for _ in range(20):
        import_run(run_id=run.pk, pages=1)
        run.refresh_from_db()
        if not run.live:
            return run
    raise AssertionError("the import did not end")


def test_pages_until_the_oldest_post(started, demo_accounts):
    run = _run_to_the_end(started)
    assert run.status == S.COMPLETED
    assert (run.pages, run.imported, run.skipped) == (3, 45, 0)
    posts = Post.objects.filter(workspace=demo_accounts[0].workspace, origin=Post.Origin.IMPORTED)
    assert posts.count() == 45
    assert set(posts.values_list("status", flat=True)) == {Post.Status.PUBLISHED}
    oldest = DemoPost.objects.filter(account_external_id="alpha").order_by("created_at").first()
    target = Target.objects.get(account=demo_accounts[0], platform_post_id=oldest.post_id)
    assert target.status == Target.Status.PUBLISHED
    assert target.url == oldest.url
    assert target.post.scheduled_at == oldest.created_at  # on the calendar at the day it went out
    part = TargetPart.objects.get(target=target)
    assert part.status == TargetPart.Status.PUBLISHED
    assert part.platform_post_id == oldest.post_id
    assert target.post.contents.get().text == oldest.text


def test_a_re_run_imports_nothing_twice(started, team, demo_accounts, django_capture_on_commit_callbacks):
    _run_to_the_end(started)
    with django_capture_on_commit_callbacks(execute=False):
        again = import_start(actor=team.membership("admin"), account=demo_accounts[0])
    assert again.pk != started.pk
    again = _run_to_the_end(again)
    assert (again.imported, again.skipped) == (0, 45)
    assert Post.objects.filter(origin=Post.Origin.IMPORTED).count() == 45


def test_a_removed_import_does_not_come_back(started, team, demo_accounts, django_capture_on_commit_callbacks):
    _run_to_the_end(started)
    Post.objects.filter(origin=Post.Origin.IMPORTED).first().delete()
    with django_capture_on_commit_callbacks(execute=False):
        again = import_start(actor=team.membership("admin"), account=demo_accounts[0])
    assert _run_to_the_end(again).imported == 0
    assert Post.objects.filter(origin=Post.Origin.IMPORTED).count() == 44


def test_what_postwright_published_is_not_imported_again(
    team, demo_accounts, history, django_capture_on_commit_callbacks
):
    post_create(
        actor=team.membership("editor"),
        data=PostInput(parts=[PartInput(text="ours")], account_ids=[demo_accounts[0].id], when=When.now()),
    )
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    assert Target.objects.filter(status=Target.Status.PUBLISHED).count() == 1
    with django_capture_on_commit_callbacks(execute=False):
        run = import_start(actor=team.membership("admin"), account=demo_accounts[0])
    run = _run_to_the_end(run)
    assert (run.imported, run.skipped) == (45, 1)
    assert Post.objects.filter(origin=Post.Origin.COMPOSED).count() == 1


def test_a_crashed_run_resumes_from_its_last_page(started, monkeypatch):
    class WorkerDied(BaseException):
        """The process killed mid-run: nothing after this line runs, no handler sees it."""

    real = DemoProvider.list_posts
    calls = []

    def dies_on_the_second_page(self, *, account, cursor=""):
        calls.append(cursor)
        if len(calls) == 2:
            raise WorkerDied
        return real(self, account=account, cursor=cursor)

    monkeypatch.setattr(DemoProvider, "list_posts", dies_on_the_second_page)
    with pytest.raises(WorkerDied):
        import_run(run_id=started.pk)
    started.refresh_from_db()
    assert (started.status, started.pages, started.imported) == (S.RUNNING, 1, 20)
    saved_cursor = started.cursor
    assert saved_cursor
    assert import_run(run_id=started.pk) is None  # its lease still holds: nobody else takes it
    ImportRun.objects.filter(pk=started.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert import_runs_claim_due() == [started.pk]  # the dispatcher hands it out again
    run = _run_to_the_end(started)
    assert calls[2] == saved_cursor  # resumed where the committed page left off
    assert (run.status, run.imported, run.skipped) == (S.COMPLETED, 45, 0)
    assert ImportedPost.objects.count() == 45


def test_an_unexpected_error_is_retried_then_fails(started, monkeypatch):
    monkeypatch.setattr(DemoProvider, "list_posts", lambda self, **kw: 1 / 0)
    for _ in range(imports.MAX_FAILURES):
        import_run(run_id=started.pk)
        started.refresh_from_db()
    assert started.status == S.FAILED
    assert started.error == "An unexpected error stopped the import."


def test_a_rate_limit_waits_for_the_reset(started, monkeypatch):
    def limited(self, **kw):
        raise ProviderError(ErrorClass.RATE, "Slow down", retry_after=90)

    monkeypatch.setattr(DemoProvider, "list_posts", limited)
    run = import_run(run_id=started.pk)
    assert run.status == S.QUEUED
    assert 85 < (run.next_attempt_at - timezone.now()).total_seconds() <= 90
    assert import_runs_claim_due() == []  # not before the reset


def test_a_refusal_fails_with_the_platforms_words(started, monkeypatch):
    def refused(self, **kw):
        raise ProviderError(ErrorClass.CONTENT, "Profile not found")

    monkeypatch.setattr(DemoProvider, "list_posts", refused)
    run = import_run(run_id=started.pk)
    assert (run.status, run.error) == (S.FAILED, "Profile not found")
    event = Event.objects.get(type="import.failed")
    assert event.payload["error"] == "Profile not found"


def test_completion_writes_its_event(started, team):
    _run_to_the_end(started)
    event = Event.objects.get(type="import.completed")
    assert (event.subject_type, event.subject_id) == ("import", started.pk)
    assert event.payload == {"account_id": started.account_id, "platform": "demo", "imported": 45, "skipped": 0,
                             "pages": 3}  # fmt: skip
    assert event.actor_user_id == team.users["admin"].pk


def test_imported_posts_are_never_published(started):
    _run_to_the_end(started)
    Target.objects.filter(post__origin=Post.Origin.IMPORTED).update(next_attempt_at=timezone.now())
    assert engine.targets_claim_due() == []
    before = DemoPost.objects.count()
    assert engine.targets_recover_stale() == {"requeued": 0, "unknown": 0, "resumed": 0}
    assert DemoPost.objects.count() == before


def test_the_caps_stop_the_run(started, settings):
    settings.ANALYTICS_IMPORT_MAX_POSTS = 25
    run = _run_to_the_end(started)
    assert (run.status, run.imported, run.pages) == (S.COMPLETED, 25, 2)


def test_nothing_older_than_the_day_cap(started, settings):
    settings.ANALYTICS_IMPORT_MAX_DAYS = 30  # the Demo history is a post every three days
    run = _run_to_the_end(started)
    assert run.status == S.COMPLETED
    assert 9 <= run.imported <= 10
    assert run.pages == 1


def test_a_due_post_goes_first(started, team, demo_accounts, monkeypatch):
    post_create(
        actor=team.membership("editor"),
        data=PostInput(parts=[PartInput(text="due now")], account_ids=[demo_accounts[0].id], when=When.now()),
    )
    run = import_run(run_id=started.pk)
    assert run.status == S.QUEUED
    assert run.pages == 0
    assert run.next_attempt_at > timezone.now()


def test_pace_is_shared_with_publishing(started, monkeypatch):
    monkeypatch.setattr(DemoProvider, "app_calls_per_minute", 60)
    monkeypatch.setattr(DemoProvider, "workspace_share", 0.5)
    before = timezone.now()
    run = import_run(run_id=started.pk, pages=5)
    after = timezone.now()
    assert run.status == S.QUEUED
    assert run.pages == 1  # one page, then its budget asked it to wait
    # The workspace's share of the app's pace: one call every two seconds after the first.
    assert before + timedelta(seconds=1.9) < run.next_attempt_at <= after + timedelta(seconds=2.1)


def test_one_run_at_a_time(started, team, demo_accounts):
    assert import_start(actor=team.membership("owner"), account=demo_accounts[0]).pk == started.pk


def test_admins_only(team, demo_accounts):
    for who in ("viewer", "editor"):
        with pytest.raises(PermissionDenied):
            import_start(actor=team.membership(who), account=demo_accounts[0])
    assert not ImportRun.objects.exists()


def test_another_workspaces_account_is_refused(team, demo_accounts):
    from accounts.models import Membership

    outsider = Membership.objects.get(user=team.users["outsider"], workspace=team.other_workspace)
    with pytest.raises(PermissionDenied):
        import_start(actor=outsider, account=demo_accounts[0])


def test_a_platform_without_import_is_refused(team, demo_accounts, monkeypatch):
    monkeypatch.setattr(DemoProvider, "supports_import", False)
    with pytest.raises(ValidationError) as caught:
        import_start(actor=team.membership("admin"), account=demo_accounts[0])
    assert caught.value.code == "unsupported"


def test_a_disconnected_account_is_refused(team, demo_accounts):
    SocialAccount.objects.filter(pk=demo_accounts[0].pk).update(status=SocialAccount.Status.DISCONNECTED)
    demo_accounts[0].refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        import_start(actor=team.membership("admin"), account=demo_accounts[0])
    assert caught.value.code == "not_connected"


def test_a_canceled_run_stops(started, team):
    assert imports.import_cancel(actor=team.membership("admin"), run=started)
    assert import_run(run_id=started.pk) is None
    assert not Post.objects.filter(origin=Post.Origin.IMPORTED).exists()


def test_the_command_imports_and_reports(demo_accounts, history, capsys):
    call_command("import_posts", "--account", str(demo_accounts[1].pk))
    out = capsys.readouterr().out
    assert "page 1: 20 imported, 0 already here" in out
    assert "completed: 45 imported, 0 already here, 3 page(s)" in out
    assert Target.objects.filter(account=demo_accounts[1], post__origin=Post.Origin.IMPORTED).count() == 45


def test_the_command_explains_a_refusal(db):
    with pytest.raises(CommandError, match="No social account has the id 999"):
        call_command("import_posts", "--account", "999")


def test_an_account_disconnected_meanwhile_fails_the_run_without_calling(started, monkeypatch):
    SocialAccount.objects.filter(pk=started.account_id).update(status=SocialAccount.Status.DISCONNECTED)
    monkeypatch.setattr(DemoProvider, "list_posts", lambda self, **kw: pytest.fail("the platform was called"))
    run = import_run(run_id=started.pk)
    assert run.status == S.FAILED
    assert "connected again" in run.error
    assert SocialAccount.objects.get(pk=started.account_id).status == SocialAccount.Status.DISCONNECTED


def test_the_dispatcher_hands_out_imports_whose_worker_stopped(started, monkeypatch):
    handed = []
    monkeypatch.setattr(imports, "enqueue_import", handed.append)
    ImportRun.objects.filter(pk=started.pk).update(
        status=S.RUNNING, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("dispatch", "--once")
    assert handed == [started.pk]
    assert ImportRun.objects.get(pk=started.pk).status == S.QUEUED
