"""The analytics sync engine: claim due syncs, fetch numbers in batches, store what changed.

One MetricSync row per published part and per account says when its numbers are read next
(analytics/schedule.py). Due rows are claimed like publishing targets: locked with SKIP LOCKED
on PostgreSQL, and everywhere leased to a claim token for ANALYTICS_CLAIM_LEASE_SECONDS, so two
workers never read the same row and a crashed worker's rows come due again when the lease runs
out. The parts of one account are read with one call per batch; calls draw on the same rate
budgets as publishing, but only on time publishing leaves unused (pace_reserve_spare).

A platform with no numbers for a part yet leaves it out of its answer: nothing is stored, and it
is asked again later. A snapshot is written only when a number changed; the latest numbers
(PartMetrics) are always brought up to date. An account that needs reconnecting pauses its
syncs, with the reason on each row, until it is reconnected.
"""

import logging
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from analytics import rollup, schedule
from analytics.models import (
    ACCOUNT_METRIC_FIELDS,
    ENGAGEMENT_FIELDS,
    POST_METRIC_FIELDS,
    AccountMetricSnapshot,
    MetricSync,
    PartMetrics,
    PartMetricSnapshot,
)
from connections.errors import ErrorClass, ProviderError
from connections.models import Grant, SocialAccount
from connections.providers.base import EXTRA, AccountMetrics, PostMetrics, Provider
from connections.registry import get_provider
from connections.services import call_with_account
from publishing.engine import backoff_seconds
from publishing.models import TargetPart
from publishing.pacing import budget_keys, pace_block, pace_reserve, pace_reserve_spare

log = logging.getLogger(__name__)
K = MetricSync.Kind
NOT_YET = "The platform has no numbers for it yet; asking again later."
NEEDS_RECONNECT = "Paused: the account needs reconnecting."


@dataclass
class SyncResult:
    """What one pass did, for the command's progress lines and the benchmark."""

    claimed: int = 0
    synced: int = 0  # rows whose numbers were read (changed or not)
    snapshots: int = 0  # rows whose numbers changed, so a snapshot was written
    not_yet: int = 0
    failed: int = 0
    deferred: int = 0  # left for later: the budget had no spare time
    rate_limited: int = 0  # the platform said slow down
    calls: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # account id -> last reason

    def add(self, other: "SyncResult") -> None:
        for name in ("claimed", "synced", "snapshots", "not_yet", "failed", "deferred", "rate_limited", "calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)


# --- Creating sync rows ---------------------------------------------------------------------


def _metrics_platforms() -> tuple[list[str], list[str]]:
    """Platforms whose providers read post numbers, and those that read account totals."""
    from connections.registry import enabled_platforms

    posts, accounts = [], []
    for platform in enabled_platforms():
        provider = get_provider(platform)
        if provider.supports_metrics:
            posts.append(platform)
        if provider.supports_account_metrics:
            accounts.append(platform)
    return posts, accounts


def _published_at(part: TargetPart) -> datetime:
    return part.landed_at or part.target.finished_at or timezone.now()


def part_syncs_create(parts: Iterable[TargetPart]) -> int:
    """A sync row for each published part of a platform that has post numbers (parts that have
    one already are left alone); its first read falls due one schedule step after publishing."""
    platforms, _accounts = _metrics_platforms()
    rows = [
        MetricSync(
            kind=K.PART,
            part=part,
            account_id=part.target.account_id,
            workspace_id=part.target.workspace_id,
            due_at=schedule.step_due(_published_at(part), 0),
        )
        for part in parts
        if part.status == TargetPart.Status.PUBLISHED
        and part.platform_post_id
        and part.target.account.platform in platforms
    ]
    return len(MetricSync.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000))


def part_syncs_backfill(*, batch: int = 2000) -> int:
    """Sync rows for published parts that have none (history from before analytics ran, rows
    written outside the engine); bounded batches, so a large history is taken in steps."""
    has_sync = MetricSync.objects.filter(kind=K.PART, part=OuterRef("pk"))
    missing = (
        TargetPart.objects.filter(status=TargetPart.Status.PUBLISHED, removed_at=None)
        .exclude(platform_post_id="")
        .exclude(Exists(has_sync))
        .select_related("target__account")
        .order_by("id")
    )
    created = 0
    while parts := list(missing[:batch]):
        created += part_syncs_create(parts)
        if len(parts) < batch:
            break
    return created


def part_syncs_from_outbox(*, limit: int = 1000) -> int:
    """Sync rows for the parts that landed since the last look, read from the event outbox
    (``part.published``) after the analytics cursor, which then moves past them."""
    from analytics.outbox import outbox_read

    return outbox_read(
        types=["part.published"],
        handle=lambda ids: part_syncs_create(
            TargetPart.objects.filter(id__in=ids).select_related("target__account").order_by()
        ),
        limit=limit,
    )


def account_syncs_ensure() -> int:
    """A daily sync row for every connected account of a platform that has account totals."""
    _posts, platforms = _metrics_platforms()
    has_sync = MetricSync.objects.filter(kind=K.ACCOUNT, account=OuterRef("pk"))
    missing = SocialAccount.objects.filter(platform__in=platforms, status=SocialAccount.Status.ACTIVE).exclude(
        Exists(has_sync)
    )
    now = timezone.now()
    rows = [
        MetricSync(kind=K.ACCOUNT, account_id=account_id, workspace_id=workspace_id, due_at=now)
        for account_id, workspace_id in missing.values_list("id", "workspace_id")
    ]
    return len(MetricSync.objects.bulk_create(rows, ignore_conflicts=True))


def _unusable_accounts() -> Q:
    """Accounts whose calls cannot work until someone reconnects them."""
    return ~Q(account__status=SocialAccount.Status.ACTIVE) | Q(
        account__grant__status__in=[Grant.Status.NEEDS_RECONNECT, Grant.Status.REVOKED]
    )


def syncs_pause_and_resume() -> tuple[int, int]:
    """Pause the syncs of accounts needing a reconnect; resume those reconnected since (due
    at once: their numbers are stale). (paused, resumed)."""
    paused = (
        MetricSync.objects.filter(paused=False)
        .filter(_unusable_accounts())
        .update(paused=True, last_error=NEEDS_RECONNECT, claimed_until=None, claimed_by="")
    )
    reconnected = MetricSync.objects.filter(paused=True).exclude(_unusable_accounts())
    resumed = reconnected.update(paused=False, last_error="", attempts=0, due_at=timezone.now())
    return paused, resumed


def housekeeping() -> dict[str, int]:
    """What the sync loop runs now and then: new rows, backfill, pausing and resuming."""
    paused, resumed = syncs_pause_and_resume()
    return {
        "parts": part_syncs_from_outbox(),
        "accounts": account_syncs_ensure(),
        "paused": paused,
        "resumed": resumed,
    }


# --- Claiming -------------------------------------------------------------------------------


def _due(now: datetime) -> QuerySet[MetricSync]:
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return MetricSync.objects.filter(due_at__lte=now, paused=False).filter(free)


def syncs_claim(*, limit: int = 500, now: datetime | None = None) -> list[MetricSync]:
    """Claim due rows for this worker: locked rows are skipped (PostgreSQL), and the lease is
    written with a token of this claim, so the rows returned are exactly the ones it took even
    where there is no row locking (SQLite) and another worker claimed at the same moment."""
    now = now or timezone.now()
    if not _due(now).exists():
        return []  # most passes: no write transaction
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            _due(now).select_for_update(skip_locked=True).order_by("due_at").values_list("id", flat=True)[:limit]
        )
        lease = now + timedelta(seconds=settings.ANALYTICS_CLAIM_LEASE_SECONDS)
        _due(now).filter(id__in=ids).update(claimed_until=lease, claimed_by=token)
    return list(
        MetricSync.objects.filter(claimed_by=token)
        .select_related("account__grant", "part__target")
        .order_by("account_id", "due_at")
    )


# --- Running ----------------------------------------------------------------------------------


def syncs_run(*, limit: int = 500, concurrency: int = 8) -> SyncResult:
    """One pass: claim due rows and read them, one account's batches after another, accounts
    side by side (threads: calls wait on the network), except on SQLite (one writer)."""
    claimed = syncs_claim(limit=limit)
    result = SyncResult(claimed=len(claimed))
    by_account: dict[int, list[MetricSync]] = defaultdict(list)
    for row in claimed:
        by_account[row.account_id].append(row)
    groups = list(by_account.values())
    if connection.vendor == "sqlite" or connection.in_atomic_block or concurrency <= 1 or len(groups) == 1:
        outcomes = [account_sync(rows=rows) for rows in groups]
    else:
        outcomes = list(_pool(concurrency).map(_account_sync_in_thread, groups))
    for outcome in outcomes:
        result.add(outcome)
    return result


_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}
_pool_lock = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    """One pool per process and size, kept: its threads keep their database connections between
    passes (CONN_MAX_AGE) instead of opening new ones every few seconds."""
    key = (os.getpid(), size)
    with _pool_lock:
        if key not in _pools:
            _pools[key] = ThreadPoolExecutor(size, "analytics")
        return _pools[key]


def _account_sync_in_thread(rows: list[MetricSync]) -> SyncResult:
    close_old_connections()  # this thread's connection, if it has outlived CONN_MAX_AGE or broke
    return account_sync(rows=rows)


def account_sync(*, rows: Sequence[MetricSync]) -> SyncResult:
    """Read one account's claimed rows: its totals, then its parts in the provider's batches.
    Stops at the first call the budget or the platform refuses, leaving the rest for later."""
    result, token = SyncResult(), rows[0].claimed_by  # read first: storing a row clears it
    try:
        _account_sync(rows, result)
    except Exception as exc:  # a bug or an unreadable secret: recorded, and the other accounts go on
        log.exception("analytics sync of account %s failed", rows[0].account_id)
        reason = f"Unexpected error: {type(exc).__name__}"
        result.errors[str(rows[0].account_id)] = reason
        attempts = max(row.attempts for row in rows) + 1
        unfinished = MetricSync.objects.filter(id__in=[row.id for row in rows], claimed_by=token)
        result.failed += unfinished.update(
            attempts=attempts, last_error=reason, claimed_until=None, claimed_by="",
            due_at=timezone.now() + timedelta(seconds=backoff_seconds(attempts)),
        )  # fmt: skip
    return result


def _account_sync(rows: Sequence[MetricSync], result: SyncResult) -> None:
    account = rows[0].account
    provider = get_provider(account.platform)
    removed = [row.id for row in rows if row.part is not None and row.part.removed_at is not None]
    if removed:  # deleted from the platform since: no numbers will come; its history stays
        MetricSync.objects.filter(id__in=removed).delete()
    parts = [row for row in rows if row.kind == K.PART and row.id not in removed]
    batches: list[list[MetricSync]] = [[row] for row in rows if row.kind == K.ACCOUNT]
    size = max(1, provider.metrics_batch_size)
    batches += [parts[i : i + size] for i in range(0, len(parts), size)]
    for index, batch in enumerate(batches):
        stop = _batch_sync(account, provider, batch, result)
        if stop is not None:
            _release([row for later in batches[index + 1 :] for row in later], result, due_at=stop.due_at)
            if stop.due_at is not None:
                # The account's other due rows wait too, so the next pass does not claim them
                # only to give them back.
                _due(timezone.now()).filter(account=account).update(due_at=stop.due_at)
            break


@dataclass(frozen=True)
class Stop:
    """The account's remaining rows wait: until ``due_at``, or (None) as they were due."""

    due_at: datetime | None = None


def _batch_sync(account: SocialAccount, provider: Provider, rows: list[MetricSync], result: SyncResult) -> Stop | None:
    """One call for these rows; a Stop when the account's other rows must wait."""
    if account.status != SocialAccount.Status.ACTIVE or (
        account.grant is not None and account.grant.status != Grant.Status.ACTIVE
    ):
        MetricSync.objects.filter(account=account).update(paused=True, last_error=NEEDS_RECONNECT,
                                                          claimed_until=None, claimed_by="")  # fmt: skip
        return Stop()
    wait = _wait_for_budget(account, provider)
    if wait is not None:
        _release(rows, result, due_at=wait)
        return Stop(wait)
    kind = rows[0].kind
    try:
        if kind == K.ACCOUNT:
            totals = call_with_account(account=account, operation=lambda s: provider.fetch_account_metrics(account=s))
        else:
            ids = [row.part.platform_post_id for row in rows if row.part is not None]
            found = call_with_account(
                account=account, operation=lambda s: provider.fetch_metrics(account=s, platform_post_ids=ids)
            )
    except ProviderError as exc:
        result.calls += 1
        return _record_failure(account, provider, rows, exc, result)
    result.calls += 1
    if kind == K.ACCOUNT:
        _store_account(rows[0], totals, provider, result)
    else:
        _store_parts(rows, found, provider, result)
    return None


def quota_held_until(provider: Provider, account: SocialAccount) -> datetime | None:
    """Until when a quota the platform counts its own way (YouTube's units, Meta's usage) is past
    the share background reads may use; None when they may read now. Syncs and imports ask it."""
    held = provider.metrics_hold(account=account.state(), reserve=settings.ANALYTICS_BUDGET_RESERVE)
    return None if held is None else timezone.now() + timedelta(seconds=held)


def _wait_for_budget(account: SocialAccount, provider: Provider) -> datetime | None:
    """When to come back if this call would take what publishing needs; None: call now."""
    held_until = quota_held_until(provider, account)
    if held_until is not None:
        return held_until
    reads = _reads_budget(provider, account)
    if reads:  # the metrics endpoint's own limit: all of it is analytics'
        come_back = pace_reserve(reads)
        if come_back is not None:
            return come_back
    keys = budget_keys(provider, account)
    return pace_reserve_spare(keys, reserve=settings.ANALYTICS_BUDGET_RESERVE) if keys else None


def _reads_budget(provider: Provider, account: SocialAccount) -> list[tuple[str, float]]:
    if not provider.metrics_calls_per_minute:
        return []
    return [(f"{provider.id}:metrics:{account.pk}", 60 / provider.metrics_calls_per_minute)]


def _release(rows: Sequence[MetricSync], result: SyncResult, *, due_at: datetime | None = None) -> None:
    """Give claimed rows back untouched (no attempt spent), due again at ``due_at`` if given."""
    if not rows:
        return
    fields: dict[str, Any] = {"claimed_until": None, "claimed_by": ""}
    if due_at is not None:
        fields["due_at"] = due_at
    MetricSync.objects.filter(id__in=[row.id for row in rows], claimed_by=rows[0].claimed_by).update(**fields)
    result.deferred += len(rows)


def _record_failure(
    account: SocialAccount, provider: Provider, rows: list[MetricSync], error: ProviderError, result: SyncResult
) -> Stop | None:
    """Why it failed, on every row of the call; when to try again depends on the kind."""
    now = timezone.now()
    reason = f"{error.error_class}: {error.message}"[:2000]
    result.errors[str(account.id)] = reason
    ids = [row.id for row in rows]
    if error.error_class == ErrorClass.AUTH:
        # call_with_account has marked the account (or its grant) as needing a reconnect.
        MetricSync.objects.filter(account=account).update(paused=True, last_error=f"{NEEDS_RECONNECT} {reason}",
                                                          claimed_until=None, claimed_by="")  # fmt: skip
        result.failed += len(rows)
        return Stop()
    if error.error_class == ErrorClass.RATE:
        retry_at = now + timedelta(seconds=error.retry_after or backoff_seconds(1))
        for keys in (_reads_budget(provider, account), budget_keys(provider, account)):
            pace_block(keys, seconds=(retry_at - now).total_seconds())
        MetricSync.objects.filter(id__in=ids).update(due_at=retry_at, last_error=reason, claimed_until=None,
                                                     claimed_by="")  # fmt: skip
        result.rate_limited += 1
        result.deferred += len(rows)
        return Stop(retry_at)
    attempts = max(row.attempts for row in rows) + 1
    retry_at = now + timedelta(seconds=backoff_seconds(attempts))
    MetricSync.objects.filter(id__in=ids).update(attempts=attempts, last_error=reason, due_at=retry_at,
                                                 claimed_until=None, claimed_by="")  # fmt: skip
    result.failed += len(rows)
    # A TRANSIENT failure likely hits the account's next call too; a CONTENT one (one bad id in
    # the batch) or CONFIG does not say that of the rest.
    return Stop(retry_at) if error.error_class == ErrorClass.TRANSIENT else None


# --- Storing ----------------------------------------------------------------------------------


def post_values(metrics: PostMetrics, table: Mapping[str, str]) -> tuple[dict[str, int | None], dict[str, int]]:
    """Our columns and the extras for a provider's PostMetrics: extras the provider's mapping
    table names as one of ours fill that column (where the platform gave no number of its own)."""
    values: dict[str, int | None] = {
        "likes": metrics.likes, "reposts": metrics.reposts, "replies": metrics.replies, "quotes": metrics.quotes,
        "saves": metrics.saves, "views": metrics.impressions, "reach": metrics.reach, "clicks": metrics.clicks,
    }  # fmt: skip
    extra: dict[str, int] = {}
    for name, number in metrics.extra.items():
        ours = table.get(name, EXTRA)
        if ours in values and values[ours] is None:
            values[ours] = number
        else:
            extra[name] = number
    return values, extra


def _engagement(values: Mapping[str, int | None]) -> int:
    return sum(values[name] or 0 for name in ENGAGEMENT_FIELDS)


def _advance(row: MetricSync, published_at: datetime, now: datetime) -> None:
    row.step, row.due_at = schedule.next_step(published_at, row.step, now)
    row.attempts, row.last_error, row.last_synced_at = 0, "", now
    row.claimed_until, row.claimed_by = None, ""


def _not_yet(row: MetricSync, published_at: datetime, now: datetime) -> None:
    """Ask again after a growing wait; after ANALYTICS_NOT_YET_TRIES the schedule moves on."""
    if row.attempts + 1 >= settings.ANALYTICS_NOT_YET_TRIES:
        _advance(row, published_at, now)
        row.last_error = NOT_YET
        return
    row.attempts += 1
    row.due_at = now + timedelta(seconds=backoff_seconds(row.attempts + 2))  # 2 min, 4, 8 ...
    row.last_error, row.claimed_until, row.claimed_by = NOT_YET, None, ""


SYNC_FIELDS = ["step", "due_at", "attempts", "last_error", "last_synced_at", "claimed_until", "claimed_by"]


def _store_parts(rows: list[MetricSync], found: Mapping[str, PostMetrics], provider: Provider,
                 result: SyncResult) -> None:  # fmt: skip
    now = timezone.now()
    latest = {m.part_id: m for m in PartMetrics.objects.filter(part_id__in=[row.part_id for row in rows])}
    snapshots: list[PartMetricSnapshot] = []
    changed: list[PartMetrics] = []
    for row in rows:
        part = row.part
        if part is None:  # a part row always has its part (the FK cascades): never here
            continue
        published_at = _published_at(part)
        metrics = found.get(part.platform_post_id)
        if metrics is None:
            _not_yet(row, published_at, now)
            result.not_yet += 1
            continue
        values, extra = post_values(metrics, provider.metric_names)
        _advance(row, published_at, now)
        result.synced += 1
        current = latest.get(part.id)
        if current is not None and _same(current, values, extra, POST_METRIC_FIELDS):
            continue
        common = {"workspace_id": row.workspace_id, "account_id": row.account_id, "target_id": part.target_id}
        snapshots.append(PartMetricSnapshot(**common, part=part, taken_at=now, extra=extra, **values))
        changed.append(
            PartMetrics(**common, part=part, published_at=published_at, extra=extra, engagement=_engagement(values),
                        first_synced_at=current.first_synced_at if current else now, updated_at=now, **values)
        )  # fmt: skip
    with transaction.atomic():
        PartMetricSnapshot.objects.bulk_create(snapshots)
        PartMetrics.objects.bulk_create(
            changed, update_conflicts=True, unique_fields=["part"],
            update_fields=[*POST_METRIC_FIELDS, "extra", "engagement", "updated_at", "published_at"],
        )  # fmt: skip
        MetricSync.objects.bulk_update(rows, SYNC_FIELDS)
        _refresh_rollup(changed, latest)
    result.snapshots += len(snapshots)


def _refresh_rollup(changed: list[PartMetrics], latest: Mapping[int, PartMetrics]) -> None:
    """The day cells of the parts just written (and of their old days, should a part have moved),
    recomputed in the same transaction: a retried batch recomputes the same numbers."""
    by_workspace: dict[int, list[PartMetrics]] = defaultdict(list)
    for metrics in changed:
        by_workspace[metrics.workspace_id].append(metrics)
    for workspace_id, written in sorted(by_workspace.items()):  # one order for every writer: no deadlock
        touched = [(m.account_id, m.published_at) for m in written]
        touched += [(old.account_id, old.published_at) for m in written if (old := latest.get(m.part_id))]
        rollup.refresh(workspace_id, touched, {m.target_id for m in written})


def _same(current: Any, values: Mapping[str, int | None], extra: Mapping[str, int], names: Iterable[str]) -> bool:
    return all(getattr(current, name) == values[name] for name in names) and current.extra == extra


def _store_account(row: MetricSync, totals: AccountMetrics | None, provider: Provider, result: SyncResult) -> None:
    now = timezone.now()
    if totals is None:
        row.attempts += 1
        row.due_at = now + timedelta(seconds=backoff_seconds(row.attempts + 2))
        row.last_error, row.claimed_until, row.claimed_by = NOT_YET, None, ""
        row.save(update_fields=SYNC_FIELDS)
        result.not_yet += 1
        return
    values: dict[str, int | None] = {name: getattr(totals, name) for name in ACCOUNT_METRIC_FIELDS}
    extra = dict(totals.extra)
    last = AccountMetricSnapshot.objects.filter(account_id=row.account_id).order_by("-taken_at").first()
    row.attempts, row.last_error, row.last_synced_at = 0, "", now
    row.due_at, row.claimed_until, row.claimed_by = now + schedule.account_every(), None, ""
    with transaction.atomic():
        if last is None or not _same(last, values, extra, ACCOUNT_METRIC_FIELDS):
            AccountMetricSnapshot.objects.create(workspace_id=row.workspace_id, account_id=row.account_id,
                                                 taken_at=now, extra=extra, **values)  # fmt: skip
            result.snapshots += 1
        row.save(update_fields=SYNC_FIELDS)
    result.synced += 1


def next_due_in(*, horizon: float) -> float:
    """Seconds until the next unpaused row falls due (capped at ``horizon``)."""
    upcoming = MetricSync.objects.filter(paused=False).order_by("due_at").values_list("due_at", flat=True).first()
    if upcoming is None:
        return horizon
    return max(0.0, min(horizon, (upcoming - timezone.now()).total_seconds()))
