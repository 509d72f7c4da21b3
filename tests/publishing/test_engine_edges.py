"""Edges of the engine found in review: a reply with nothing to answer, a look-up that found the
part after the target's attempts ran out, a platform that never finishes processing, cancelling
what is partly out, and stale-lease recovery as one step."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.errors import ErrorClass
from connections.providers.base import Pending
from connections.providers.demo import provider as demo_module
from connections.providers.demo.models import DemoPost
from publishing import engine
from publishing.models import Post, Target, TargetPart
from publishing.services import (
    PartInput,
    PostInput,
    When,
    post_cancel,
    post_create,
    target_mark_published,
    target_retry,
)

S = Target.Status
P = TargetPart.Status


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def _thread(team, account, *texts: str) -> Post:
    parts = [PartInput(text=text, kind="main" if i == 0 else "reply") for i, text in enumerate(texts)]
    data = PostInput(parts=parts, account_ids=[account.id], when=When.now())
    return post_create(actor=team.membership("editor"), data=data)


def test_a_reply_after_a_post_marked_published_by_hand_fails_clearly_once(team, demo_accounts, run):
    """The author says the main post went out (we never learnt its id): the reply cannot answer it.
    It fails with that reason, once, instead of crashing the target round a loop."""
    post = _thread(team, demo_accounts[0], "main #fail-unknown", "reply one")
    run(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.UNKNOWN
    Target.objects.filter(pk=target.pk).update(next_attempt_at=None)  # the look-up asked the author
    target_mark_published(actor=team.membership("editor"), target=target, url="https://demo.test/p/1")
    run(engine.targets_claim_due)
    target.refresh_from_db()
    reply = TargetPart.objects.get(target=target, position=1)
    assert (target.status, reply.status, reply.error_code) == (S.FAILED, P.FAILED, "no_parent")
    assert "reply 1 was not sent: it must answer the post" in target.error_message
    assert target.error_message.startswith("Posted; reply 1 refused")
    assert DemoPost.objects.filter(text="reply one").count() == 0, "never sent on its own"
    assert run(engine.targets_claim_due) == [], "nothing loops"
    post.refresh_from_db()
    assert post.status == Post.Status.PARTIAL


def test_a_part_found_after_the_attempts_ran_out_lets_the_rest_go_out(team, demo_accounts, run, settings):
    settings.PUBLISH_MAX_ATTEMPTS = 1
    post = _thread(team, demo_accounts[0], "main #fail-unknown", "reply one")
    run(engine.targets_claim_due)
    target = post.targets.get()
    assert (target.status, target.attempts) == (S.UNKNOWN, 1)
    run(engine.targets_claim_reconcile)  # found: the run that lost its answer did land the post
    run(engine.targets_claim_due)
    target.refresh_from_db()
    assert target.status == S.PUBLISHED, target.error_message
    assert DemoPost.objects.filter(text="main #fail-unknown").count() == 1
    assert DemoPost.objects.get(text="reply one").parent.text == "main #fail-unknown"


def test_a_platform_that_never_finishes_processing_is_given_up_with_the_reason(
    team, demo_accounts, run, settings, monkeypatch, time_machine
):
    settings.PUBLISH_MAX_PROCESSING_SECONDS = 3600
    time_machine.move_to(timezone.now(), tick=False)
    monkeypatch.setattr(
        demo_module.DemoProvider, "publish_part",
        lambda self, **kwargs: Pending("Demo network is processing the video", check_in_s=600),
    )  # fmt: skip
    post = _thread(team, demo_accounts[0], "never done")
    run(engine.targets_claim_due)
    target = post.targets.get()
    part = TargetPart.objects.get(target=target)
    started = part.processing_since
    assert (target.status, part.status, started) == (S.PROCESSING, P.PROCESSING, timezone.now())
    for _ in range(5):  # still waiting, within the hour: the clock is the first wait's
        time_machine.shift(600)
        run(engine.targets_claim_due)
        target.refresh_from_db()
        assert target.status == S.PROCESSING
        assert TargetPart.objects.get(pk=part.pk).processing_since == started
    time_machine.shift(601)
    run(engine.targets_claim_due)
    target.refresh_from_db()
    part.refresh_from_db()
    assert (target.status, part.status, part.error_code) == (S.FAILED, P.FAILED, "processing_timeout")
    assert target.error_class == ErrorClass.CONTENT
    assert "Demo network is processing the video: still not done after 1 hour" in target.error_message
    target_retry(actor=team.membership("editor"), target=target)
    assert TargetPart.objects.get(pk=part.pk).processing_since is None, "a retry starts a fresh clock"


def test_cancelling_a_post_whose_main_post_is_out_leaves_it_partially_published(team, demo_accounts, run):
    post = _thread(team, demo_accounts[0], "main", "reply #fail-content")
    run(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.FAILED
    post_cancel(actor=team.membership("editor"), post=post)
    target.refresh_from_db()
    post.refresh_from_db()
    assert target.status == S.CANCELED, "the reply will not follow"
    assert post.status == Post.Status.PARTIAL, "but the main post is live: not 'canceled'"


def test_stale_lease_recovery_is_one_step(team, demo_accounts, monkeypatch):
    """A failure half-way leaves no part unknown under a target that still says publishing."""
    post = _thread(team, demo_accounts[0], "main")
    engine.targets_claim_due()
    target = post.targets.get()
    engine.target_start(target=target)
    part = TargetPart.objects.create(target=target, position=0, kind="main")
    engine.part_move(part, P.SENDING, target=target)
    Target.objects.filter(pk=target.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    real_moves = engine.targets_move
    calls = []

    def failing_second_move(*args, **kwargs):
        calls.append(args[1])
        if args[1] == S.UNKNOWN:
            raise RuntimeError("database went away")
        return real_moves(*args, **kwargs)

    monkeypatch.setattr(engine, "targets_move", failing_second_move)
    with pytest.raises(RuntimeError):
        engine.targets_recover_stale()
    assert TargetPart.objects.get(pk=part.pk).status == P.SENDING, "rolled back with the target's move"
    monkeypatch.setattr(engine, "targets_move", real_moves)
    assert engine.targets_recover_stale() == {"requeued": 0, "unknown": 1, "resumed": 0}
    assert TargetPart.objects.get(pk=part.pk).status == P.UNKNOWN


def test_a_post_left_publishing_by_a_worker_that_died_is_rolled_up(team, demo_accounts, run):
    from events.models import Event
    from publishing.rollup import posts_settle

    post = _thread(team, demo_accounts[0], "main")
    other = _thread(team, demo_accounts[1], "still to go")
    run(engine.targets_claim_due)
    Post.objects.filter(pk__in=[post.pk, other.pk]).update(status=Post.Status.PUBLISHING)  # roll-up never ran
    Target.objects.filter(post=other).update(status=S.RETRY_WAIT)
    Event.objects.filter(type="post.published").delete()
    assert posts_settle() == 1
    post.refresh_from_db()
    other.refresh_from_db()
    assert (post.status, other.status) == (Post.Status.PUBLISHED, Post.Status.PUBLISHING)
    assert Event.objects.filter(type="post.published", post_id=post.pk).count() == 1
    assert posts_settle() == 0
