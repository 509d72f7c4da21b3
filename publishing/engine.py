"""The publishing engine: claim due targets, publish each part once, retry, wait or reconcile.

A target is one post going to one account; its parts (main post, thread replies, first comment)
are rows of their own, published in order and recorded the moment each lands, so a retry, a
crash or a lost answer resumes at the first part that has not landed and never re-creates one
that has. The graph both move along is declared in states.py; every change goes through it.

Target: scheduled -> queued -> publishing -> published; publishing -> processing -> queued while
the platform works (no worker held, no attempt spent); publishing -> retry_wait for RATE and
TRANSIENT; publishing -> failed for CONTENT, CONFIG, AUTH or spent retries; publishing -> unknown
when a create call may have landed without an answer. "queued" (claimed, never sent) and
"publishing" (maybe sent) are separate so a crash in between is told apart.
"""

import logging
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Case, F, QuerySet, When, prefetch_related_objects
from django.utils import timezone
from django_q.tasks import async_task

from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.providers.base import PartRequest, Pending, Provider, PublishedItem, PublishRequest, part_key
from connections.registry import get_provider
from connections.services import call_with_account, safe_url
from publishing.landings import landing_apply
from publishing.models import Post, PostContent, Target, TargetPart, UploadSession
from publishing.pacing import budget_keys, pace_block, pace_reserve
from publishing.payload import build_request
from publishing.rollup import post_rollup, posts_rollup, tell_author
from publishing.states import (
    Move,
    part_move,
    part_move_planned,
    parts_create,
    parts_move,
    target_move,
    target_move_planned,
    targets_move,
)

log = logging.getLogger(__name__)
S = Target.Status
P = TargetPart.Status
DUE_STATES = (S.SCHEDULED, S.RETRY_WAIT, S.PROCESSING)
MEDIA_LANE = "media"


def backoff_seconds(attempt: int) -> float:
    """30 s, 1, 2, 4, 8 min ... capped at an hour, with jitter so retries do not stampede."""
    base: int = min(30 * 2 ** max(0, attempt - 1), 3600)  # int ** int is Any to mypy (it may be a float)
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


# --- Dispatcher side ------------------------------------------------------------------------


def _due(now: datetime) -> QuerySet[Target]:
    """Due targets of posts nobody is still to approve, outside workspaces being deleted. Held
    targets are never in a due state (awaiting_approval); the post's approval is checked here
    too, so no status written by any other path can send a post that waits for approval or had
    changes requested."""
    held = [Post.Approval.PENDING, Post.Approval.CHANGES_REQUESTED]
    due = Target.objects.filter(status__in=DUE_STATES, next_attempt_at__lte=now).exclude(post__approval__in=held)
    # A workspace an owner asked to delete publishes nothing while it can still be undone.
    return due.filter(workspace__deletion_requested_at__isnull=True)


def targets_claim_due(*, limit: int = 200) -> list[int]:
    """Claim due targets (new, retrying, or done waiting at the platform) and enqueue one task
    each after commit. Safe with many dispatchers: locked rows are skipped (PostgreSQL) and the
    move re-checks the status."""
    now = timezone.now()
    if not _due(now).exists():
        return []  # most passes: no write transaction (on SQLite it would hold off the web server)
    text_room = max(0, min(limit, _text_room(now)))
    with transaction.atomic():
        found = list(
            (_due(now) if text_room else _due(now).filter(lane=MEDIA_LANE))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at")
            .values_list("id", "lane")[:limit]
        )
        due = _within_text_room(found, text_room)  # media are never held back by the text cap
        if not due:
            return []
        lease = now + timedelta(seconds=settings.PUBLISH_QUEUE_LEASE_SECONDS)
        claimed = set(
            targets_move(
                Target.objects.filter(id__in=[id_ for id_, _ in due]), S.QUEUED, queued_at=now, lease_expires_at=lease
            )
        )
        lanes = [(id_, lane) for id_, lane in due if id_ in claimed]
        transaction.on_commit(lambda: enqueue_publish(lanes))
    return [id_ for id_, _ in lanes]


# Text targets queued ahead of the workers, per worker, in batches: enough to keep every window
# fed between two passes. Claiming everything due at once (a burst) only left targets queued
# until their lease lapsed, to be recovered and claimed again; the windows claim the rest
# themselves as they go (targets_claim_next).
QUEUED_BATCHES_PER_WORKER = 4


# Queued targets older than this are not counted against the room: a window takes queued ones
# first, so in health they leave within a moment; older ones belong to tasks the broker lost,
# and must not stop new due targets from getting tasks (whose windows take those too).
QUEUED_FRESH_S = 5.0


def _text_room(now: datetime) -> int:
    """How many more text targets the dispatcher may queue now (for every host's workers:
    PUBLISH_WORKERS_TOTAL)."""
    most = QUEUED_BATCHES_PER_WORKER * settings.PUBLISH_BATCH_SIZE * settings.PUBLISH_WORKERS_TOTAL
    fresh = Target.objects.filter(status=S.QUEUED, queued_at__gte=now - timedelta(seconds=QUEUED_FRESH_S))
    return most - fresh.exclude(lane=MEDIA_LANE).count()


def _within_text_room(found: list[tuple[int, str]], room: int) -> list[tuple[int, str]]:
    """Every media target found, and the text ones while there is room, in due order."""
    kept: list[tuple[int, str]] = []
    for id_, lane in found:
        if lane == MEDIA_LANE or room > 0:
            kept.append((id_, lane))
            room -= lane != MEDIA_LANE
    return kept


def enqueue_publish(targets: Iterable[tuple[int, str]]) -> None:
    """One task per batch of up to PUBLISH_BATCH_SIZE text targets (the task publishes them
    concurrently); a media target travels alone, to the media cluster. No success rows: the
    targets and their events are the record (save=False; failures are still kept)."""
    text: list[int] = []
    media: list[int] = []
    for target_id, lane in targets:
        (media if lane == MEDIA_LANE else text).append(target_id)
    # On SQLite a batch would be sent one target after another (one writer: no threads), so its
    # last target would wait on every call before it, and a slow platform could run the task past
    # django-q2's timeout with parts still marked sending: one target per task there.
    size = 1 if connection.vendor == "sqlite" else settings.PUBLISH_BATCH_SIZE
    batches: list[tuple[list[int], str | None]] = [(text[i : i + size], None) for i in range(0, len(text), size)]
    batches += [([target_id], settings.PUBLISH_MEDIA_CLUSTER) for target_id in media]
    for ids, cluster in batches:
        async_task("publishing.tasks.publish_targets", ids, task_name=f"publish-targets-{ids[0]}-{len(ids)}",
                   cluster=cluster, save=False)  # fmt: skip


def next_due_in(*, horizon: float) -> float:
    """Seconds until the next target falls due (capped at ``horizon``), so the loop can sleep."""
    upcoming = (
        Target.objects.filter(status__in=DUE_STATES)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
    ).first()
    if upcoming is None:
        return horizon
    return max(0.0, min(horizon, (upcoming - timezone.now()).total_seconds()))


def targets_recover_stale() -> dict[str, int]:
    """Leases that lapsed. A queued target never reached the platform: back to the queue. A
    publishing one may have: the part that was being sent becomes unknown and is reconciled;
    if no part was in flight (the worker died between parts), it simply resumes."""
    with transaction.atomic():  # all or nothing: no part left unknown under a target still publishing
        recovered, affected_posts = _recover_stale(timezone.now())
    for post_id in affected_posts:
        post_rollup(post_id=post_id)
    return recovered


def _recover_stale(now: datetime) -> tuple[dict[str, int], set[int]]:
    lapsed = Target.objects.filter(lease_expires_at__lt=now)
    affected_posts = set(lapsed.filter(status__in=[S.QUEUED, S.PUBLISHING]).values_list("post_id", flat=True))
    requeued = targets_move(
        lapsed.filter(status=S.QUEUED), S.SCHEDULED, next_attempt_at=now, lease_expires_at=None
    )  # fmt: skip
    in_doubt = set(
        TargetPart.objects.filter(
            status=P.SENDING, target__status=S.PUBLISHING, target__lease_expires_at__lt=now
        ).values_list("target_id", flat=True)
    )
    for part in TargetPart.objects.filter(target_id__in=in_doubt, status=P.SENDING).select_related("target"):
        part_move(part, P.UNKNOWN, target=part.target, error_message="The worker stopped while sending this part.")
    unknown = targets_move(
        lapsed.filter(status=S.PUBLISHING, id__in=in_doubt),
        S.UNKNOWN,
        next_attempt_at=now,
        lease_expires_at=None,
        error_class="",
        error_message="The worker stopped while publishing; checking whether the post went out.",
    )
    resumed = targets_move(
        lapsed.filter(status=S.PUBLISHING).exclude(id__in=in_doubt),
        S.SCHEDULED,
        next_attempt_at=now,
        lease_expires_at=None,
    )
    return {"requeued": len(requeued), "unknown": len(unknown), "resumed": len(resumed)}, affected_posts


def targets_claim_reconcile(*, limit: int = 50) -> list[int]:
    """Unknown outcomes due for a look-up; the next look-up is pushed back in case this one fails."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Target.objects.select_for_update(skip_locked=True)
            .filter(status=S.UNKNOWN, next_attempt_at__lte=now)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        retry_at = now + timedelta(seconds=settings.PUBLISH_RECONCILE_INTERVAL_SECONDS)
        Target.objects.filter(id__in=ids).update(next_attempt_at=retry_at)  # not a status change
        transaction.on_commit(lambda: enqueue_reconcile(ids))
    return ids


def enqueue_reconcile(target_ids: Iterable[int]) -> None:
    for target_id in target_ids:
        async_task("publishing.tasks.reconcile_target", target_id, task_name=f"reconcile-target-{target_id}")


# --- Worker side ----------------------------------------------------------------------------


def _attempts_after_start(target: Target) -> int:
    return target.attempts if target.resuming else target.attempts + 1


def targets_start(*, targets: Sequence[Target]) -> list[Target]:
    """queued -> publishing, once, for a batch in one conditional update; the targets that moved
    (another worker or a cancel may have got to the others first). A target resuming after
    waiting at the platform spends no attempt."""
    if not targets:
        return []
    now = timezone.now()
    lease = now + timedelta(seconds=settings.PUBLISH_DEADLINE_SECONDS)
    moved = set(
        targets_move(
            Target.objects.filter(id__in=[t.id for t in targets]),
            S.PUBLISHING,
            only_from=[S.QUEUED],
            started_at=now,
            attempts=Case(When(resuming=True, then=F("attempts")), default=F("attempts") + 1),
            resuming=False,
            lease_expires_at=lease,
            look_first=False,  # claimed for this worker: there are rows to move
        )
    )
    started = [t for t in targets if t.id in moved]
    for target in started:  # what the update wrote, mirrored without reading the rows again
        target.status, target.started_at, target.lease_expires_at = S.PUBLISHING, now, lease
        target.attempts, target.resuming = _attempts_after_start(target), False
    return started


def target_start(*, target: Target) -> bool:
    return bool(targets_start(targets=[target]))


def _defer_for_pace(target: Target) -> bool:
    """Hold a queued target back (no attempt spent) when its platform app's budget is used up."""
    keys = budget_keys(get_provider(target.account.platform), target.account)
    come_back = pace_reserve(keys) if keys else None
    if come_back is None:
        return False
    return target_move(
        target, S.RETRY_WAIT, only_from=[S.QUEUED], next_attempt_at=come_back, lease_expires_at=None
    )  # fmt: skip


def target_publish(*, target_id: int) -> None:
    targets_publish(target_ids=[target_id])


def targets_publish(*, target_ids: Sequence[int]) -> None:
    """Publish a task's claimed targets, delivered concurrently (one thread each: their calls
    wait on the network, not the CPU), then their posts rolled up. Each target still moves, and
    records each part as it lands, on its own. Where threads run, the task goes on as a sliding
    window (see _Window): a slot that frees up takes the next due target at once."""
    # Often all taken by a window meanwhile (or redelivered): the read then finds none.
    started, parts = _targets_begin(_targets_queued(target_ids))
    if not started:
        return
    # Threads use connections of their own: pointless on SQLite (one writer), and blind to this
    # connection's uncommitted work when the batch runs inside a transaction (tests, sync mode).
    # A media target travels alone to its own cluster, whose slots are not the text lane's.
    if connection.vendor == "sqlite" or connection.in_atomic_block or started[0].lane == MEDIA_LANE:
        for target in started:
            _publish_started(target, parts[target.id])
        posts_rollup(post_ids={t.post_id for t in started})
        return
    _Window(started, parts).run()


def _targets_queued(target_ids: Sequence[int]) -> list[Target]:
    """The targets of ``target_ids`` that are still queued, in that order (as claimed, due
    first: pacing serves the earliest first)."""
    queued = list(_with_relations(Target.objects.filter(id__in=target_ids, status=S.QUEUED)).order_by())
    order = {target_id: i for i, target_id in enumerate(target_ids)}
    queued.sort(key=lambda t: order[t.id])
    if len(queued) < len(target_ids):
        log.info("%s of targets %s are not queued any more", len(target_ids) - len(queued), list(target_ids))
    return queued


def _with_relations(targets: QuerySet[Target]) -> QuerySet[Target]:
    """What a worker reads of its targets in the same query: the post, the account and its
    workspace. The secrets are left undecrypted until the target has started: a key problem
    must end in a state (see _record_crash), not leave the target to be re-queued forever."""
    return targets.select_related("post", "account", "account__workspace").defer("account__secrets")


def _targets_begin(queued: Sequence[Target]) -> tuple[list[Target], dict[int, list[TargetPart]]]:
    """Start what pacing lets through, mark their posts publishing, and read what they need."""
    started = targets_start(targets=[t for t in queued if not _defer_for_pace(t)])
    if not started:
        return [], {}
    # A post whose first target starts is publishing: one conditional update, no lock needed.
    post_ids = {t.post_id for t in started}
    Post.objects.filter(id__in=post_ids, status=Post.Status.SCHEDULED).update(status=Post.Status.PUBLISHING)
    return started, _batch_prefetch(started)


_LOOK_AGAIN_S = 0.05  # how long a window waits before looking for newly due targets again


class _Window:
    """Keeps PUBLISH_BATCH_SIZE targets in flight for up to PUBLISH_WINDOW_SECONDS, instead of
    sending a batch, waiting for all of it, rolling it up and waiting for the next task. A few
    targets are claimed and started ahead (targets_claim_next), while the slots are busy, so a
    slot that frees up is refilled at once, not after a claim's dozen queries; posts are rolled
    up meanwhile too. Every target is still started, sent and recorded as in a batch; a started
    target that waits for a slot has its lease, like one in flight."""

    def __init__(self, first: Sequence[Target], parts: Mapping[int, list[TargetPart]]) -> None:
        self.slots = settings.PUBLISH_BATCH_SIZE
        # A batch is claimed once fewer than this wait started: claims as large as a task's
        # (each costs a dozen queries), made while half a batch is still in hand, so the slots
        # that free up during the claim's own round trips find work waiting.
        self.reserve = max(1, self.slots // 2)
        self.budget_ends = time.monotonic() + settings.PUBLISH_WINDOW_SECONDS
        self.look_after = 0.0  # after a claim that found nothing, the next look waits a moment
        # Due targets are looked for at the dispatcher's pace: what falls due meanwhile is
        # claimed together (each claim costs a dozen queries), not in ones and twos.
        self.due_after = 0.0
        self.pool = _pool()
        self.flying: dict[Future[None], Target] = {}
        self.ready: deque[tuple[Target, list[TargetPart]]] = deque((t, parts[t.id]) for t in first)
        self.claimed_at = {t.id: time.monotonic() for t in first}  # when each was started
        self.finished: set[int] = set()  # posts to roll up
        self.last_rollup = time.monotonic()

    def run(self) -> None:
        try:
            while True:
                self._launch()
                if self._wants_more():
                    self._claim()
                    self._launch()
                if not self.flying:  # nothing in flight, so nothing ready, and nothing due
                    return
                done, _ = wait(self.flying, timeout=_LOOK_AGAIN_S, return_when=FIRST_COMPLETED)
                for future in done:
                    self.finished.add(self.flying.pop(future).post_id)
                if len(self.finished) >= self.slots or time.monotonic() - self.last_rollup > 1:
                    self._rollup()  # overlaps the flying targets' network waits
        finally:
            self._drain()

    def _launch(self, *, all_of_them: bool = False) -> None:
        room = len(self.ready) if all_of_them else self.slots - len(self.flying)
        batch = [self.ready.popleft() for _ in range(min(room, len(self.ready)))]
        if not batch:
            return
        # A target started ahead has waited for its slot: its lease, taken at the claim, is
        # renewed as it is sent, and only while it still holds (a lapsed one may already be in
        # the dispatcher's hands, to be looked up and sent by another worker: this one must not).
        now = time.monotonic()
        waited = [t.id for t, _ in batch if now - self.claimed_at.get(t.id, now) > LEASE_RENEW_AFTER_S]
        kept = _leases_renewed(waited) if waited else set()
        for target, parts in batch:
            self.claimed_at.pop(target.id, None)
            if target.id in waited and target.id not in kept:
                log.warning("target %s waited past its lease for a slot; left to the dispatcher", target.id)
                continue
            self.flying[self.pool.submit(_publish_in_thread, target, parts)] = target

    def _wants_more(self) -> bool:
        now = time.monotonic()
        return len(self.ready) < self.reserve and now < self.budget_ends and now >= self.look_after

    def _claim(self) -> None:
        limit, now = self.slots, time.monotonic()
        due = now >= self.due_after or not self.flying  # an idle window looks before it ends
        started, parts = _claim_next_safely(limit, due=due)
        if due and len(started) < limit:  # the queued ones were not enough: due ones were looked for
            self.due_after = now + settings.PUBLISH_DISPATCH_MIN_SLEEP_SECONDS
        self.ready.extend((target, parts[target.id]) for target in started)
        self.claimed_at.update((target.id, time.monotonic()) for target in started)
        if not started:
            self.look_after = time.monotonic() + _LOOK_AGAIN_S

    def _rollup(self) -> None:
        if self.finished:
            posts_rollup(post_ids=self.finished)
        self.finished, self.last_rollup = set(), time.monotonic()

    def _drain(self) -> None:
        """The end, or a failure of this loop: what was started is delivered, every thread is
        waited for, and every post rolled up."""
        self._launch(all_of_them=True)
        for future in wait(self.flying).done:
            self.finished.add(self.flying[future].post_id)
        self.flying.clear()
        self._rollup()


# A target sent within this long of its start still has all but this of its lease: renewing it
# would cost a statement per launch for nothing.
LEASE_RENEW_AFTER_S = 1.0


def _leases_renewed(target_ids: list[int]) -> set[int]:
    """Renew the leases of these started targets that still hold one (PostgreSQL: the window runs
    only there), in one statement; the ids renewed."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.PUBLISH_DEADLINE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Target._meta.db_table} SET lease_expires_at = %s"  # noqa: S608 (our table's name)
            " WHERE id = ANY(%s) AND status = %s AND lease_expires_at > %s RETURNING id",
            [lease, target_ids, S.PUBLISHING, now],
        )
        return {row[0] for row in cursor.fetchall()}


def _claim_next_safely(limit: int, *, due: bool) -> tuple[list[Target], dict[int, list[TargetPart]]]:
    """targets_claim_next for the window; a failure ends the claims of this task, not the
    targets in flight (what it claimed and could not start is recovered by its lease)."""
    try:
        return targets_claim_next(limit=limit, due=due)
    except Exception:
        log.exception("a publishing window could not claim more targets")
        return [], {}


def targets_claim_next(*, limit: int, due: bool = True) -> tuple[list[Target], dict[int, list[TargetPart]]]:
    """Up to ``limit`` text targets for a worker's window, claimed and started (see
    _targets_begin) under their row locks (SKIP LOCKED, as the dispatcher claims), so no other
    window spends queries on them: first those the dispatcher has claimed whose task has not
    run yet (that task then finds them taken: targets_start moves only what is still queued),
    then, with ``due``, due ones, claimed here (-> queued, with a lease, as the dispatcher does)."""
    now = timezone.now()
    with transaction.atomic():
        queued = list(
            _with_relations(Target.objects.filter(status=S.QUEUED).exclude(lane=MEDIA_LANE))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at")[:limit]
        )
        if due and len(queued) < limit:
            due_ids = list(
                _due(now)
                .exclude(lane=MEDIA_LANE)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("next_attempt_at")
                .values_list("id", flat=True)[: limit - len(queued)]
            )
            if due_ids:
                lease = now + timedelta(seconds=settings.PUBLISH_QUEUE_LEASE_SECONDS)
                moved = targets_move(
                    Target.objects.filter(id__in=due_ids),
                    S.QUEUED,
                    queued_at=now,
                    lease_expires_at=lease,
                    look_first=False,
                )
                queued += _targets_queued(moved)
        return _targets_begin(queued) if queued else ([], {})


def _batch_prefetch(targets: Sequence[Target]) -> dict[int, list[TargetPart]]:
    """What every target of the batch reads, in a few queries for all: the posts' contents and
    media, the parts already recorded, and the accounts' secrets (now that they have started)."""
    prefetch_related_objects([t.post for t in targets], "contents__attachments__media")
    parts: dict[int, list[TargetPart]] = defaultdict(list)
    for part in TargetPart.objects.filter(target_id__in=[t.id for t in targets]).order_by("target_id", "position"):
        parts[part.target_id].append(part)
    # First runs: every part row of the batch in one insert (parts_ensure checks them again),
    # the main post born "sending" (so no second move), unless the account cannot send.
    fresh = [target for target in targets if not parts[target.id]]
    _first_parts_sending(targets, parts)  # targets resuming: their next part
    new = [
        TargetPart(target=target, position=position, kind=kind, **_born_sending(target, position))
        for target in fresh
        for position, kind in enumerate(_part_kinds(target.post))
    ]
    for part in parts_create(new, {target.id: target for target in fresh}):
        part.sending_now = part.status == P.SENDING  # moved by this run: _send_part sends it as it is
        parts[part.target_id].append(part)
    try:
        secrets = dict(
            SocialAccount.objects.filter(id__in={t.account_id for t in targets}).values_list("id", "secrets")
        )
    except Exception:  # a key that no longer decrypts: each target loads its own and ends in a state
        log.warning("could not read the secrets of a batch's accounts at once; loading them one by one")
        return parts
    for target in targets:
        target.account.secrets = dict(secrets[target.account_id])  # each target its own copy
    return parts


def _born_sending(target: Target, position: int) -> dict[str, Any]:
    if position or target.account.status != SocialAccount.Status.ACTIVE:
        return {}  # _deliver fails an inactive account's target without sending anything
    return {"status": P.SENDING, "attempts": 1}


def _first_parts_sending(targets: Sequence[Target], parts: dict[int, list[TargetPart]]) -> None:
    """Every target's next part -> sending, for the whole batch in one move (each part is still
    recorded alone the moment it lands). A part resuming from processing spends no attempt."""
    first = {}
    for target in targets:
        if target.account.status != SocialAccount.Status.ACTIVE:
            continue  # _deliver fails it without sending anything
        part = next((p for p in parts[target.id] if p.status != P.PUBLISHED), None)
        if part is not None and part.status in (P.PENDING, P.PROCESSING):
            first[part.id] = part
    if not first:
        return
    moved = parts_move(
        TargetPart.objects.filter(id__in=list(first)),
        P.SENDING,
        only_from=[P.PENDING, P.PROCESSING],
        attempts=Case(When(status=P.PROCESSING, then=F("attempts")), default=F("attempts") + 1),
    )
    for part_id in moved:
        part = first[part_id]
        part.attempt_spent = part.status != P.PROCESSING
        part.attempts = part.attempts + 1 if part.attempt_spent else part.attempts
        part.status = P.SENDING
        part.sending_now = True  # moved by this run: _send_part sends it without moving it again


def _part_kinds(post: Post) -> list[str]:
    """The kinds of a post's parts in publishing order (as PublishRequest.parts lists them)."""
    contents = list(post.contents.all())
    kinds = [c.kind for c in contents if c.kind == PostContent.Kind.MAIN][:1]
    kinds += [c.kind for c in contents if c.kind == PostContent.Kind.REPLY]
    return kinds + [c.kind for c in contents if c.kind == PostContent.Kind.FIRST_COMMENT][:1]


_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """One pool per worker process, made after the fork, sized to a batch; its threads keep their
    database connections between batches (CONN_MAX_AGE)."""
    import os

    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(settings.PUBLISH_BATCH_SIZE, "publish")
        return pool


def _publish_in_thread(target: Target, parts: list[TargetPart]) -> None:
    close_old_connections()  # this thread's connection, if it has outlived CONN_MAX_AGE or broke
    _publish_started(target, parts)


def _publish_started(target: Target, parts: list[TargetPart]) -> None:
    try:
        _deliver(target, parts)
    except Exception as exc:  # see _record_crash: no target may be left in a loop
        _record_crash(target, exc)


@dataclass
class _Run:
    """One worker's pass over a target's parts."""

    target: Target
    provider: Provider
    request: PublishRequest
    parts: list[TargetPart]

    def landed(self, position: int) -> PublishedItem | None:
        part = self.parts[position] if position < len(self.parts) else None
        if part is None or part.status != P.PUBLISHED:
            return None
        return PublishedItem(platform_post_id=part.platform_post_id, url=part.url, extra=part.facts)

    def _parent_label(self, position: int) -> str:
        return self.parts[position].label if position < len(self.parts) else "the post before it"

    def part_request(self, part: TargetPart) -> PartRequest:
        kind, content = self.request.parts()[part.position]
        root = self.landed(0) if part.position else None
        # A reply answers the part before it; the first comment answers the main post.
        parent_position = part.position - 1 if kind == "reply" else 0
        parent = self.landed(parent_position) if part.position else None
        if part.position and (root is None or parent is None or not parent.platform_post_id):
            # Never post a reply without the post it answers: it would go out on its own. (A
            # part marked as published by hand has a link but no id to answer.)
            raise ProviderError(
                ErrorClass.CONFIG,
                f"{part.label} was not sent: it must answer {self._parent_label(parent_position)}, whose id at "
                f"{self.provider.name} Postwright does not know. Post it by hand, or duplicate the post",
                code="no_parent",
            )
        return PartRequest(
            index=part.position,
            kind=kind,
            content=content,
            key=part_key(self.request.idempotency_key, part.position),
            root=root,
            parent=parent,
            state=dict(part.state or {}),
            uploads=PartUploads(part, target=self.target),
            sent_after=self.target.started_at,
        )


class PartUploads:
    """The engine's UploadStore: upload sessions survive crashes and deploys (see UploadSession).
    Saving is also proof of life: an upload that makes progress renews its target's lease, so a
    1 GB video is not taken for a dead worker at PUBLISH_DEADLINE_SECONDS."""

    def __init__(self, part: TargetPart, *, target: Target | None = None) -> None:
        self.part, self.target = part, target

    def load(self, key: str) -> dict[str, Any] | None:
        row = UploadSession.objects.filter(part=self.part, key=key).first()
        return dict(row.state) if row else None

    def save(self, key: str, state: Mapping[str, Any]) -> None:
        UploadSession.objects.update_or_create(part=self.part, key=key, defaults={"state": dict(state)})
        if self.target is not None:
            lease = timezone.now() + timedelta(seconds=settings.PUBLISH_DEADLINE_SECONDS)
            Target.objects.filter(id=self.target.id, status=S.PUBLISHING).update(lease_expires_at=lease)


def parts_ensure(target: Target, request: PublishRequest, parts: list[TargetPart] | None = None) -> list[TargetPart]:
    """The target's part rows (``parts``: as already read), made on its first run from what the post says."""
    if parts is None:
        parts = list(TargetPart.objects.filter(target=target).order_by("position"))
    wanted = request.parts()
    if len(parts) == len(wanted):
        return parts
    if any(part.status != P.PENDING for part in parts):
        raise RuntimeError(f"target {target.id} has {len(parts)} parts recorded but the post has {len(wanted)}")
    TargetPart.objects.filter(target=target).delete()
    return TargetPart.objects.bulk_create(
        TargetPart(target=target, position=position, kind=kind) for position, (kind, _) in enumerate(wanted)
    )


def _deliver(target: Target, parts: list[TargetPart] | None = None) -> None:
    account = target.account
    provider = get_provider(account.platform)
    request = build_request(target)
    run = _Run(target=target, provider=provider, request=request, parts=parts_ensure(target, request, parts))
    if account.status != SocialAccount.Status.ACTIVE:
        # Disconnected or waiting for a reconnect: fail now with the reason, touch nothing.
        error = ProviderError(
            ErrorClass.AUTH, f"{account.username} is {account.get_status_display().lower()}", code="inactive"
        )
        _fail_target(run, error, part=None)
        return
    for part in run.parts:
        if part.status == P.PUBLISHED:
            continue
        if not _send_part(run, part):
            return  # waiting at the platform, retrying later, failed, or in doubt
    if all(part.status == P.PUBLISHED for part in run.parts) and target.status == S.PUBLISHING:
        _target_published(target)  # every part had landed before this run (the last one recorded it not)


def _target_published(target: Target) -> None:
    """publishing -> published, for a target whose parts had all landed before this run."""
    landing_apply([_target_published_planned(target)])


def _target_published_planned(target: Target, *, after: Move | None = None, **fields: str) -> Move:
    """publishing -> published; ``fields`` carry the main post's id and link when it is the part
    that just landed (one update for both)."""
    fields.setdefault("platform_post_id", target.platform_post_id)
    fields.setdefault("url", target.url)
    return target_move_planned(
        target, S.PUBLISHED, only_from=[S.PUBLISHING], after=after, finished_at=timezone.now(),
        lease_expires_at=None, status_reason="", error_class="", error_code="", error_message="",
        payload={"url": fields["url"], "platform_post_id": fields["platform_post_id"]}, **fields,
    )  # fmt: skip


def _send_part(run: _Run, part: TargetPart) -> bool:
    """Send one part; True when it landed (the caller goes on to the next one)."""
    if not getattr(part, "sending_now", False):
        part.attempt_spent = part.status != P.PROCESSING
        attempts = part.attempts + 1 if part.attempt_spent else part.attempts
        if not part_move(part, P.SENDING, target=run.target, attempts=attempts):
            raise RuntimeError(f"part {part.id} of target {run.target.id} is {part.status}, not ready to send")
    part.sending_now = False
    account, provider, request = run.target.account, run.provider, run.request
    try:
        part_request = run.part_request(part)
        answer = call_with_account(
            account=account,
            operation=lambda state: provider.publish_part(account=state, request=request, part=part_request),
        )
    except ProviderError as exc:
        if exc.error_class == ErrorClass.RATE and exc.retry_after:
            pace_block(budget_keys(provider, account), seconds=exc.retry_after)
        _record_part_failure(run, part, exc)
        return False
    if isinstance(answer, Pending):
        _wait_at_platform(run, part, answer)
        return False
    last = all(p.status == P.PUBLISHED for p in run.parts if p is not part)
    return _record_landed(run.target, part, answer, last=last)


def _record_landed(
    target: Target, part: TargetPart, item: PublishedItem, *, last: bool = False, found: bool = False
) -> bool:
    """The part is recorded the moment it lands; the last one also publishes its target, in
    the same statement. False when the part had moved on meanwhile (this run lost its lease
    and another took over): nothing is written, and the caller must stop."""
    url = safe_url(item.url, max_length=2000)
    ids = {"platform_post_id": item.platform_post_id[:255], "url": url} if part.position == 0 else {}
    # This run's own part lands from "sending"; one found by reconciliation, from "unknown".
    landing = part_move_planned(
        part, P.PUBLISHED, target=target, only_from=[P.UNKNOWN if found else P.SENDING],
        platform_post_id=item.platform_post_id[:255], url=url, facts=dict(item.extra), state={},
        processing_since=None, landed_at=timezone.now(), error_class="", error_code="", error_message="",
        payload={"platform_post_id": item.platform_post_id, "url": url},
    )  # fmt: skip
    moves, ids_after_landing = [landing], []
    if last and target.status == S.PUBLISHING:
        moves.append(_target_published_planned(target, after=landing, **ids))
    elif ids:
        ids_after_landing.append((landing, target, dict(ids)))
    if not landing_apply(moves, fields_only=ids_after_landing)[0]:
        log.warning("part %s of target %s moved on while it was being sent; this run stops", part.id, target.id)
        return False
    return True


def _wait_at_platform(run: _Run, part: TargetPart, pending: Pending) -> None:
    """Free the worker: the dispatcher resumes the target when the platform should be done, unless
    it has been at it for longer than PUBLISH_MAX_PROCESSING_SECONDS (then the part fails)."""
    now = timezone.now()
    since = part.processing_since or now
    limit = settings.PUBLISH_MAX_PROCESSING_SECONDS
    if (now - since).total_seconds() > limit:
        hours = limit / 3600
        error = ProviderError(
            ErrorClass.CONTENT,
            f"{pending.reason or run.provider.name + ' was still processing'}: still not done after "
            f"{hours:g} hour{'s' if hours != 1 else ''}, so Postwright stopped waiting",
            code="processing_timeout",
        )
        _fail_target(run, error, part=part)
        return
    check_in = max(0.5, min(pending.check_in_s, settings.PUBLISH_MAX_PROCESSING_CHECK_SECONDS))
    with transaction.atomic():
        part_move(part, P.PROCESSING, target=run.target, state=dict(pending.state), processing_since=since)
        target_move(
            run.target,
            S.PROCESSING,
            only_from=[S.PUBLISHING],
            next_attempt_at=now + timedelta(seconds=check_in),
            lease_expires_at=None,
            resuming=True,
            status_reason=pending.reason[:300],
            payload={"reason": pending.reason, "position": part.position},
        )


class _ErrorFields(TypedDict):
    """The error columns a target and a part share, passed to the moves as fields."""

    error_class: str
    error_code: str
    error_message: str


def _error_fields(error: ProviderError) -> _ErrorFields:
    return {"error_class": error.error_class.value, "error_code": error.code[:100], "error_message": error.message}


def _record_part_failure(run: _Run, part: TargetPart, error: ProviderError) -> None:
    """The single place where a failure's class decides what happens next."""
    now, target = timezone.now(), run.target
    fields = _error_fields(error)
    if error.outcome_unknown:
        # Reconciled by the dispatcher's next pass (targets_claim_reconcile), never re-sent blindly.
        with transaction.atomic():
            part_move(part, P.UNKNOWN, target=target, **fields)
            target_move(target, S.UNKNOWN, only_from=[S.PUBLISHING], next_attempt_at=now, lease_expires_at=None,
                        status_reason="", **fields)  # fmt: skip
        return
    if error.held and error.retry_after:
        # Nothing was sent: the part's attempt is given back, and the target's next start counts
        # none, however many days the wait lasts.
        attempts = part.attempts - 1 if part.attempt_spent else part.attempts
        with transaction.atomic():
            part_move(part, P.PENDING, target=target, attempts=max(attempts, 0), **fields)
            target_move(target, S.RETRY_WAIT, only_from=[S.PUBLISHING], lease_expires_at=None, status_reason="",
                        next_attempt_at=now + timedelta(seconds=error.retry_after), resuming=True,
                        **fields)  # fmt: skip
        return
    if error.retryable and part.attempts < settings.PUBLISH_MAX_ATTEMPTS:
        wait = max(backoff_seconds(part.attempts), error.retry_after or 0)
        with transaction.atomic():
            part_move(part, P.PENDING, target=target, **fields)  # resume state kept: uploads are not redone
            target_move(target, S.RETRY_WAIT, only_from=[S.PUBLISHING], next_attempt_at=now + timedelta(seconds=wait),
                        lease_expires_at=None, status_reason="", **fields)  # fmt: skip
        return
    _fail_target(run, error, part=part)


def _fail_target(run: _Run, error: ProviderError, *, part: TargetPart | None) -> None:
    target = run.target
    message = error.message
    if error.error_class == ErrorClass.AUTH:
        message = f"{message} — reconnect the account on the Accounts page, then retry."
    elif error.retryable and part is not None:
        message = f"{message} (gave up after {part.attempts} attempts)"
    landed = [p for p in run.parts if p.status == P.PUBLISHED]
    if part is not None and landed:
        message = f"Posted; {part.label} refused: {message}. Retry sends only what did not go out."
    fields: _ErrorFields = {**_error_fields(error), "error_message": message}
    with transaction.atomic():
        if part is not None:
            part_move(part, P.FAILED, target=target, **_error_fields(error))
        target_move(
            target, S.FAILED, only_from=[S.PUBLISHING], finished_at=timezone.now(), lease_expires_at=None,
            status_reason="", **fields,
            payload={"error": message, "landed_parts": len(landed)},
        )  # fmt: skip
    tell_author(target_id=target.id)


def _record_crash(target: Target, exc: Exception) -> None:
    """Anything that is not a classified platform failure (a bug, a missing media file, a key
    that no longer decrypts) still ends in a state: unknown, so a part that may have been sent is
    looked up, never resent blindly, and the target is given up after PUBLISH_MAX_ATTEMPTS runs."""
    log.exception("publishing target %s failed unexpectedly", target.id)
    message = f"Internal error while publishing ({type(exc).__name__}); checking whether the post went out."
    fields: _ErrorFields = {"error_class": ErrorClass.TRANSIENT.value, "error_code": "crash", "error_message": message}
    with transaction.atomic():
        for part in TargetPart.objects.filter(target=target, status=P.SENDING):
            part_move(part, P.UNKNOWN, target=target, **fields)
        target_move(target, S.UNKNOWN, only_from=[S.PUBLISHING], next_attempt_at=timezone.now(),
                    lease_expires_at=None, status_reason="", **fields)  # fmt: skip


# --- Reconciliation -------------------------------------------------------------------------


def target_reconcile(*, target_id: int) -> None:
    """Decide an unknown outcome without risking a duplicate: look the part in doubt up on the
    platform; found, it is recorded and the rest follows; not there, it is sent again (safe: it
    does not exist) unless attempts are spent; where the platform offers no way to look, ask."""
    target = Target.objects.select_related("post", "account").filter(id=target_id, status=S.UNKNOWN).first()
    if target is None:
        return
    try:
        _reconcile(target)
    except Exception as exc:  # a reconciliation that cannot run must say so, not loop
        log.exception("reconciling target %s failed unexpectedly", target_id)
        Target.objects.filter(id=target_id, status=S.UNKNOWN).update(
            next_attempt_at=None,
            error_message=f"Could not check whether the post went out ({type(exc).__name__}). "
            "Look at the account, then mark this as published or publish again.",
        )
        tell_author(target_id=target_id)
    post_rollup(post_id=target.post_id)


def _reconcile(target: Target) -> None:
    parts = list(TargetPart.objects.filter(target=target).order_by("position"))
    in_doubt = next((part for part in parts if part.status == P.UNKNOWN), None)
    if in_doubt is None:
        _resume_or_give_up(target, parts, None)  # a crash before anything was sent: nothing to look up
        return
    provider = get_provider(target.account.platform)
    if not provider.supports_lookup:
        _ask_author(target, f"{provider.name} did not answer in time and offers no way to check whether "
                    f"{in_doubt.label} went out.")  # fmt: skip
        return
    request = build_request(target)
    run = _Run(target=target, provider=provider, request=request, parts=parts)
    try:
        part_request = run.part_request(in_doubt)
        found = call_with_account(
            account=target.account,
            operation=lambda state: provider.find_part(account=state, request=request, part=part_request),
        )
    except ProviderError as exc:
        if exc.retryable and not _looked_long_enough(target):
            return  # the dispatcher looks again at next_attempt_at
        _ask_author(target, f"{provider.name} could not tell whether {in_doubt.label} went out ({exc.message}).")
        return
    if found is not None:
        _record_landed(target, in_doubt, found, found=True)
        _resume_or_give_up(target, parts, None, progressed=True)
    else:
        _resume_or_give_up(target, parts, in_doubt)


def _looked_long_enough(target: Target) -> bool:
    """A platform that keeps failing the look-up: after PUBLISH_RECONCILE_GIVE_UP_SECONDS the
    author is asked, rather than the target waiting unknown for ever."""
    started = target.started_at
    limit = timedelta(seconds=settings.PUBLISH_RECONCILE_GIVE_UP_SECONDS)
    return started is not None and timezone.now() - started > limit


def _resume_or_give_up(
    target: Target, parts: list[TargetPart], not_found: TargetPart | None, *, progressed: bool = False
) -> None:
    """After a look-up: everything landed -> published; else send the rest now, or give up.
    ``progressed``: the part in doubt was found, so the run that lost its answer did not fail and
    the rest goes out whatever the target's attempts say (only runs that achieved nothing count)."""
    now = timezone.now()
    if parts and all(part.status == P.PUBLISHED for part in parts):
        target_move(target, S.PUBLISHED, only_from=[S.UNKNOWN], finished_at=now, next_attempt_at=None,
                    error_class="", error_code="", error_message="", lease_expires_at=None)  # fmt: skip
        return
    spent = not progressed and (not_found.attempts if not_found else target.attempts) >= settings.PUBLISH_MAX_ATTEMPTS
    with transaction.atomic():
        if spent:
            message = f"{target.error_message} It did not go out after {settings.PUBLISH_MAX_ATTEMPTS} attempts."
            if not_found is not None:
                part_move(not_found, P.FAILED, target=target, only_from=[P.UNKNOWN])
            target_move(target, S.FAILED, only_from=[S.UNKNOWN], finished_at=now, next_attempt_at=None,
                        lease_expires_at=None, error_message=message.strip())  # fmt: skip
        else:
            if not_found is not None:
                part_move(not_found, P.PENDING, target=target, only_from=[P.UNKNOWN])
            target_move(target, S.SCHEDULED, only_from=[S.UNKNOWN], next_attempt_at=now, lease_expires_at=None)
    if spent:
        tell_author(target_id=target.id)


def _ask_author(target: Target, reason: str) -> None:
    Target.objects.filter(id=target.id, status=S.UNKNOWN).update(
        next_attempt_at=None,
        error_message=f"{reason} Look at the account, then mark it as published or publish again.",
    )
    tell_author(target_id=target.id)
