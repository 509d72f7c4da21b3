"""The publishing engine against the Demo network: claims, retries, reconciliation, roll-up."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from connections.models import SocialAccount
from connections.providers.demo.models import DemoPost
from publishing import engine
from publishing.models import Post, Target
from publishing.services import PartInput, PostInput, When, post_cancel, post_create, target_retry
from publishing.states import part_move

S = Target.Status


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what the engine enqueues after commit (tasks run inline: Q_CLUSTER sync in tests)."""

    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def _post(team, accounts, text="Hello world", when=None) -> Post:
    data = PostInput(parts=[PartInput(text=text)], account_ids=[a.id for a in accounts], when=when or When.now())
    return post_create(actor=team.membership("editor"), data=data)


def test_due_targets_publish_once(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts)
    assert post.status == Post.Status.SCHEDULED
    claimed = run_on_commit(engine.targets_claim_due)
    assert len(claimed) == 2
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    for target in post.targets.all():
        assert (target.status, target.attempts) == (S.PUBLISHED, 1)
        assert target.url.endswith(target.platform_post_id)
    assert DemoPost.objects.count() == 2
    assert run_on_commit(engine.targets_claim_due) == []


def test_future_posts_wait(team, demo_accounts, run_on_commit):
    _post(team, demo_accounts, when=When.at(timezone.now() + timedelta(minutes=5)))
    assert run_on_commit(engine.targets_claim_due) == []
    assert 299 <= engine.next_due_in(horizon=1000) <= 300


def test_a_redelivered_task_does_nothing(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1])
    target = post.targets.get()
    engine.targets_claim_due()  # claimed, but the enqueue is not run here
    engine.target_publish(target_id=target.id)
    engine.target_publish(target_id=target.id)  # the broker delivered it twice
    target.refresh_from_db()
    assert (target.status, target.attempts) == (S.PUBLISHED, 1)
    assert DemoPost.objects.count() == 1


def test_rate_limit_waits_at_least_the_platform_reset(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1], text="hi #fail-rate")
    before = timezone.now()
    run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.RETRY_WAIT
    assert target.next_attempt_at >= before + timedelta(seconds=30)
    assert target.error_class == "rate"
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHING


def test_transient_failures_give_up_after_max_attempts(team, demo_accounts, run_on_commit, settings):
    settings.PUBLISH_MAX_ATTEMPTS = 2
    post = _post(team, demo_accounts[:1], text="x #fail-transient")
    for _ in range(2):
        Target.objects.filter(post=post).update(next_attempt_at=timezone.now())
        run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert (target.status, target.attempts) == (S.FAILED, 2)
    assert "gave up after 2 attempts" in target.error_message


def test_content_error_fails_at_once_and_tells_the_author(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1], text="bad #fail-content")
    run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert (target.status, target.attempts, target.error_class) == (S.FAILED, 1, "content")
    assert target.error_message == "Demo network: this post breaks the demo rules."
    editor = team.users["editor"]
    assert editor.notifications.get().title.startswith("Your post to @alpha")
    assert mail.outbox[-1].to == [editor.email]


def test_auth_failure_fails_and_asks_to_reconnect(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1], text="x #fail-auth")
    run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.FAILED
    assert "reconnect the account" in target.error_message
    assert SocialAccount.objects.get(pk=demo_accounts[0].pk).status == SocialAccount.Status.NEEDS_RECONNECT


def test_partial_failure_is_partially_published(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts)
    post.overrides = {"demo": {}}
    first = post.targets.order_by("id").first()
    Target.objects.filter(pk=first.pk).update(status=S.FAILED)
    run_on_commit(engine.targets_claim_due)
    post.refresh_from_db()
    assert post.status == Post.Status.PARTIAL


def test_unknown_outcome_is_reconciled_not_reposted(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1], text="lost answer #fail-unknown")
    run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.UNKNOWN
    assert run_on_commit(engine.targets_claim_due) == []  # never re-sent blindly
    run_on_commit(engine.targets_claim_reconcile)
    target.refresh_from_db()
    assert target.status == S.PUBLISHED
    assert target.platform_post_id == DemoPost.objects.get().post_id


def _die_while_sending(target: Target) -> None:
    """The worker started, marked the main post as being sent, then died before any answer."""
    from publishing.models import TargetPart

    engine.target_start(target=target)
    part = TargetPart.objects.create(target=target, position=0, kind="main")
    part_move(part, TargetPart.Status.SENDING, target=target)
    Target.objects.filter(pk=target.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_worker_killed_mid_call_is_reconciled(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1])
    target = post.targets.get()
    engine.targets_claim_due()
    target.refresh_from_db()
    _die_while_sending(target)
    assert engine.targets_recover_stale() == {"requeued": 0, "unknown": 1, "resumed": 0}
    run_on_commit(engine.targets_claim_reconcile)  # not on the platform: safe to send
    target.refresh_from_db()
    assert target.status == S.SCHEDULED
    run_on_commit(engine.targets_claim_due)
    target.refresh_from_db()
    assert target.status == S.PUBLISHED
    assert DemoPost.objects.count() == 1


def test_claimed_but_never_started_is_requeued(team, demo_accounts):
    post = _post(team, demo_accounts[:1])
    engine.targets_claim_due()
    Target.objects.filter(post=post).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert engine.targets_recover_stale() == {"requeued": 1, "unknown": 0, "resumed": 0}
    assert post.targets.get().status == S.SCHEDULED


def test_cancel_before_publishing(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts, when=When.at(timezone.now() + timedelta(hours=1)))
    post = post_cancel(actor=team.membership("editor"), post=post)
    assert post.status == Post.Status.CANCELED
    Target.objects.filter(post=post).update(next_attempt_at=timezone.now())
    assert run_on_commit(engine.targets_claim_due) == []


def test_cannot_cancel_while_publishing(team, demo_accounts):
    post = _post(team, demo_accounts[:1])
    engine.targets_claim_due()
    with pytest.raises(Exception, match="being published right now"):
        post_cancel(actor=team.membership("editor"), post=post)


def test_retry_a_failed_target(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1], text="x #fail-config")
    run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.FAILED
    post.contents.update(text="fixed")
    target_retry(actor=team.membership("editor"), target=target)
    run_on_commit(engine.targets_claim_due)
    target.refresh_from_db()
    assert target.status == S.PUBLISHED


def test_viewers_cannot_post(team, demo_accounts):
    with pytest.raises(Exception, match="Viewers cannot write posts"):
        post_create(
            actor=team.membership("viewer"),
            data=PostInput(parts=[PartInput(text="x")], account_ids=[demo_accounts[0].id]),
        )


def test_accounts_of_another_workspace_are_refused(team, demo_accounts):
    outsider_account = SocialAccount.objects.create(
        workspace=team.other_workspace, platform="demo", external_id="z", username="@z", secrets={"access_token": "t"}
    )
    with pytest.raises(Exception, match="connected and active in this workspace"):
        post_create(
            actor=team.membership("editor"),
            data=PostInput(parts=[PartInput(text="x")], account_ids=[outsider_account.id]),
        )


def test_dispatch_command_one_pass(team, demo_accounts, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    post = _post(team, demo_accounts)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("dispatch", "--once", stdout=out)
    assert "queued 2 target(s)" in out.getvalue()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


def test_an_unexpected_crash_is_looked_up_and_given_up_after_max_attempts(
    team, demo_accounts, run_on_commit, settings, monkeypatch
):
    from connections.providers.demo.provider import DemoProvider

    settings.PUBLISH_MAX_ATTEMPTS = 2

    def broken(self, **kwargs):
        raise RuntimeError("a bug, not a platform answer")

    monkeypatch.setattr(DemoProvider, "publish_part", broken)
    post = _post(team, demo_accounts[:1])
    target = post.targets.get()
    run_on_commit(engine.targets_claim_due)
    target.refresh_from_db()
    assert (target.status, target.error_code) == (S.UNKNOWN, "crash")
    assert "Internal error while publishing (RuntimeError)" in target.error_message
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHING
    run_on_commit(engine.targets_claim_reconcile)  # not on the platform, one attempt left: send again
    target.refresh_from_db()
    assert target.status == S.SCHEDULED
    run_on_commit(engine.targets_claim_due)
    Target.objects.filter(pk=target.pk).update(next_attempt_at=timezone.now())
    run_on_commit(engine.targets_claim_reconcile)
    target.refresh_from_db()
    assert (target.status, target.attempts) == (S.FAILED, 2)
    assert "did not go out after 2 attempts" in target.error_message
    assert team.users["editor"].notifications.filter(level="error").exists()
    post.refresh_from_db()
    assert post.status == Post.Status.FAILED


def test_rollup_while_some_targets_are_still_to_go():
    from publishing.rollup import rolled_up_status

    assert rolled_up_status({S.PUBLISHED, S.SCHEDULED}) == Post.Status.PUBLISHING
    assert rolled_up_status({S.PUBLISHED, S.FAILED, S.SCHEDULED}) == Post.Status.PUBLISHING
    assert rolled_up_status({S.PUBLISHED, S.FAILED}) == Post.Status.PARTIAL
    assert rolled_up_status({S.SCHEDULED, S.DRAFT}) == Post.Status.SCHEDULED
    assert rolled_up_status({S.CANCELED}) == Post.Status.CANCELED


def test_a_disconnected_account_fails_fast_and_stays_disconnected(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1])
    SocialAccount.objects.filter(pk=demo_accounts[0].pk).update(status=SocialAccount.Status.DISCONNECTED)
    run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.FAILED
    assert "reconnect the account" in target.error_message
    assert not DemoPost.objects.exists()
    assert SocialAccount.objects.get(pk=demo_accounts[0].pk).status == SocialAccount.Status.DISCONNECTED


def test_publish_again_waits_for_the_lookup(team, demo_accounts, run_on_commit):
    post = _post(team, demo_accounts[:1], text="lost answer #fail-unknown")
    run_on_commit(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.UNKNOWN
    with pytest.raises(Exception, match="Still checking"):
        target_retry(actor=team.membership("editor"), target=target)
