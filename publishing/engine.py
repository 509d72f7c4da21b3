"""The publishing engine: claim due targets, publish each once, retry or reconcile.

States (see DESIGN.md): scheduled -> queued -> publishing -> published; publishing -> retry_wait
-> queued for RATE/TRANSIENT; publishing -> failed for CONTENT/CONFIG/AUTH or spent retries;
publishing -> unknown when a create call may have reached the platform without an answer.
"queued" (claimed, never sent) and "publishing" (maybe sent) are separate so a crash in between
is told apart: a lapsed queued lease is safely re-queued, a lapsed publishing lease is reconciled.
Every transition is a conditional update on the current status, so a second dispatcher, a
redelivered task or a late worker cannot act on a target twice.
"""

import logging
import random
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.registry import get_provider
from connections.services import call_with_account, safe_url
from publishing.models import Post, Target
from publishing.pacing import budget_keys, pace_block, pace_reserve
from publishing.payload import build_request
from publishing.rollup import post_rollup, tell_author

log = logging.getLogger(__name__)
S = Target.Status
DUE_STATES = (S.SCHEDULED, S.RETRY_WAIT)


def backoff_seconds(attempt: int) -> float:
    """30 s, 1, 2, 4, 8 min ... capped at an hour, with jitter so retries do not stampede."""
    base = min(30 * 2 ** max(0, attempt - 1), 3600)
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


# --- Dispatcher side ------------------------------------------------------------------------


def targets_claim_due(*, limit: int = 200) -> list[int]:
    """Claim due targets and enqueue one task each after commit. Safe with many dispatchers:
    rows another dispatcher holds are skipped (PostgreSQL), and the update re-checks the status."""
    now = timezone.now()
    with transaction.atomic():
        candidates = list(
            Target.objects.select_for_update(skip_locked=True)
            .filter(status__in=DUE_STATES, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        if not candidates:
            return []
        lease = now + timedelta(seconds=settings.PUBLISH_QUEUE_LEASE_SECONDS)
        Target.objects.filter(id__in=candidates, status__in=DUE_STATES).update(
            status=S.QUEUED, queued_at=now, lease_expires_at=lease
        )
        transaction.on_commit(lambda: enqueue_publish(candidates))
    return candidates


def enqueue_publish(target_ids: Iterable[int]) -> None:
    for target_id in target_ids:
        async_task("publishing.tasks.publish_target", target_id, task_name=f"publish-target-{target_id}")


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
    """Leases that lapsed: queued ones never reached the platform and go back to the queue;
    publishing ones may have, so they become unknown and are reconciled."""
    now = timezone.now()
    lapsed = Target.objects.filter(status__in=[S.QUEUED, S.PUBLISHING], lease_expires_at__lt=now)
    affected_posts = set(lapsed.values_list("post_id", flat=True))
    requeued = Target.objects.filter(status=S.QUEUED, lease_expires_at__lt=now).update(
        status=S.SCHEDULED, next_attempt_at=now, lease_expires_at=None
    )
    stuck = list(Target.objects.filter(status=S.PUBLISHING, lease_expires_at__lt=now).values_list("id", flat=True))
    unknown = Target.objects.filter(id__in=stuck, status=S.PUBLISHING, lease_expires_at__lt=now).update(
        status=S.UNKNOWN,
        next_attempt_at=now,
        lease_expires_at=None,
        error_class="",
        error_message="The worker stopped while publishing; checking whether the post went out.",
    )
    for post_id in affected_posts:
        post_rollup(post_id=post_id)
    return {"requeued": requeued, "unknown": unknown}


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
        Target.objects.filter(id__in=ids).update(next_attempt_at=retry_at)
        transaction.on_commit(lambda: enqueue_reconcile(ids))
    return ids


def enqueue_reconcile(target_ids: Iterable[int]) -> None:
    for target_id in target_ids:
        async_task("publishing.tasks.reconcile_target", target_id, task_name=f"reconcile-target-{target_id}")


# --- Worker side ----------------------------------------------------------------------------


def target_start(*, target_id: int) -> bool:
    """queued -> publishing, once. False when another worker (or a cancel) got there first."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.PUBLISH_DEADLINE_SECONDS)
    started = Target.objects.filter(id=target_id, status=S.QUEUED).update(
        status=S.PUBLISHING, started_at=now, attempts=F("attempts") + 1, lease_expires_at=lease
    )
    return bool(started)


def _record_crash(target_id: int, exc: Exception) -> None:
    """Anything that is not a classified platform failure (a bug, a missing media file, a key
    that no longer decrypts) still ends in a state: unknown, so it is looked up, never resent
    blindly, and given up after PUBLISH_MAX_ATTEMPTS."""
    log.exception("publishing target %s failed unexpectedly", target_id)
    Target.objects.filter(id=target_id, status=S.PUBLISHING).update(
        status=S.UNKNOWN,
        next_attempt_at=timezone.now(),
        lease_expires_at=None,
        error_class=ErrorClass.TRANSIENT.value,
        error_code="crash",
        error_message=f"Internal error while publishing ({type(exc).__name__}); checking whether the post went out.",
    )


def _defer_for_pace(target: Target) -> bool:
    """Hold a queued target back (no attempt spent) when its platform app's budget is used up."""
    keys = budget_keys(get_provider(target.account.platform), target.account)
    come_back = pace_reserve(keys) if keys else None
    if come_back is None:
        return False
    Target.objects.filter(id=target.id, status=S.QUEUED).update(
        status=S.RETRY_WAIT, next_attempt_at=come_back, lease_expires_at=None
    )
    return True


def target_publish(*, target_id: int) -> None:
    # Secrets are left undecrypted until the target has started: a key problem must end in a
    # state (see _record_crash), not leave the target to be re-queued forever.
    target = (
        Target.objects.select_related("post", "account", "account__workspace")
        .defer("account__secrets")
        .filter(id=target_id, status=S.QUEUED)
        .first()
    )
    if target is None:
        log.info("target %s is not queued any more; nothing to do", target_id)
        return
    if _defer_for_pace(target) or not target_start(target_id=target_id):
        return
    target.attempts += 1
    try:
        # A post whose first target starts is publishing: one conditional update, no lock needed.
        Post.objects.filter(id=target.post_id, status=Post.Status.SCHEDULED).update(status=Post.Status.PUBLISHING)
        _publish_started(target)
    except Exception as exc:  # see _record_crash: no target may be left in a loop
        _record_crash(target_id, exc)
    post_rollup(post_id=target.post_id)


def _publish_started(target: Target) -> None:
    account = target.account
    if account.status != SocialAccount.Status.ACTIVE:
        # Disconnected or waiting for a reconnect: fail now with the reason, touch nothing.
        error = ProviderError(
            ErrorClass.AUTH, f"{account.username} is {account.get_status_display().lower()}", code="inactive"
        )
        target_record_failure(target=target, error=error)
        return
    provider = get_provider(account.platform)
    request = build_request(target)
    try:
        result = call_with_account(
            account=account, operation=lambda state: provider.publish(account=state, request=request)
        )
    except ProviderError as exc:
        if exc.error_class == ErrorClass.RATE and exc.retry_after:
            pace_block(budget_keys(provider, account), seconds=exc.retry_after)
        target_record_failure(target=target, error=exc)
    else:
        target_record_success(target=target, result=result)


def target_record_success(*, target: Target, result) -> None:
    extra = {
        "replies": [item.platform_post_id for item in result.replies],
        "first_comment": result.first_comment.platform_post_id if result.first_comment else None,
    }
    Target.objects.filter(id=target.id, status__in=[S.PUBLISHING, S.UNKNOWN]).update(
        status=S.PUBLISHED,
        platform_post_id=result.main.platform_post_id,
        url=safe_url(result.main.url, max_length=2000),
        result=extra,
        finished_at=timezone.now(),
        lease_expires_at=None,
        error_class="",
        error_code="",
        error_message="",
    )


def target_record_failure(*, target: Target, error: ProviderError) -> None:
    """The single place where a failure's class decides what happens next."""
    now = timezone.now()
    fields = {"error_class": error.error_class.value, "error_code": error.code[:100], "error_message": error.message}
    if error.outcome_unknown:
        # Reconciled by the dispatcher's next pass (targets_claim_reconcile), never re-sent blindly.
        Target.objects.filter(id=target.id, status=S.PUBLISHING).update(
            status=S.UNKNOWN, next_attempt_at=now, lease_expires_at=None, **fields
        )
        return
    if error.retryable and target.attempts < settings.PUBLISH_MAX_ATTEMPTS:
        wait = max(backoff_seconds(target.attempts), error.retry_after or 0)
        Target.objects.filter(id=target.id, status=S.PUBLISHING).update(
            status=S.RETRY_WAIT, next_attempt_at=now + timedelta(seconds=wait), lease_expires_at=None, **fields
        )
        return
    if error.error_class == ErrorClass.AUTH:
        fields["error_message"] = f"{error.message} — reconnect the account on the Accounts page, then retry."
    elif error.retryable:
        fields["error_message"] = f"{error.message} (gave up after {target.attempts} attempts)"
    Target.objects.filter(id=target.id, status=S.PUBLISHING).update(
        status=S.FAILED, finished_at=now, lease_expires_at=None, **fields
    )
    tell_author(target_id=target.id)


def target_reconcile(*, target_id: int) -> None:
    """Decide an unknown outcome without risking a duplicate: look the post up on the platform;
    if it is not there, re-send (safe: it does not exist) unless attempts are spent; if the
    platform offers no way to look, ask the author."""
    try:
        target = Target.objects.select_related("post", "account").filter(id=target_id, status=S.UNKNOWN).first()
        if target is None:
            return
        _reconcile(target)
    except Exception as exc:  # a reconciliation that cannot run must say so, not loop
        log.exception("reconciling target %s failed unexpectedly", target_id)
        Target.objects.filter(id=target_id, status=S.UNKNOWN).update(
            next_attempt_at=None,
            error_message=f"Could not check whether the post went out ({type(exc).__name__}). "
            "Look at the account, then mark this as published or publish again.",
        )
        tell_author(target_id=target_id)
    post_rollup(post_id=Target.objects.values_list("post_id", flat=True).get(id=target_id))


def _reconcile(target: Target) -> None:
    provider = get_provider(target.account.platform)
    request = build_request(target)
    try:
        found = call_with_account(
            account=target.account, operation=lambda state: provider.find_published(account=state, request=request)
        )
    except NotImplementedError:
        Target.objects.filter(id=target.id, status=S.UNKNOWN).update(
            next_attempt_at=None,
            error_message=(
                f"{provider.name} did not answer in time and offers no way to check whether the post went out. "
                "Look at the account, then mark this as published or publish again."
            ),
        )
        tell_author(target_id=target.id)
        return
    except ProviderError as exc:
        if exc.retryable:
            return  # the dispatcher looks again at next_attempt_at
        Target.objects.filter(id=target.id, status=S.UNKNOWN).update(next_attempt_at=None, error_message=exc.message)
        tell_author(target_id=target.id)
        return
    if found is not None:
        Target.objects.filter(id=target.id, status=S.UNKNOWN).update(
            status=S.PUBLISHED, platform_post_id=found.platform_post_id, url=safe_url(found.url, max_length=2000),
            finished_at=timezone.now(), error_class="", error_code="", error_message="", lease_expires_at=None,
        )  # fmt: skip
    elif target.attempts >= settings.PUBLISH_MAX_ATTEMPTS:
        Target.objects.filter(id=target.id, status=S.UNKNOWN).update(
            status=S.FAILED, finished_at=timezone.now(), next_attempt_at=None, lease_expires_at=None,
            error_message=f"{target.error_message} It did not go out after {target.attempts} attempts.".strip(),
        )  # fmt: skip
        tell_author(target_id=target.id)
    else:
        Target.objects.filter(id=target.id, status=S.UNKNOWN).update(
            status=S.SCHEDULED, next_attempt_at=timezone.now(), lease_expires_at=None
        )
