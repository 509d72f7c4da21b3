"""Reviewing submitted posts, and the members-only comment thread every post has.

A post someone schedules while the workspace's policy says they need approval is held: its
targets wait in ``awaiting_approval`` (never a due state) and the post's ``approval`` is
``pending`` (the dispatcher's claim skips such posts as well). Only ``post_approve`` schedules it,
at the time its author asked for; when that time has passed the reviewer chooses "now" or "the
next free slot" (we ask rather than assume). ``post_request_changes`` sends it back as a draft
with the reviewer's comment. Every step is an event in the post's history and the outbox.
"""

import re
from datetime import datetime
from enum import StrEnum

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.audit import audit
from accounts.models import ApprovalPolicy, Membership, User, Workspace
from accounts.roles import Capability
from connections.models import SocialAccount
from publishing import approval_notices as notices
from publishing.inputs import Attachment, PartInput, PostInput, Problem, WhenKind, problems_error
from publishing.models import Post, PostComment, Target
from publishing.rollup import post_rollup
from publishing.scheduling import next_queue_slot
from publishing.services import (
    _emit,
    _emit_when,
    _iso,
    _lock_editable_targets,
    _own,
    _targets_schedule,
    needs_approval,
)

S = Target.Status
A = Post.Approval
REVIEWER_ONLY = "Only admins and owners can review posts."
MENTION = re.compile(r"(?<![\w.])@([\w.+-]+)")
COMMENT_MAX = 5000


class WhenPassed(StrEnum):
    """What a reviewer picks when the time the author asked for has already gone by."""

    NOW = "now"
    NEXT_SLOT = "queue"


def _reviewer(who: Actor | Membership) -> Actor:
    actor = as_actor(who)
    actor.require(Capability.APPROVE_POSTS, REVIEWER_ONLY)
    if actor.user is None:  # an API key acts as an admin, but an approval is a person's decision
        raise PermissionDenied("An API key cannot approve posts or request changes: a person reviews them.")
    return actor


def _pending_post(actor: Actor, post: Post) -> list[Target]:
    _own(actor, post)
    targets = _lock_editable_targets(post)
    post.refresh_from_db()
    if post.approval != A.PENDING:
        raise problems_error([Problem("", "This post is not waiting for approval.", "not_pending")])
    return [t for t in targets if t.status == S.AWAITING_APPROVAL]


def approval_queue(*, actor: Actor | Membership) -> QuerySet[Post]:
    """Posts waiting for a reviewer, the soonest asked-for time first."""
    actor = _reviewer(actor)
    return Post.objects.filter(workspace=actor.workspace, approval=A.PENDING).order_by("scheduled_at", "id")


def _four_eyes(actor: Actor, post: Post) -> None:
    """Under "everyone needs approval" nobody approves their own words: not the post's author,
    nor whoever last rewrote it while it waited. That is the point of it."""
    policy = Workspace.objects.filter(pk=actor.workspace.pk).values_list("approval_policy", flat=True).first()
    if actor.user is None or policy != ApprovalPolicy.EVERYONE:
        return
    if post.author_id == actor.user.pk:
        raise PermissionDenied("Another admin or owner must approve your own post.")
    if post.content_edited_by_id == actor.user.pk:
        raise PermissionDenied("You changed this post's content: another admin or owner must approve it.")


def _approved_moment(actor: Actor, post: Post, held: list[Target], passed: str) -> tuple[datetime, WhenKind]:
    now = timezone.now()
    if post.approval_when == WhenKind.NOW:
        return now, WhenKind.NOW
    if post.scheduled_at is not None and post.scheduled_at > now:
        return post.scheduled_at, WhenKind(post.approval_when or WhenKind.AT)
    if passed == WhenPassed.NOW:
        return now, WhenKind.NOW
    if passed == WhenPassed.NEXT_SLOT:
        accounts = list(SocialAccount.objects.select_for_update().filter(id__in={t.account_id for t in held}))
        try:
            return next_queue_slot(accounts=accounts, zone=actor.workspace.tzinfo, ignore_post=post.pk), WhenKind.QUEUE
        except ValidationError as exc:
            raise problems_error([Problem("passed", exc.messages[0], "no_slot")]) from None
    message = "The time this post was asked for has passed: publish it now, or at the next free queue slot."
    raise problems_error([Problem("passed", message, "time_passed")])


def content_version(post: Post) -> str:
    """A token of the post as a reviewer read it; any edit or move changes it."""
    return str(int(post.updated_at.timestamp() * 1_000_000))


def _unchanged_since(post: Post, seen: str) -> None:
    if seen and seen != content_version(post):
        message = "This post changed after you opened it: read it again before approving."
        raise problems_error([Problem("seen", message, "changed")])


@transaction.atomic
def post_approve(*, actor: Actor | Membership, post: Post, passed: str = "", note: str = "", seen: str = "") -> Post:
    """Schedule a submitted post as its author asked. ``passed`` ("now" or "queue") answers the
    question asked when that time has gone by; ``note`` is an optional comment for the thread;
    ``seen`` (content_version of the post the reviewer read) refuses a post changed since."""
    actor = _reviewer(actor)
    held = _pending_post(actor, post)
    _four_eyes(actor, post)
    _unchanged_since(post, seen)
    moment, kind = _approved_moment(actor, post, held, passed)
    _targets_schedule(Target.objects.filter(id__in=[t.id for t in held]), moment, actor=actor)
    post.scheduled_at, post.approval, post.approval_when = moment, A.APPROVED, ""
    post.save(update_fields=["scheduled_at", "approval", "approval_when", "updated_at"])
    if note.strip():
        _comment_write(actor, post, note, PostComment.Kind.APPROVED)
    post_rollup(post_id=post.pk, actor=actor)
    _emit(actor, post, "approval.approved", scheduled_at=_iso(moment), when=str(kind))
    audit("approval.approved", actor=actor, obj=post, label=f"Post {post.pk}", details={"scheduled_at": _iso(moment)})
    _emit_when(actor, post, kind, moment, previous=None)
    notices.approval_approved(actor=actor, post=post)
    post.refresh_from_db()
    return post


@transaction.atomic
def post_request_changes(*, actor: Actor | Membership, post: Post, comment: str) -> Post:
    """Send a submitted post back to its author as a draft, saying what to change. The time it was
    asked for stays on the post, so saving the fixed version submits it for that time again."""
    actor = _reviewer(actor)
    if not comment.strip():
        raise problems_error([Problem("comment", "Say what should change, so the author can fix it.", "required")])
    held = _pending_post(actor, post)
    _targets_schedule(Target.objects.filter(id__in=[t.id for t in held]), None, actor=actor)
    post.approval = A.CHANGES_REQUESTED
    post.save(update_fields=["approval", "updated_at"])
    written = _comment_write(actor, post, comment, PostComment.Kind.CHANGES_REQUESTED)
    post_rollup(post_id=post.pk, actor=actor)
    _emit(actor, post, "approval.changes_requested", comment_id=written.pk)
    audit("approval.changes_requested", actor=actor, obj=post, label=f"Post {post.pk}")
    notices.approval_changes_requested(actor=actor, post=post, comment=written.body)
    post.refresh_from_db()
    return post


# --- Switching the policy on ---------------------------------------------------------------


def _needs_approval_now(post: Post) -> bool:
    """Whether its author, scheduling it today, would wait for approval (no author, or one no
    longer a member, counts as needing it: nobody vouches for it)."""
    if post.author_id is None:
        return True
    member = Membership.objects.filter(workspace_id=post.workspace_id, user_id=post.author_id).first()
    return member is None or needs_approval(as_actor(member))


def _hold(actor: Actor, post: Post) -> bool:
    targets = list(Target.objects.select_for_update().filter(post=post))
    if any(t.status not in (S.SCHEDULED, S.DRAFT, S.CANCELED) for t in targets):
        return False  # under way (or failed, retrying): it went out under the old rule
    scheduled = [t for t in targets if t.status == S.SCHEDULED]
    if not scheduled:
        return False
    moment = post.scheduled_at or min(t.due_at for t in scheduled if t.due_at is not None)
    _targets_schedule(Target.objects.filter(id__in=[t.id for t in scheduled]), moment, actor=actor, held=True)
    post.approval, post.approval_when = A.PENDING, WhenKind.AT
    post.save(update_fields=["approval", "approval_when", "updated_at"])
    post_rollup(post_id=post.pk, actor=actor)
    _emit(actor, post, "approval.requested", scheduled_at=_iso(moment), when=str(WhenKind.AT), reason="policy")
    notices.approval_held_by_policy(actor=actor, post=post)
    return True


def posts_hold_for_policy(*, actor: Actor) -> int:
    """After the policy is switched on (or tightened): posts scheduled before it, never approved,
    whose authors would now need approval, wait for it too rather than slip out unreviewed.
    Approved posts stay scheduled. Returns how many were held. Runs in the caller's transaction."""
    candidates = Post.objects.filter(workspace=actor.workspace, approval=A.NONE, targets__status=S.SCHEDULED)
    held = 0
    for post in candidates.distinct().order_by("id"):
        if _needs_approval_now(post) and _hold(actor, post):
            held += 1
    return held


# --- Comments -------------------------------------------------------------------------------


def _handle(user: User) -> set[str]:
    """What ``@`` may be followed by to name a member: their email's local part, or their name
    without spaces (``@ana``, ``@AnaLopez``), case-insensitive."""
    return {user.email.split("@")[0].lower(), user.display_name.replace(" ", "").lower()}


def mentioned_members(workspace: Workspace, body: str) -> list[User]:
    wanted = {name.lower().rstrip(".") for name in MENTION.findall(body)}
    if not wanted:
        return []
    members = Membership.objects.filter(workspace=workspace).select_related("user").order_by("id")
    return [m.user for m in members if _handle(m.user) & wanted]


def _comment_write(actor: Actor, post: Post, body: str, kind: str) -> PostComment:
    body = body.strip()
    if len(body) > COMMENT_MAX:
        raise problems_error([Problem("comment", f"Keep a comment under {COMMENT_MAX} characters.", "too_long")])
    comment = PostComment.objects.create(post=post, author=actor.user, kind=kind, body=body)
    named = [user for user in mentioned_members(actor.workspace, body) if user != actor.user]
    if named:
        notices.mentioned(actor=actor, post=post, users=named, comment=body)
    return comment


@transaction.atomic
def post_comment_add(*, actor: Actor | Membership, post: Post, body: str) -> PostComment:
    """A note in the post's thread: members only, never sent anywhere; ``@name`` notifies them."""
    actor = as_actor(actor)
    actor.require(Capability.VIEW, "Only members can comment.")
    _own(actor, post)
    if not body.strip():
        raise problems_error([Problem("comment", "Write something first.", "required")])
    comment = _comment_write(actor, post, body, PostComment.Kind.COMMENT)
    _emit(actor, post, "post.commented", comment_id=comment.pk)
    return comment


def post_input_of(post: Post) -> PostInput:
    """A saved post as the services' input, for the reviewer's per-network preview."""
    contents = post.contents.prefetch_related("attachments").order_by("position")
    parts = [
        PartInput(c.text, c.kind, tuple(Attachment(a.media_id, a.alt_text) for a in c.attachments.all()))
        for c in contents
    ]
    accounts = list(post.targets.order_by("id").values_list("account_id", flat=True))
    return PostInput(parts=parts, account_ids=accounts, link=post.link, overrides=post.overrides)
