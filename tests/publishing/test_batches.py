"""Batches: one task publishes several targets; each still moves, lands and is announced once."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connections.models import SocialAccount
from connections.providers.demo.models import DemoPost
from events.models import Event
from publishing import engine
from publishing.models import Post, Target, TargetPart
from publishing.services import PartInput, PostInput, When, post_create
from publishing.states import part_move, parts_move, target_move

S, P = Target.Status, TargetPart.Status


def _posts(team, accounts, n: int, parts: int = 1) -> list[Post]:
    contents = [PartInput(text=f"part {i}", kind="reply" if i else "main") for i in range(parts)]
    data = PostInput(parts=contents, account_ids=[a.id for a in accounts], when=When.now())
    return [post_create(actor=team.membership("editor"), data=data) for _ in range(n)]


def test_a_batch_publishes_every_part_once_and_announces_each_move_once(team, demo_accounts):
    posts = _posts(team, demo_accounts, 3, parts=2)
    engine.targets_claim_due()  # claimed; the enqueue is not run here
    ids = list(Target.objects.values_list("id", flat=True))
    engine.targets_publish(target_ids=ids)
    engine.targets_publish(target_ids=ids)  # redelivered: nothing happens twice
    assert set(Target.objects.values_list("status", flat=True)) == {S.PUBLISHED}
    assert DemoPost.objects.count() == 3 * 2 * 2  # posts x accounts x parts
    assert set(TargetPart.objects.values_list("status", "attempts")) == {(P.PUBLISHED, 1)}
    events = Counter(Event.objects.values_list("type", flat=True))
    assert events["target.publishing"] == events["target.published"] == 6
    assert events["part.sending"] == events["part.published"] == 12
    assert {p.status for p in Post.objects.filter(id__in=[p.id for p in posts])} == {Post.Status.PUBLISHED}
    assert events["post.published"] == 3


def test_a_batch_skips_what_is_no_longer_queued(team, demo_accounts):
    _posts(team, demo_accounts[:1], 2)
    engine.targets_claim_due()
    first, second = Target.objects.order_by("id")
    Target.objects.filter(id=second.id).update(status=S.SCHEDULED)  # recovered by the dispatcher meanwhile
    engine.targets_publish(target_ids=[first.id, second.id])
    assert Target.objects.get(id=first.id).status == S.PUBLISHED
    assert Target.objects.get(id=second.id).status == S.SCHEDULED
    assert not TargetPart.objects.filter(target=second).exists()


def test_an_inactive_account_in_a_batch_fails_alone_and_sends_nothing(team, demo_accounts):
    _posts(team, demo_accounts, 1)
    SocialAccount.objects.filter(id=demo_accounts[1].id).update(status=SocialAccount.Status.NEEDS_RECONNECT)
    engine.targets_claim_due()
    engine.targets_publish(target_ids=list(Target.objects.values_list("id", flat=True)))
    ok, stopped = Target.objects.get(account=demo_accounts[0]), Target.objects.get(account=demo_accounts[1])
    assert (ok.status, stopped.status) == (S.PUBLISHED, S.FAILED)
    assert set(TargetPart.objects.filter(target=stopped).values_list("status", flat=True)) == {P.PENDING}
    assert DemoPost.objects.count() == 1


@pytest.mark.parametrize(("vendor", "text_batches"), [("postgresql", [[1, 3], [4]]), ("sqlite", [[1], [3], [4]])])
def test_batches_are_cut_to_size_and_media_travels_alone(settings, monkeypatch, vendor, text_batches):
    """On SQLite (one writer, no threads) a batch would be sent one after another: one per task."""
    settings.PUBLISH_BATCH_SIZE = 2
    monkeypatch.setattr(engine.connection, "vendor", vendor)
    sent = []
    monkeypatch.setattr(engine, "async_task", lambda func, ids, **kw: sent.append((ids, kw["cluster"], kw["save"])))
    engine.enqueue_publish([(1, "default"), (2, "media"), (3, "default"), (4, "default"), (5, "media")])
    assert sent == [
        *[(ids, None, False) for ids in text_batches],
        ([2], settings.PUBLISH_MEDIA_CLUSTER, False),
        ([5], settings.PUBLISH_MEDIA_CLUSTER, False),
    ]


def test_upload_progress_renews_the_lease(team, demo_accounts):
    _posts(team, demo_accounts[:1], 1)
    engine.targets_claim_due()
    target = Target.objects.get()
    engine.targets_start(targets=[target])
    part = TargetPart.objects.create(target=target, position=0, kind="main")
    Target.objects.filter(id=target.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    engine.PartUploads(part, target=target).save("video-0", {"id": "u1", "offset": 8})
    target.refresh_from_db()
    assert target.lease_expires_at > timezone.now()
    assert engine.PartUploads(part).load("video-0") == {"id": "u1", "offset": 8}


def test_a_bulk_part_move_names_exactly_the_parts_it_moved(team, demo_accounts):
    _posts(team, demo_accounts[:1], 2)
    targets = list(Target.objects.order_by("id"))
    parts = [TargetPart.objects.create(target=t, position=0, kind="main") for t in targets]
    part_move(parts[1], P.SENDING, target=targets[1])
    moved = parts_move(TargetPart.objects.all(), P.SENDING, only_from=[P.PENDING])
    assert moved == [parts[0].id]
    assert Event.objects.filter(type="part.sending").count() == 2


def test_collected_events_are_left_to_the_caller(team, demo_accounts):
    target = _posts(team, demo_accounts[:1], 1)[0].targets.get()
    with transaction.atomic():
        collected: list = []
        assert target_move(target, S.QUEUED, events=collected)
        assert [spec.type for spec in collected] == ["target.queued"]
        assert not Event.objects.filter(type="target.queued").exists()  # written by the caller, not here


def test_the_dispatcher_queues_a_few_batches_per_worker_and_media_regardless(team, demo_accounts, settings):
    """A burst is not all queued at once (its leases would lapse in the queue); the workers'
    windows claim the rest as they go. A due video is not held back by queued text."""
    settings.PUBLISH_BATCH_SIZE = 2
    settings.PUBLISH_WORKERS_TOTAL = 1
    most = engine.QUEUED_BATCHES_PER_WORKER * 2
    _posts(team, demo_accounts[:1], most + 3)
    video = Target.objects.order_by("-id").first()
    Target.objects.filter(id=video.id).update(lane=engine.MEDIA_LANE)
    claimed = engine.targets_claim_due()
    assert len(claimed) == most + 1
    assert video.id in claimed  # the video, though last due, beside the cap
    assert engine.targets_claim_due() == []  # no room for text
    assert Target.objects.filter(status=S.QUEUED).count() == most + 1


def test_queued_targets_whose_tasks_were_lost_do_not_stop_new_ones(team, demo_accounts, settings):
    """Targets queued long ago belong to tasks the broker lost (a window takes queued ones first,
    so in health they leave at once): they do not count against the room, so what falls due
    meanwhile still gets tasks, whose windows take the stranded ones too."""
    settings.PUBLISH_BATCH_SIZE = 2
    settings.PUBLISH_WORKERS_TOTAL = 1
    most = engine.QUEUED_BATCHES_PER_WORKER * 2
    _posts(team, demo_accounts[:1], most + 2)
    assert len(engine.targets_claim_due()) == most
    assert engine.targets_claim_due() == []
    long_ago = timezone.now() - timedelta(seconds=engine.QUEUED_FRESH_S + 1)
    Target.objects.filter(status=S.QUEUED).update(queued_at=long_ago)
    assert len(engine.targets_claim_due()) == 2
