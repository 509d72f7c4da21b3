"""Importing an account's existing posts, so the calendar and analytics include its past.

A run pages backwards through the account's own posts (``Provider.list_posts``), newest first,
and stores each page in one transaction together with the cursor of the next one: a worker that
dies mid-run loses nothing, and the run resumes after the last page it committed. Imported posts
are Post/Target/TargetPart rows already ``published`` (with the platform's ids, links and times)
and marked ``origin=imported``: no due state, so the engine never picks them, and each platform
post is imported once per account (``ImportedPost``), never twice on a re-run.

Calls draw on the same pacing budgets as publishing and give way to it: while a post of the same
account or platform app is due, the run waits, so an import never delays a post.

Run states: queued -> running -> completed | failed; running -> queued while it waits (pace,
a transient error, or the end of a task's share of pages); queued or running -> canceled.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.actors import Actor, as_actor
from accounts.models import Membership, User
from accounts.roles import Capability
from analytics.models import ImportedPost, ImportRun
from analytics.sync import quota_held_until
from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.providers.base import ImportedItem, PostPage, Provider
from connections.registry import get_provider
from connections.services import call_with_account
from events.services import EventSpec, event_emit
from publishing.engine import DUE_STATES
from publishing.models import Post, PostContent, Target, TargetPart
from publishing.pacing import budget_keys, pace_block, pace_reserve

log = logging.getLogger(__name__)
S = ImportRun.Status
LIVE = (S.QUEUED, S.RUNNING)
GIVE_WAY_S = 5.0  # how long an import waits for due posts to go before it looks again
MAX_FAILURES = 5  # transient failures in a row before the run gives up


# --- What the Accounts page shows --------------------------------------------------------------

JUST_CONNECTED = timedelta(hours=1)  # offered an import prominently this long after connecting


def accounts_mark_imports(accounts: list[SocialAccount]) -> None:
    """Set ``can_import``, ``just_connected`` and ``import_run`` (its latest run, or None) on each
    account, for the Accounts page: one query for every account's latest run."""
    latest: dict[int, ImportRun] = {}
    for run in ImportRun.objects.filter(account__in=[a.pk for a in accounts]).order_by(
        "account_id", "-created_at", "-id"
    ):
        latest.setdefault(run.account_id, run)
    recent = timezone.now() - JUST_CONNECTED
    for account in accounts:
        provider = _provider_or_none(account.platform)
        account.can_import = _importable(provider, account)  # type: ignore[attr-defined]
        account.just_connected = account.created_at >= recent  # type: ignore[attr-defined]
        account.import_run = latest.get(account.pk)  # type: ignore[attr-defined]


def _importable(provider: Provider | None, account: SocialAccount) -> bool:
    return (
        provider is not None
        and provider.supports_import
        and not provider.import_refusal(account=account.public_state())
    )


def _provider_or_none(platform: str) -> Provider | None:
    try:
        return get_provider(platform)
    except KeyError:
        return None


# --- Starting --------------------------------------------------------------------------------


def import_start(*, actor: Actor | Membership, account: SocialAccount) -> ImportRun:
    """Queue an import of the account's existing posts, or return the one already under way."""
    actor = as_actor(actor)
    actor.require(Capability.MANAGE_CONNECTIONS, "Only admins can import an account's past posts.")
    if account.workspace_id != actor.workspace.pk:
        raise PermissionDenied("That account belongs to another workspace.")
    return import_queue(account=account, requested_by=actor.user)


def import_queue(*, account: SocialAccount, requested_by: User | None = None, enqueue: bool = True) -> ImportRun:
    """The run itself, with no actor: the service above and the operators' command (which runs
    it in its own process, so asks for no worker: ``enqueue=False``) call it."""
    provider = _provider(account)
    if not provider.supports_import:
        raise ValidationError(f"{provider.name} does not let Postwright read an account's past posts.", "unsupported")
    refusal = provider.import_refusal(account=account.public_state())
    if refusal:
        raise ValidationError(refusal, "unsupported")
    if account.status != SocialAccount.Status.ACTIVE:
        raise ValidationError(f"Reconnect {account.username} before importing its posts.", "not_connected")
    with transaction.atomic():
        live = ImportRun.objects.filter(account=account, status__in=LIVE).first()
        if live is not None:
            return live
        try:
            with transaction.atomic():
                run = ImportRun.objects.create(
                    workspace_id=account.workspace_id, account=account, requested_by=requested_by,
                    total=settings.ANALYTICS_IMPORT_MAX_POSTS, next_attempt_at=_lease_end(),
                )  # fmt: skip
        except IntegrityError:  # another request queued one a moment ago: join it
            return ImportRun.objects.get(account=account, status__in=LIVE)
        if enqueue:
            transaction.on_commit(lambda: enqueue_import(run.pk))
    return run


def import_cancel(*, actor: Actor | Membership, run: ImportRun) -> bool:
    """Stop a run that has not finished; what it imported stays."""
    actor = as_actor(actor)
    actor.require(Capability.MANAGE_CONNECTIONS, "Only admins can stop an import.")
    if run.workspace_id != actor.workspace.pk:
        raise PermissionDenied("That import belongs to another workspace.")
    stopped = ImportRun.objects.filter(pk=run.pk, status__in=LIVE).update(
        status=S.CANCELED, finished_at=timezone.now(), lease_expires_at=None, next_attempt_at=None
    )
    return bool(stopped)


def _provider(account: SocialAccount) -> Provider:
    try:
        return get_provider(account.platform)
    except KeyError:
        raise ValidationError("This platform is not offered here any more.", "unsupported") from None


def _lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=settings.ANALYTICS_IMPORT_LEASE_SECONDS)


def enqueue_import(run_id: int) -> None:
    async_task("analytics.tasks.import_posts", run_id, task_name=f"import-posts-{run_id}", save=False)


def import_runs_claim_due() -> list[int]:
    """For the dispatcher: runs whose wait is over, and runs whose worker stopped answering
    (their lease lapsed: a crash), handed to a worker again. Each is pushed a lease ahead, so
    the next pass does not hand it out twice while its task waits in the broker."""
    now = timezone.now()
    due = Q(status=S.QUEUED, next_attempt_at__lte=now) | Q(status=S.RUNNING, lease_expires_at__lt=now)
    ids = list(ImportRun.objects.filter(due).values_list("id", flat=True)[:100])
    claimed = []
    for run_id in ids:
        if ImportRun.objects.filter(due, pk=run_id).update(status=S.QUEUED, next_attempt_at=_lease_end()):
            claimed.append(run_id)
    for run_id in claimed:
        enqueue_import(run_id)
    return claimed


# --- Running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageResult:
    imported: int
    skipped: int
    last: bool  # nothing more to import: the platform's oldest page, the cap, or the oldest day


ProgressHook = Callable[[ImportRun], None]


def import_run(*, run_id: int, pages: int | None = None, on_page: ProgressHook | None = None) -> ImportRun | None:
    """Import up to ``pages`` pages of a run (default ANALYTICS_IMPORT_PAGES_PER_TASK), then hand
    it back to the queue; None when another worker holds it or it has finished."""
    run = _claim(run_id)
    if run is None:
        return None
    if run.account.status != SocialAccount.Status.ACTIVE:
        # Disconnected or waiting for a reconnect since it was queued: calling would only fail.
        _finish(
            run, S.FAILED, error=f"{run.account.username} needs to be connected again before its posts can be imported."
        )
        return run
    provider = get_provider(run.account.platform)
    for _ in range(pages or settings.ANALYTICS_IMPORT_PAGES_PER_TASK):
        wait = _wait_for_pace(provider, run.account)
        if wait is not None:
            return _defer(run, until=wait)
        try:
            page = _fetch(provider, run)
        except ProviderError as exc:
            return _after_error(run, provider, exc)
        except Exception:
            log.exception("import %s failed unexpectedly on a page; it resumes from its cursor", run.pk)
            return _after_error(
                run, provider, ProviderError(ErrorClass.TRANSIENT, "An unexpected error stopped the import.")
            )
        if not _store_page(run, page):
            return None  # canceled meanwhile
        if on_page is not None:
            on_page(run)
        if run.status == S.COMPLETED:
            return run
    return _defer(run, until=timezone.now(), enqueue=True)


def _claim(run_id: int) -> ImportRun | None:
    """Take the run for this worker: queued, or running under a lease that lapsed (a crash)."""
    now = timezone.now()
    claimable = Q(status=S.QUEUED) | Q(status=S.RUNNING, lease_expires_at__lt=now)
    taken = ImportRun.objects.filter(claimable, pk=run_id).update(
        status=S.RUNNING, lease_expires_at=_lease_end(), next_attempt_at=None
    )
    if not taken:
        return None
    run = ImportRun.objects.select_related("account").get(pk=run_id)
    if run.started_at is None:
        ImportRun.objects.filter(pk=run_id).update(started_at=now)
        run.started_at = now
    return run


def _fetch(provider: Provider, run: ImportRun) -> PostPage:
    cursor = run.cursor
    return call_with_account(
        account=run.account, operation=lambda state: provider.list_posts(account=state, cursor=cursor)
    )


def _wait_for_pace(provider: Provider, account: SocialAccount) -> datetime | None:
    """When to come back, or None to call now (a slot in every budget is then taken). Posts
    come first: any due post of this account, or of the app's budget, makes the import wait;
    so does a quota the platform counts its own way (YouTube's units, Meta's usage) once it is
    past the share analytics may use (``metrics_hold``, as the metric syncs ask it)."""
    held_until = quota_held_until(provider, account)
    if held_until is not None:
        return held_until
    keys = budget_keys(provider, account)
    due = Target.objects.filter(
        status__in=DUE_STATES, next_attempt_at__lte=timezone.now() + timedelta(seconds=GIVE_WAY_S)
    )
    sharing = Q(account=account) | Q(account__platform=account.platform) if keys else Q(account=account)
    if due.filter(sharing).exists():
        return timezone.now() + timedelta(seconds=GIVE_WAY_S)
    return pace_reserve(keys) if keys else None


def _defer(run: ImportRun, *, until: datetime, enqueue: bool = False) -> ImportRun | None:
    """Back to the queue until ``until``: the dispatcher hands it out then (or now, if asked)."""
    next_at = _lease_end() if enqueue else until
    moved = ImportRun.objects.filter(pk=run.pk, status=S.RUNNING).update(
        status=S.QUEUED, next_attempt_at=next_at, lease_expires_at=None
    )
    if not moved:
        return None
    run.status, run.next_attempt_at = S.QUEUED, next_at
    if enqueue:
        enqueue_import(run.pk)
    return run


def _after_error(run: ImportRun, provider: Provider, exc: ProviderError) -> ImportRun | None:
    """RATE waits for the reset (for everyone on the budget); TRANSIENT retries with a backoff a
    few times; anything else (or too many in a row) fails the run with the platform's words."""
    if exc.error_class == ErrorClass.RATE:
        seconds = exc.retry_after or 60.0
        pace_block(budget_keys(provider, run.account), seconds=seconds)
        return _defer(run, until=timezone.now() + timedelta(seconds=seconds))
    failures = run.failures + 1
    if exc.error_class == ErrorClass.TRANSIENT and failures < MAX_FAILURES:
        ImportRun.objects.filter(pk=run.pk).update(failures=failures, error=exc.message[:500])
        run.failures = failures
        return _defer(run, until=timezone.now() + timedelta(seconds=30 * 2**failures))
    _finish(run, S.FAILED, error=exc.message or "The platform refused the import.")
    return run


def _store_page(run: ImportRun, page: PostPage) -> bool:
    """Store the page's new posts and the next cursor together; False if the run was canceled."""
    with transaction.atomic():
        current = ImportRun.objects.select_for_update().filter(pk=run.pk, status=S.RUNNING).first()
        if current is None:
            return False
        result = _import_items(run, page)
        run.cursor = page.next_cursor
        run.pages += 1
        run.imported += result.imported
        run.skipped += result.skipped
        run.failures = 0
        ImportRun.objects.filter(pk=run.pk).update(
            cursor=run.cursor, pages=run.pages, imported=run.imported, skipped=run.skipped,
            failures=0, error="", lease_expires_at=_lease_end(),
        )  # fmt: skip
        # A platform that keeps handing out pages of nothing we keep must still end.
        if result.last or run.pages >= settings.ANALYTICS_IMPORT_MAX_POSTS:
            _finish(run, S.COMPLETED)
    return True


def _import_items(run: ImportRun, page: PostPage) -> PageResult:
    room = settings.ANALYTICS_IMPORT_MAX_POSTS - run.imported - run.skipped
    oldest = timezone.now() - timedelta(days=settings.ANALYTICS_IMPORT_MAX_DAYS)
    recent = [item for item in page.items if item.published_at >= oldest]
    wanted = list({item.platform_post_id: item for item in recent}.values())[: max(room, 0)]
    last = not page.next_cursor or len(recent) < len(page.items) or len(wanted) >= room
    known = _known_ids(run.account, [item.platform_post_id for item in wanted])
    new = [item for item in wanted if item.platform_post_id not in known]
    _create_posts(run, new)
    return PageResult(imported=len(new), skipped=len(wanted) - len(new), last=last)


def _known_ids(account: SocialAccount, ids: list[str]) -> set[str]:
    """Ids already here: imported before (even if removed since), or published by Postwright."""
    imported = ImportedPost.objects.filter(account=account, platform_post_id__in=ids).values_list(
        "platform_post_id", flat=True
    )
    ours = TargetPart.objects.filter(target__account=account, platform_post_id__in=ids).values_list(
        "platform_post_id", flat=True
    )
    return set(imported) | set(ours)


def _create_posts(run: ImportRun, items: list[ImportedItem]) -> None:
    """One published post, target and main part per item, written in a few bulk inserts."""
    if not items:
        return
    account = run.account
    posts = Post.objects.bulk_create(
        Post(workspace_id=account.workspace_id, origin=Post.Origin.IMPORTED, status=Post.Status.PUBLISHED,
             scheduled_at=item.published_at)
        for item in items
    )  # fmt: skip
    PostContent.objects.bulk_create(
        PostContent(post=post, kind=PostContent.Kind.MAIN, position=0, text=item.text)
        for post, item in zip(posts, items, strict=True)
    )
    targets = Target.objects.bulk_create(
        Target(workspace_id=account.workspace_id, post=post, account=account, status=Target.Status.PUBLISHED,
               due_at=item.published_at, finished_at=item.published_at, platform_post_id=item.platform_post_id,
               url=item.url[:2000])
        for post, item in zip(posts, items, strict=True)
    )  # fmt: skip
    TargetPart.objects.bulk_create(
        TargetPart(target=target, position=0, kind=PostContent.Kind.MAIN, status=TargetPart.Status.PUBLISHED,
                   platform_post_id=item.platform_post_id, url=item.url[:2000], facts=_facts(item),
                   landed_at=item.published_at)
        for target, item in zip(targets, items, strict=True)
    )  # fmt: skip
    ImportedPost.objects.bulk_create(
        ImportedPost(account=account, platform_post_id=item.platform_post_id, post=post, run=run)
        for post, item in zip(posts, items, strict=True)
    )


def _facts(item: ImportedItem) -> dict[str, object]:
    """What the platform told us beyond the text: its extras (a cid), the thread it belongs to,
    and its media as links (left on the platform, not copied into the library)."""
    facts: dict[str, object] = {**item.extra, "imported": True}
    if item.reply_to:
        facts["reply_to"] = item.reply_to
    if item.thread_root:
        facts["thread_root"] = item.thread_root
    if item.media:
        facts["media"] = [{"url": m.url, "alt": m.alt_text, "kind": m.kind} for m in item.media]
    return facts


def _finish(run: ImportRun, status: str, *, error: str = "") -> None:
    """Completed or failed, with its event, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        moved = ImportRun.objects.filter(pk=run.pk, status=S.RUNNING).update(
            status=status, finished_at=now, lease_expires_at=None, next_attempt_at=None, error=error[:500]
        )
        if not moved:
            return
        run.status, run.finished_at, run.error = status, now, error[:500]
        event_emit(
            EventSpec(
                workspace_id=run.workspace_id, type=f"import.{status}", subject_type="import", subject_id=run.pk,
                payload=_event_payload(run), actor_user_id=run.requested_by_id, actor_label=_requester(run),
            )
        )  # fmt: skip


def _event_payload(run: ImportRun) -> dict[str, object]:
    account = run.account
    payload: dict[str, object] = {"account_id": account.pk, "platform": account.platform,
                                  "imported": run.imported, "skipped": run.skipped, "pages": run.pages}  # fmt: skip
    if run.error:
        payload["error"] = run.error
    return payload


def _requester(run: ImportRun) -> str:
    """Who asked for it, as histories name people ("" for an operator's command: the system)."""
    user = run.requested_by
    return user.display_name if user is not None else ""
