"""Writing, validating, scheduling, moving and cancelling posts: the one authority for them.

Every function takes the actor (a member, or an API key in the REST API), checks its capability
itself and checks its input against publishing.rules, so the composer, the calendar and the API
share every rule. Bad input raises ValidationError keyed by field (see publishing.inputs) and
writes nothing; each change writes its event in its own transaction.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.models import ApprovalPolicy, Membership, Workspace
from accounts.plans import plan_require_room
from accounts.roles import Capability
from connections.errors import ProviderError
from connections.models import SocialAccount
from connections.providers.base import AccountState, Provider
from connections.registry import get_provider
from connections.services import call_with_account
from events.services import EventSpec, actor_fields, event_emit
from publishing.approval_notices import approval_requested
from publishing.composer import AccountCheck
from publishing.inputs import Attachment as Attachment  # re-exported: callers build their input from here
from publishing.inputs import PartInput, PostInput, Problem, WhenKind, problems_error
from publishing.inputs import When as When
from publishing.models import ContentMedia, Media, Post, PostContent, PostingSlot, Target, TargetPart, UploadSession
from publishing.rollup import post_rollup
from publishing.rules import MAX_REPLIES, Plan, at_problems, post_plan
from publishing.scheduling import next_queue_slot
from publishing.states import part_move, target_move, targets_move
from publishing.threads import SplitError, split_thread

S = Target.Status
P = TargetPart.Status
A = Post.Approval
EDITABLE = (S.DRAFT, S.AWAITING_APPROVAL, S.SCHEDULED, S.RETRY_WAIT, S.FAILED)
MOVABLE = (S.DRAFT, S.AWAITING_APPROVAL, S.SCHEDULED, S.RETRY_WAIT)


def _editor(who: Actor | Membership, message: str = "Viewers cannot write posts.") -> Actor:
    actor = as_actor(who)
    actor.require(Capability.EDIT_CONTENT, message)
    return actor


def _own(actor: Actor, post: Post) -> None:
    # Views fetch through the requester's workspaces already; the API and tasks may not.
    if post.workspace_id != actor.workspace.pk:
        raise Post.DoesNotExist("No such post in this workspace.")


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _emit(actor: Actor, post: Post, kind: str, **payload: Any) -> None:
    event_emit(
        EventSpec(
            workspace_id=post.workspace_id, type=kind, subject_type="post", subject_id=post.pk, post_id=post.pk,
            payload=payload, **actor_fields(actor),
        )
    )  # fmt: skip


def _emit_when(actor: Actor, post: Post, when: WhenKind, due_at: datetime | None, previous: datetime | None) -> None:
    """post.draft_saved, post.scheduled (a first time) or post.rescheduled (a new time)."""
    if due_at is None:
        _emit(actor, post, "post.draft_saved")
    elif previous is None:
        _emit(actor, post, "post.scheduled", scheduled_at=_iso(due_at), when=str(when))
    elif previous != due_at:
        _emit(actor, post, "post.rescheduled", previous=_iso(previous), scheduled_at=_iso(due_at), when=str(when))


# --- Approval ------------------------------------------------------------------------------


def needs_approval(actor: Actor) -> bool:
    """Whether what this actor schedules waits for an admin or owner to approve it. The setting is
    read from the database, not the actor's copy: switching it on holds the very next post."""
    policy = Workspace.objects.filter(pk=actor.workspace.pk).values_list("approval_policy", flat=True).first()
    if policy == ApprovalPolicy.EVERYONE:
        return True
    if actor.user is None:  # an API key (it acts as an admin) is never its own reviewer
        return policy == ApprovalPolicy.EDITORS
    return policy == ApprovalPolicy.EDITORS and not actor.can(Capability.APPROVE_POSTS)


def _approval_after(actor: Actor, current: str, due_at: datetime | None, kind: WhenKind) -> tuple[str, str]:
    """(approval, approval_when) a write leaves a post in. A post waiting for approval leaves that
    state only by an approval, a request for changes, a cancel or its author taking it back as a
    draft; an approved post scheduled again by someone who needs approval goes back for it."""
    if due_at is None:
        return (A.CHANGES_REQUESTED if current == A.CHANGES_REQUESTED else A.NONE), ""
    if current == A.PENDING or needs_approval(actor):
        return A.PENDING, str(kind)
    return (A.APPROVED if current == A.APPROVED else A.NONE), ""


def _announce(actor: Actor, post: Post, kind: WhenKind, due_at: datetime | None, previous: datetime | None,
              was: str) -> None:  # fmt: skip
    """The scheduling events of a write, or, for a post held for approval, the request."""
    if post.approval == A.PENDING:
        _emit(actor, post, "approval.requested", scheduled_at=_iso(due_at), when=str(kind))
        if was != A.PENDING:
            approval_requested(actor=actor, post=post)
    else:
        _emit_when(actor, post, kind, due_at, previous)


# --- Checking -------------------------------------------------------------------------------


def _busy(targets: list[Target]) -> list[Problem]:
    if any(t.status not in EDITABLE and t.status not in (S.PUBLISHED, S.CANCELED) for t in targets):
        return [Problem("", "This post is being published right now and cannot be changed.", "busy")]
    return []


def _published(targets: list[Target]) -> list[Problem]:
    landed = TargetPart.objects.filter(target__in=[t.id for t in targets], status=P.PUBLISHED).exists()
    if landed or any(t.status == S.PUBLISHED for t in targets):
        return [Problem("", "Part of this post is already published; it can no longer be edited.", "published")]
    return []


def _checked(actor: Actor, data: PostInput, *, moving_post: int | None = None) -> Plan:
    lock = data.when.kind == WhenKind.QUEUE
    plan = post_plan(workspace=actor.workspace, data=data, lock=lock, moving_post=moving_post)
    if plan.problems:
        raise problems_error(plan.problems)
    return plan


def post_validate(*, actor: Actor | Membership, data: PostInput, post: Post | None = None) -> list[Problem]:
    """Every problem ``data`` has (as a new post, or as an edit of ``post``); empty when it would save."""
    actor = _editor(actor)
    problems: list[Problem] = []
    if post is not None:
        _own(actor, post)
        targets = list(post.targets.all())
        problems = _busy(targets) + _published(targets)
    plan = post_plan(workspace=actor.workspace, data=data, moving_post=post.pk if post else None)
    return problems + plan.problems


def post_preview(*, actor: Actor | Membership, data: PostInput) -> list[AccountCheck]:
    """Counters and previews per account for the composer's live panel, by the same rules."""
    actor = _editor(actor)
    data = PostInput(parts=data.parts, account_ids=data.account_ids, link=data.link, overrides=data.overrides)
    return post_plan(workspace=actor.workspace, data=data).checks


def thread_split(*, actor: Actor | Membership, account: SocialAccount, text: str, numbered: bool = False) -> list[str]:
    """``text`` as the thread ``account`` would publish: a main post and replies, each within its
    platform's limit (the plan checks them again on submit). Raises SplitError in the author's words."""
    actor = _editor(actor)
    if account.workspace_id != actor.workspace.pk:
        raise SocialAccount.DoesNotExist("No such account in this workspace.")
    provider = get_provider(account.platform)
    if not provider.offers_thread_split:
        raise SplitError(f"{provider.name} posts are not split into threads.")
    rules = provider.text_rules(account=account.public_state())
    return split_thread(text, rules, numbered=numbered, max_parts=MAX_REPLIES + 1)


def post_queue_preview(*, actor: Actor | Membership, account_ids: list[int]) -> datetime | None:
    """The slot "Add to queue" would take now for these accounts (the composer's button says it),
    or None when they share no free one. Nothing is held: saving decides again, under a lock."""
    actor = _editor(actor)
    accounts = list(SocialAccount.objects.filter(workspace=actor.workspace, id__in=account_ids).defer("secrets"))
    if not accounts:
        return None
    try:
        return next_queue_slot(accounts=accounts, zone=actor.workspace.tzinfo)
    except ValidationError:
        return None


# --- Writing --------------------------------------------------------------------------------


def _write_parts(post: Post, parts: list[PartInput]) -> None:
    post.contents.all().delete()
    for position, part in enumerate(parts):
        content = PostContent.objects.create(post=post, kind=part.kind, position=position, text=part.text)
        ContentMedia.objects.bulk_create(
            ContentMedia(content=content, media_id=a.media_id, position=i, alt_text=a.alt_text)
            for i, a in enumerate(part.attachments)
        )


def _target_fields(when: datetime | None, *, held: bool = False) -> dict[str, Any]:
    if when is None:
        return {"status": S.DRAFT, "due_at": None, "next_attempt_at": None}
    if held:  # the asked time is kept (it holds its queue slot) but nothing is ever due
        return {"status": S.AWAITING_APPROVAL, "due_at": when, "next_attempt_at": None}
    return {"status": S.SCHEDULED, "due_at": when, "next_attempt_at": when}


def _targets_schedule(
    targets: QuerySet[Target], when: datetime | None, *, actor: Actor, held: bool = False, **extra: Any
) -> None:
    """Targets to a draft, to a time, or held at a time for approval: a status change through the
    graph where there is one, and the new time on every row."""
    fields = {**_target_fields(when, held=held), **extra}
    status = fields.pop("status")
    targets_move(targets.exclude(status=status), status, actor=actor, **fields)
    targets.filter(status=status).update(**fields)


def lane_for(post: Post) -> str:
    """Posts with video or large files run in the media lane (see PUBLISH_MEDIA_CLUSTER)."""
    media = Media.objects.filter(id__in=ContentMedia.objects.filter(content__post=post).values("media_id"))
    heavy = (
        media.filter(mime_type__startswith="video/").exists()
        or media.filter(size__gt=settings.PUBLISH_MEDIA_LANE_BYTES).exists()
    )
    return "media" if heavy else "default"


@transaction.atomic
def post_create(*, actor: Actor | Membership, data: PostInput) -> Post:
    """Write a post and one target per account; ``data.when`` keeps it a draft, sends it now, at a
    time, or in the accounts' next free queue slot."""
    actor = _editor(actor)
    plan = _checked(actor, data)
    if plan.due_at is not None:
        _require_post_room(actor)
    approval, approval_when = _approval_after(actor, A.NONE, plan.due_at, data.when.kind)
    post = Post.objects.create(
        workspace=actor.workspace, author=actor.user, link=data.link, overrides=data.overrides,
        scheduled_at=plan.due_at, tenant_id=data.tenant_id or "", external_ref=data.external_ref or "",
        approval=approval, approval_when=approval_when,
    )  # fmt: skip
    _write_parts(post, data.parts)
    lane, held = lane_for(post), approval == A.PENDING
    Target.objects.bulk_create(
        Target(workspace=actor.workspace, post=post, account=account, lane=lane,
               **_target_fields(plan.due_at, held=held))
        for account in plan.accounts
    )  # fmt: skip
    post_rollup(post_id=post.id, actor=actor)
    _emit(actor, post, "post.created", accounts=[a.id for a in plan.accounts], parts=len(data.parts))
    _announce(actor, post, data.when.kind, plan.due_at, None, A.NONE)
    post.refresh_from_db()
    return post


def _require_post_room(actor: Actor) -> None:
    """The plan's scheduled posts a month: posts written this (UTC) month that were not left as drafts."""
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    used = Post.objects.filter(workspace=actor.workspace, created_at__gte=month_start, scheduled_at__isnull=False)
    plan_require_room(workspace=actor.workspace, limit="scheduled_posts_per_month", used=used.count(), field="when")


def _lock_editable_targets(post: Post) -> list[Target]:
    targets = list(Target.objects.select_for_update().filter(post=post))
    busy = _busy(targets)
    if busy:
        raise problems_error(busy)
    return targets


@transaction.atomic
def post_update(*, actor: Actor | Membership, post: Post, data: PostInput) -> Post:
    """Edit, reschedule or unschedule until a target starts publishing; a partly published post
    stays as it went out."""
    actor = _editor(actor)
    _own(actor, post)
    targets = _lock_editable_targets(post)
    if published := _published(targets):
        raise problems_error(published)
    plan = _checked(actor, data, moving_post=post.pk)
    post.refresh_from_db()
    previous = post.scheduled_at if any(t.status != S.DRAFT for t in targets) else None
    accounts = {a.id: a for a in plan.accounts}
    was = post.approval
    post.approval, post.approval_when = _approval_after(actor, was, plan.due_at, data.when.kind)
    held = post.approval == A.PENDING
    _write_parts(post, data.parts)
    post.link, post.overrides, post.scheduled_at = data.link, data.overrides, plan.due_at
    post.content_edited_by = actor.user
    # None leaves them as they are: the dashboard's form does not carry them.
    post.tenant_id = post.tenant_id if data.tenant_id is None else data.tenant_id
    post.external_ref = post.external_ref if data.external_ref is None else data.external_ref
    post.save(update_fields=["link", "overrides", "scheduled_at", "tenant_id", "external_ref", "approval",
                             "approval_when", "content_edited_by", "updated_at"])  # fmt: skip
    Target.objects.filter(post=post).exclude(account_id__in=accounts).delete()
    TargetPart.objects.filter(target__post=post).delete()  # nothing landed: parts are rebuilt from the edit
    existing, lane = {t.account_id for t in targets}, lane_for(post)
    _targets_schedule(Target.objects.filter(post=post), plan.due_at, actor=actor, held=held, attempts=0,
                      error_class="", error_code="", error_message="", status_reason="", lane=lane)  # fmt: skip
    Target.objects.bulk_create(
        Target(workspace=actor.workspace, post=post, account=account, lane=lane,
               **_target_fields(plan.due_at, held=held))
        for account_id, account in accounts.items()
        if account_id not in existing
    )  # fmt: skip
    post_rollup(post_id=post.id, actor=actor)
    _emit(actor, post, "post.updated", accounts=list(accounts), parts=len(data.parts))
    _announce(actor, post, data.when.kind, plan.due_at, previous, was)
    post.refresh_from_db()
    return post


def _pending(post: Post) -> list[Target]:
    pending = [t for t in _lock_editable_targets(post) if t.status in MOVABLE]
    if not pending:
        raise problems_error([Problem("", "Nothing left to reschedule in this post.", "nothing_pending")])
    return pending


def _move(actor: Actor, post: Post, pending: list[Target], moment: datetime, when: WhenKind) -> Post:
    post.refresh_from_db()
    previous = post.scheduled_at if any(t.status != S.DRAFT for t in pending) else None
    was = post.approval
    post.approval, post.approval_when = _approval_after(actor, was, moment, when)
    held = post.approval == A.PENDING
    _targets_schedule(Target.objects.filter(id__in=[t.id for t in pending]), moment, actor=actor, held=held)
    post.scheduled_at = moment
    post.save(update_fields=["scheduled_at", "approval", "approval_when", "updated_at"])
    post_rollup(post_id=post.id, actor=actor)
    _announce(actor, post, when, moment, previous, was)
    post.refresh_from_db()
    return post


@transaction.atomic
def post_reschedule(*, actor: Actor | Membership, post: Post, at: datetime) -> Post:
    """Move what has not gone out yet to ``at`` (a draft becomes scheduled)."""
    actor = _editor(actor)
    _own(actor, post)
    moment, problems = at_problems(at, path="at")
    if problems or moment is None:  # at_problems gives a moment exactly when it finds no problem
        raise problems_error(problems)
    return _move(actor, post, _pending(post), moment, WhenKind.AT)


@transaction.atomic
def post_queue(*, actor: Actor | Membership, post: Post) -> Post:
    """Move what has not gone out yet to the next posting slot its accounts share and nobody holds,
    found in the workspace's time zone (DST-correct: see scheduling.next_queue_slot)."""
    actor = _editor(actor)
    _own(actor, post)
    pending = _pending(post)
    # Locked so two posts queued at once cannot both take the slot they both saw free.
    accounts = list(SocialAccount.objects.select_for_update().filter(id__in={t.account_id for t in pending}))
    try:
        moment = next_queue_slot(accounts=accounts, zone=actor.workspace.tzinfo, ignore_post=post.pk)
    except ValidationError as exc:
        raise problems_error([Problem("when", exc.messages[0], "no_slot")]) from None
    return _move(actor, post, pending, moment, WhenKind.QUEUE)


@transaction.atomic
def post_cancel(*, actor: Actor | Membership, post: Post) -> Post:
    """Stop what has not gone out; cancelling a canceled post again changes nothing."""
    actor = _editor(actor)
    _own(actor, post)
    targets = _lock_editable_targets(post)
    cancelable = [t.id for t in targets if t.status in EDITABLE]
    if not cancelable and any(t.status != S.CANCELED for t in targets):
        raise problems_error([Problem("", "Nothing left to cancel: this post has gone out.", "nothing_pending")])
    if cancelable:
        targets_move(Target.objects.filter(id__in=cancelable), S.CANCELED, actor=actor, next_attempt_at=None)
        Post.objects.filter(pk=post.pk).update(approval=A.NONE, approval_when="")
        post_rollup(post_id=post.id, actor=actor)
        _emit(actor, post, "post.canceled", targets=len(cancelable))
    post.refresh_from_db()
    return post


@transaction.atomic
def post_discard(*, actor: Actor | Membership, post: Post) -> None:
    """Remove a post of which nothing went out: a draft, a canceled or failed post, or a scheduled
    one (its targets are locked, so a dispatcher cannot claim one meanwhile). What is published
    stays in the list as the record of it; its history events outlive the post either way. (The
    dashboard's bulk delete; ``post_delete`` also deletes what went out from the platforms.)
    An imported post is the exception: it was published outside Postwright, so removing it here
    only forgets it, and it stays on its platform (a later import does not bring it back)."""
    actor = _editor(actor)
    _own(actor, post)
    targets = _lock_editable_targets(post)
    if post.origin == Post.Origin.IMPORTED:
        _emit(actor, post, "post.deleted", targets=len(targets), imported=True)
        post.delete()
        return
    if any(t.status not in (*EDITABLE, S.CANCELED) for t in targets) or _published(targets):
        raise problems_error([Problem("", "Part of this post is published, so it stays here as the record of it.",
                                      "published")])  # fmt: skip
    _emit(actor, post, "post.deleted", targets=len(targets))
    post.delete()


@transaction.atomic
def post_duplicate(*, actor: Actor | Membership, post: Post) -> Post:
    """A draft copy of any post (published, failed or canceled too): its parts in order with their
    media and alt texts, its link and per-platform overrides, one draft target per account that is
    still connected. Nothing is checked against the rules yet: the copy is a draft to edit."""
    actor = _editor(actor)
    _own(actor, post)
    copy = Post.objects.create(
        workspace=actor.workspace, author=actor.user, link=post.link, overrides=post.overrides, scheduled_at=None
    )
    for content in post.contents.prefetch_related("attachments").order_by("position"):
        new = PostContent.objects.create(post=copy, kind=content.kind, position=content.position, text=content.text)
        ContentMedia.objects.bulk_create(
            ContentMedia(content=new, media_id=a.media_id, position=a.position, alt_text=a.alt_text)
            for a in content.attachments.all()
        )
    accounts = list(
        SocialAccount.objects.filter(targets__post=post)
        .exclude(status=SocialAccount.Status.DISCONNECTED)
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    )
    lane = lane_for(copy)
    Target.objects.bulk_create(
        Target(workspace=actor.workspace, post=copy, account_id=account_id, lane=lane, **_target_fields(None))
        for account_id in accounts
    )
    post_rollup(post_id=copy.id, actor=actor)
    _emit(actor, copy, "post.duplicated", duplicate_of=post.pk, accounts=accounts)
    _emit(actor, copy, "post.draft_saved")
    copy.refresh_from_db()
    return copy


@transaction.atomic
def post_restore(*, actor: Actor | Membership, post: Post) -> Post:
    """A canceled post back as a draft (canceled -> draft in the state graph): nothing is
    scheduled again until someone picks a time."""
    actor = _editor(actor)
    _own(actor, post)
    targets = list(Target.objects.select_for_update().filter(post=post))
    if not targets or any(t.status != S.CANCELED for t in targets):
        raise problems_error([Problem("", "Only a canceled post can be restored as a draft.", "not_canceled")])
    fields = _target_fields(None)
    targets_move(Target.objects.filter(post=post), fields.pop("status"), only_from=[S.CANCELED], actor=actor, **fields)
    post.scheduled_at = None
    post.save(update_fields=["scheduled_at", "updated_at"])
    post_rollup(post_id=post.id, actor=actor)
    _emit(actor, post, "post.restored")
    post.refresh_from_db()
    return post


# --- Deleting ------------------------------------------------------------------------------


@dataclass
class DeleteOutcome:
    """What ``post_delete`` did: the post is gone (``deleted``), or it stays because some of it is
    still live on a platform (``kept``: one reason per target, why it could not be removed)."""

    deleted: bool
    removed_parts: int = 0
    kept: dict[int, str] = field(default_factory=dict)


def post_delete(*, actor: Actor | Membership, post: Post, imported_at_platforms: bool = False) -> DeleteOutcome:
    """Delete a post: what has not gone out is canceled, what landed is deleted from each
    platform that offers deletion (replies and first comments first, then the main post), and
    the post itself is deleted once nothing of it is left live anywhere. A platform that offers
    no deletion, or refuses, keeps the post (and says why); deleting again tries again.

    An imported post was published outside Postwright: it is only removed here (``post_discard``)
    unless the caller asks in so many words to delete it from its platforms too."""
    actor = _editor(actor, "Viewers cannot delete posts.")
    _own(actor, post)
    if post.origin == Post.Origin.IMPORTED and not imported_at_platforms:
        post_discard(actor=actor, post=post)
        return DeleteOutcome(deleted=True)
    with transaction.atomic():
        targets = list(Target.objects.select_for_update().select_related("account").filter(post=post))
        if problems := _busy(targets):
            raise problems_error(problems)
        pending = [t.id for t in targets if t.status in EDITABLE]
        if pending:
            targets_move(Target.objects.filter(id__in=pending), S.CANCELED, actor=actor, next_attempt_at=None)
            post_rollup(post_id=post.id, actor=actor)
    outcome = DeleteOutcome(deleted=False)
    for target in targets:
        _target_remove(target, outcome)
    if not outcome.kept:
        with transaction.atomic():
            _emit(actor, post, "post.deleted", removed_parts=outcome.removed_parts)
            post.delete()
        outcome.deleted = True
    return outcome


def _delete_at(provider: Provider, platform_post_id: str, state: AccountState) -> None:
    provider.delete(account=state, platform_post_id=platform_post_id)


def _target_remove(target: Target, outcome: DeleteOutcome) -> None:
    """Delete one target's landed parts at its platform, newest part first; each one removed is
    recorded at once, so a failure half-way leaves an exact account of what is still live."""
    live = list(
        TargetPart.objects.filter(target=target, status=P.PUBLISHED, removed_at=None)
        .exclude(platform_post_id="")
        .order_by("-position")
    )
    if not live:
        return
    try:
        provider = get_provider(target.account.platform)
    except KeyError:
        outcome.kept[target.pk] = "This platform is not offered here any more."
        return
    if not provider.supports_delete:
        outcome.kept[target.pk] = f"{provider.name} offers no way to delete a post through its API: delete it there."
        return
    for part in live:
        try:
            call_with_account(account=target.account, operation=partial(_delete_at, provider, part.platform_post_id))
        except ProviderError as exc:
            outcome.kept[target.pk] = f"{provider.name} refused: {exc.message}"
            return
        TargetPart.objects.filter(pk=part.pk).update(removed_at=timezone.now())
        outcome.removed_parts += 1


# --- Queue slots ----------------------------------------------------------------------------

SLOT_MESSAGE = "Viewers cannot change queue slots."


@transaction.atomic
def posting_slot_add(
    *, actor: Actor | Membership, account: SocialAccount, weekdays: list[int], at: time
) -> list[PostingSlot]:
    """Weekly slots (0 is Monday) in the workspace's time zone; adding one that exists is harmless."""
    actor = _editor(actor, SLOT_MESSAGE)
    if account.workspace_id != actor.workspace.pk:
        raise SocialAccount.DoesNotExist("No such account in this workspace.")
    if not weekdays or any(day not in range(7) for day in weekdays):
        raise problems_error([Problem("weekdays", "Pick days of the week, from 0 (Monday) to 6 (Sunday).")])
    return [PostingSlot.objects.get_or_create(account=account, weekday=day, time=at)[0] for day in weekdays]


def posting_slot_remove(*, actor: Actor | Membership, slot: PostingSlot) -> None:
    actor = _editor(actor, SLOT_MESSAGE)
    if slot.account.workspace_id != actor.workspace.pk:
        raise PostingSlot.DoesNotExist("No such slot in this workspace.")
    slot.delete()


# --- Targets --------------------------------------------------------------------------------


@transaction.atomic
def target_retry(*, actor: Actor | Membership, target: Target) -> Target:
    """The retry button of a failed target, or "publish again" for an unknown one the author
    checked. Parts that landed stay landed: only what did not go out is sent."""
    actor = _editor(actor)
    target = Target.objects.select_for_update().select_related("account").get(pk=target.pk, workspace=actor.workspace)
    if target.status not in (S.FAILED, S.UNKNOWN):
        raise ValidationError("Only a failed post (or one whose outcome is unknown) can be retried.")
    if target.status == S.UNKNOWN and target.next_attempt_at is not None:
        raise ValidationError("Still checking whether this post went out; try again once the check has finished.")
    if target.account.status != SocialAccount.Status.ACTIVE:
        raise ValidationError(f"Reconnect {target.account.username} first, then retry.")
    if needs_approval(actor) and not Post.objects.filter(pk=target.post_id, approval=A.APPROVED).exists():
        raise PermissionDenied("This post was never approved: ask an admin or owner to retry it.")
    for part in TargetPart.objects.filter(target=target, status__in=[P.FAILED, P.UNKNOWN]):
        # A fresh start for what did not go out: a stale resume state (media the platform has
        # long deleted, a processing clock that ran out) would fail the retry the same way.
        part_move(part, P.PENDING, target=target, actor=actor, attempts=0, error_class="", error_code="",
                  error_message="", state={}, processing_since=None)  # fmt: skip
        UploadSession.objects.filter(part=part).delete()
    target_move(target, S.SCHEDULED, only_from=[S.FAILED, S.UNKNOWN], actor=actor, next_attempt_at=timezone.now(),
                attempts=0, finished_at=None, error_class="", error_code="", error_message="")  # fmt: skip
    post_rollup(post_id=target.post_id, actor=actor)
    target.refresh_from_db()
    return target


@transaction.atomic
def target_mark_published(*, actor: Actor | Membership, target: Target, url: str = "") -> Target:
    """An unknown outcome the author checked by hand: it did go out. The parts after it follow."""
    actor = _editor(actor)
    target = Target.objects.select_for_update().get(pk=target.pk, workspace=actor.workspace)
    if target.status != S.UNKNOWN:
        raise ValidationError("Only a post whose outcome is unknown can be marked as published.")
    parts = list(TargetPart.objects.filter(target=target).order_by("position"))
    in_doubt = next((part for part in parts if part.status == P.UNKNOWN), None)
    if in_doubt is None:
        raise ValidationError("Nothing of this post was in flight; use Publish again to send it.")
    now = timezone.now()
    part_move(in_doubt, P.PUBLISHED, target=target, actor=actor, url=url, landed_at=now, error_message="")
    if in_doubt.position == 0:
        Target.objects.filter(pk=target.pk).update(url=url)
    rest = any(part.status != P.PUBLISHED for part in parts)
    if rest:
        target_move(target, S.SCHEDULED, actor=actor, next_attempt_at=now, error_message="")
    else:
        target_move(target, S.PUBLISHED, actor=actor, finished_at=now, error_message="", next_attempt_at=None)
    post_rollup(post_id=target.post_id, actor=actor)
    target.refresh_from_db()
    return target
