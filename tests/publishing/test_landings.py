"""Group commit: parts landing together share one statement, and each caller learns its own result."""

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from connections.providers.demo.models import DemoPost
from events.models import Event
from publishing import engine, landings
from publishing.models import Post, Target, TargetPart
from publishing.services import PartInput, PostInput, When, post_create
from tests.publishing.pools import close_worker_pool

S, P = Target.Status, TargetPart.Status


class _Gate:
    """A stand-in for moves_apply that holds the first round until released, so the others queue."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.rounds: list[list[str]] = []
        self.first_entered, self.release = threading.Event(), threading.Event()
        self.fail_on = fail_on

    def __call__(self, moves, *, fields_only=()):
        self.rounds.append([m for m in moves])
        if len(self.rounds) == 1:
            self.first_entered.set()
            self.release.wait(5)
        if self.fail_on in moves and len(moves) > 1:
            raise RuntimeError("one bad record in the round")
        if self.fail_on in moves:
            raise ValueError(f"{self.fail_on} is bad")
        return [name.endswith("ok") for name in moves]


def _call_in_threads(group, names: list[list[str]]) -> dict[int, object]:
    results: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            results[i] = group.apply(names[i])
        except Exception as exc:  # the test reads what each thread saw
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(names))]
    return results, threads


def test_records_that_arrive_during_a_write_share_the_next_statement(monkeypatch):
    gate = _Gate()
    monkeypatch.setattr(landings, "moves_apply", gate)
    group = landings.LandingGroup()
    names = [["a-ok"], ["b-ok", "b-no"], ["c-no"], ["d-ok"]]
    results, threads = _call_in_threads(group, names)
    threads[0].start()
    assert gate.first_entered.wait(5)
    for thread in threads[1:]:
        thread.start()
    while len(group._queued) < 3:  # all three wait behind the first write
        threading.Event().wait(0.005)
    gate.release.set()
    for thread in threads:
        thread.join(5)
    assert [sorted(r) for r in gate.rounds] == [["a-ok"], sorted(["b-ok", "b-no", "c-no", "d-ok"])]
    assert results == {0: [True], 1: [True, False], 2: [False], 3: [True]}  # each its own slice
    assert not group._writing
    assert not group._queued


def test_a_failing_round_is_written_record_by_record_so_only_the_bad_one_fails(monkeypatch):
    gate = _Gate(fail_on="bad")
    monkeypatch.setattr(landings, "moves_apply", gate)
    group = landings.LandingGroup()
    names = [["first-ok"], ["x-ok"], ["bad"], ["y-ok"]]
    results, threads = _call_in_threads(group, names)
    threads[0].start()
    assert gate.first_entered.wait(5)
    for thread in threads[1:]:
        thread.start()
    while len(group._queued) < 3:
        threading.Event().wait(0.005)
    gate.release.set()
    for thread in threads:
        thread.join(5)
    assert results[0] == [True]
    assert results[1] == [True]
    assert results[3] == [True]
    assert isinstance(results[2], ValueError)
    assert "bad is bad" in str(results[2])
    assert len(gate.rounds) == 1 + 1 + 3  # the first, the shared one that failed, then each alone


def test_inside_a_transaction_records_are_never_grouped(monkeypatch, db):
    calls = []
    monkeypatch.setattr(landings, "moves_apply", lambda moves, fields_only=(): calls.append(moves) or [True])
    monkeypatch.setattr(landings._group, "apply", lambda *a, **k: pytest.fail("grouped inside a transaction"))
    assert landings.landing_apply(["m"]) == [True]  # the test's own transaction is open
    assert calls == [["m"]]


@pytest.fixture
def worker_threads():
    """A pool made for this test (sized by its PUBLISH_BATCH_SIZE: an earlier test's pool may be
    smaller, and would send the batch one by one), closed afterwards with its threads'
    connections (or the test database could not be dropped)."""
    close_worker_pool()
    yield
    close_worker_pool()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need their own connections")
@pytest.mark.django_db(transaction=True)
def test_a_threaded_batch_lands_every_part_once_in_fewer_statements(
    team, demo_accounts, monkeypatch, settings, worker_threads
):
    settings.DEMO_LATENCY_MS = 50  # the answers arrive together, as from a real platform
    settings.PUBLISH_BATCH_SIZE = 8
    writes = []
    real = landings.moves_apply

    def slow_write(moves, **kw):
        # A write that takes a moment, as under load: the answers arriving meanwhile queue behind
        # it (without it the test would hang on the jitter of the Demo network's latency).
        writes.append(len(moves))
        time.sleep(0.08)
        return real(moves, **kw)

    monkeypatch.setattr(landings, "moves_apply", slow_write)
    contents = [PartInput(text=f"part {i}", kind="reply" if i else "main") for i in range(2)]
    data = PostInput(parts=contents, account_ids=[a.id for a in demo_accounts], when=When.now())
    posts = [post_create(actor=team.membership("editor"), data=data) for _ in range(4)]
    engine.targets_claim_due()
    engine.targets_publish(target_ids=list(Target.objects.values_list("id", flat=True)))
    assert set(Target.objects.values_list("status", flat=True)) == {S.PUBLISHED}
    assert set(TargetPart.objects.values_list("status", "attempts")) == {(P.PUBLISHED, 1)}
    assert DemoPost.objects.count() == 4 * 2 * 2
    replies = TargetPart.objects.filter(position=1).select_related("target")
    assert all(r.facts or r.platform_post_id for r in replies)
    events = Counter(Event.objects.values_list("type", flat=True))
    assert events["part.published"] == 16
    assert events["target.published"] == 8
    assert {p.status for p in Post.objects.filter(id__in=[p.id for p in posts])} == {Post.Status.PUBLISHED}
    assert sum(writes) == 16 + 8  # every move written once (a part each, and each target with its last)
    assert len(writes) < 16  # fewer statements than parts: answers that arrived together shared one
