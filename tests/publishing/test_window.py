"""The worker's sliding window: as a slot frees up it takes the next due target, within one task."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from connections.providers.demo.models import DemoPost
from events.models import Event
from publishing import engine
from publishing.models import Post, Target, TargetPart
from publishing.services import PartInput, PostInput, When, post_create
from tests.publishing.pools import close_worker_pool

S, P = Target.Status, TargetPart.Status

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need their own connections"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def window(settings):
    """Two slots, a pool made for this test (closed afterwards with its threads' connections)."""
    settings.PUBLISH_BATCH_SIZE = 2
    settings.DEMO_LATENCY_MS = 20
    close_worker_pool()
    yield settings
    close_worker_pool()


def _posts(team, accounts, n: int, parts: int = 1) -> list[Post]:
    contents = [PartInput(text=f"part {i}", kind="reply" if i else "main") for i in range(parts)]
    data = PostInput(parts=contents, account_ids=[a.id for a in accounts], when=When.now())
    return [post_create(actor=team.membership("editor"), data=data) for _ in range(n)]


def test_one_task_publishes_what_other_tasks_and_the_dispatcher_would_have(team, demo_accounts, window, monkeypatch):
    posts = _posts(team, demo_accounts, 3, parts=2)  # 6 targets
    tasks = []
    monkeypatch.setattr(engine, "enqueue_publish", lambda lanes: tasks.append([id_ for id_, _ in lanes]))
    claimed = engine.targets_claim_due(limit=4)  # 4 queued in the broker's tasks, 2 still due
    assert len(claimed) == 4
    engine.targets_publish(target_ids=claimed[:2])
    assert set(Target.objects.values_list("status", flat=True)) == {S.PUBLISHED}
    engine.targets_publish(target_ids=claimed[2:])  # the task the window took its targets from
    assert sorted(id_ for task in tasks for id_ in task) == sorted(claimed), "the 4 went to the broker tasks"
    assert set(TargetPart.objects.values_list("status", "attempts")) == {(P.PUBLISHED, 1)}
    assert DemoPost.objects.count() == 3 * 2 * 2  # posts x accounts x parts: each once
    events = Counter(Event.objects.values_list("type", flat=True))
    assert events["target.queued"] == events["target.publishing"] == events["target.published"] == 6
    assert events["part.published"] == 12
    assert {p.status for p in Post.objects.filter(id__in=[p.id for p in posts])} == {Post.Status.PUBLISHED}
    assert events["post.published"] == 3


def test_the_window_leaves_media_held_and_later_targets_alone(team, demo_accounts, window, monkeypatch):
    monkeypatch.setattr(engine, "enqueue_publish", lambda lanes: None)
    first, media, held, later = _posts(team, demo_accounts[:1], 4)
    Target.objects.filter(post=media).update(lane=engine.MEDIA_LANE)
    Post.objects.filter(id=held.id).update(approval=Post.Approval.PENDING)
    Target.objects.filter(post=later).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    claimed = engine.targets_claim_due(limit=1)
    assert Target.objects.get(id=claimed[0]).post_id == first.id
    engine.targets_publish(target_ids=claimed)
    statuses = dict(Target.objects.values_list("post_id", "status"))
    assert statuses == {first.id: S.PUBLISHED, media.id: S.SCHEDULED, held.id: S.SCHEDULED, later.id: S.SCHEDULED}


def test_a_spent_budget_publishes_only_the_task_s_own_targets(team, demo_accounts, window, monkeypatch):
    window.PUBLISH_WINDOW_SECONDS = 0
    monkeypatch.setattr(engine, "enqueue_publish", lambda lanes: None)
    _posts(team, demo_accounts[:1], 4)
    claimed = engine.targets_claim_due(limit=2)
    engine.targets_publish(target_ids=claimed)
    assert Counter(Target.objects.values_list("status", flat=True)) == {S.PUBLISHED: 2, S.SCHEDULED: 2}


def test_a_failing_claim_ends_the_window_but_not_the_targets_in_flight(team, demo_accounts, window, monkeypatch):
    monkeypatch.setattr(engine, "enqueue_publish", lambda lanes: None)
    _posts(team, demo_accounts[:1], 4)

    def broken(*, limit: int, due: bool = True) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(engine, "targets_claim_next", broken)
    claimed = engine.targets_claim_due(limit=2)
    engine.targets_publish(target_ids=claimed)
    assert Counter(Target.objects.values_list("status", flat=True)) == {S.PUBLISHED: 2, S.SCHEDULED: 2}
    assert {p.status for p in Post.objects.filter(targets__id__in=claimed)} == {Post.Status.PUBLISHED}


def _claims_then(monkeypatch, after_claim) -> None:
    """The window's claims as they are, with ``after_claim`` run on what each one started."""
    real = engine.targets_claim_next

    def claim(*, limit: int, due: bool = True):
        started, parts = real(limit=limit, due=due)
        after_claim([t.id for t in started])
        return started, parts

    monkeypatch.setattr(engine, "targets_claim_next", claim)


def test_a_target_started_ahead_whose_lease_lapsed_while_it_waited_is_not_sent(
    team, demo_accounts, window, monkeypatch
):
    """Once its lease has lapsed the dispatcher may hand it to another worker (looked up, not
    found, sent): the window that started it must then leave it alone, or it would go out twice."""
    monkeypatch.setattr(engine, "enqueue_publish", lambda lanes: None)
    monkeypatch.setattr(engine, "LEASE_RENEW_AFTER_S", -1.0)  # every target sent from the window has waited
    _posts(team, demo_accounts[:1], 4)
    lapsed = timezone.now() - timedelta(seconds=1)
    _claims_then(monkeypatch, lambda ids: Target.objects.filter(id__in=ids).update(lease_expires_at=lapsed))
    claimed = engine.targets_claim_due(limit=2)
    engine.targets_publish(target_ids=claimed)
    statuses = Counter(Target.objects.values_list("status", flat=True))
    assert statuses == {S.PUBLISHED: 2, S.PUBLISHING: 2}, "the two that waited past their lease were left"
    assert DemoPost.objects.count() == 2


def test_a_target_that_waited_within_its_lease_is_sent_with_its_lease_renewed(team, demo_accounts, window, monkeypatch):
    monkeypatch.setattr(engine, "enqueue_publish", lambda lanes: None)
    monkeypatch.setattr(engine, "LEASE_RENEW_AFTER_S", -1.0)
    _posts(team, demo_accounts[:1], 4)
    renewed = []
    real = engine._leases_renewed
    monkeypatch.setattr(engine, "_leases_renewed", lambda ids: renewed.extend(ids) or real(ids))
    claimed = engine.targets_claim_due(limit=2)
    engine.targets_publish(target_ids=claimed)
    assert Counter(Target.objects.values_list("status", flat=True)) == {S.PUBLISHED: 4}
    assert DemoPost.objects.count() == 4
    assert set(renewed) == set(Target.objects.values_list("id", flat=True)), "each renewed as it was sent"
