"""A post's status follows its targets; failures and unknowns are told to the author."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from accounts.services import notify
from events.services import EventSpec, actor_fields, events_emit
from publishing.models import Post, Target, TargetPart

S = Target.Status
IN_FLIGHT = {S.QUEUED, S.PUBLISHING, S.PROCESSING, S.RETRY_WAIT, S.UNKNOWN}
# A failed target whose main post landed (a reply or the first comment did not) counts as partly
# out; so does one canceled after its main post landed (the rest will not follow, but it is live).
PARTLY = "partly"
PARTLY_FROM = {S.FAILED, S.CANCELED}
# The services announce what people do (post.scheduled, post.canceled, ...); the roll-up announces
# only the outcomes the engine reaches, so no change is announced twice.
OUTCOMES = {Post.Status.PUBLISHED, Post.Status.PARTIAL, Post.Status.FAILED}


def rolled_up_status(statuses: set[str]) -> str:
    live = statuses - {S.CANCELED}
    if not live:
        return Post.Status.CANCELED
    if live == {S.DRAFT}:
        return Post.Status.DRAFT
    if S.AWAITING_APPROVAL in live and live <= {S.AWAITING_APPROVAL, S.DRAFT}:
        return Post.Status.AWAITING_APPROVAL
    if live & IN_FLIGHT:
        return Post.Status.PUBLISHING
    if live <= {S.SCHEDULED, S.DRAFT}:
        return Post.Status.SCHEDULED
    if S.SCHEDULED in live:
        return Post.Status.PUBLISHING  # some parts done, some still to go (a retry, a reschedule)
    if live == {S.PUBLISHED}:
        return Post.Status.PUBLISHED
    if live == {S.FAILED}:
        return Post.Status.FAILED
    if live & {S.PUBLISHED, PARTLY}:
        return Post.Status.PARTIAL
    return Post.Status.FAILED


def _statuses(post_id: int) -> set[str]:
    rows = Target.objects.filter(post_id=post_id).annotate(landed=_LANDED).values_list("status", "landed")
    return {counted_status(status, landed) for status, landed in rows}


# Some part of the target is live (its id known, or marked as published by hand).
_LANDED = Exists(TargetPart.objects.filter(target=OuterRef("pk"), status=TargetPart.Status.PUBLISHED))


def counted_status(status: str, landed: bool) -> str:
    """How a target counts towards its post's status (PARTLY: something of it is live)."""
    return PARTLY if status in PARTLY_FROM and landed else status


def post_rollup(*, post_id: int, actor: Any = None) -> str:
    # Locked, so two workers finishing two targets of one post cannot write a stale status last.
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(id=post_id).only("id", "workspace_id", "status").first()
        if post is None:
            return ""
        status = rolled_up_status(_statuses(post_id))
        if post.status != status:
            Post.objects.filter(id=post_id).update(status=status)
            if status in OUTCOMES:
                events_emit([_post_event(post, status, actor)])
    return status


def posts_rollup(*, post_ids: Iterable[int]) -> None:
    """post_rollup for many posts at once (a worker's batch): a few queries for all of them.
    Locked in id order, so two batches sharing posts cannot deadlock."""
    ids = sorted(set(post_ids))
    with transaction.atomic():
        posts = list(
            Post.objects.select_for_update().filter(id__in=ids).only("id", "workspace_id", "status").order_by("id")
        )
        statuses: dict[int, set[str]] = defaultdict(set)
        rows = Target.objects.filter(post_id__in=ids).annotate(landed=_LANDED)
        for post_id, status, landed in rows.values_list("post_id", "status", "landed"):
            statuses[post_id].add(counted_status(status, landed))
        changed: dict[str, list[Post]] = defaultdict(list)
        for post in posts:
            status = rolled_up_status(statuses[post.id])
            if post.status != status:
                changed[status].append(post)
        for status, group in changed.items():
            Post.objects.filter(id__in=[post.id for post in group]).update(status=status)
        events_emit(_post_event(post, status, None) for status, group in changed.items() for post in group)


def posts_settle(*, limit: int = 200) -> int:
    """Posts that still say publishing though none of their targets is due or in flight (the
    worker died after its targets landed, before its roll-up): rolled up now. The dispatcher runs
    this with its housekeeping, so no post is left "publishing" for ever."""
    busy = Target.objects.filter(post=OuterRef("pk"), status__in=[*IN_FLIGHT, S.SCHEDULED])
    stuck = Post.objects.filter(status=Post.Status.PUBLISHING).exclude(Exists(busy))
    ids = list(stuck.values_list("id", flat=True)[:limit])
    if ids:
        posts_rollup(post_ids=ids)
    return len(ids)


def _post_event(post: Post, status: str, actor: Any) -> EventSpec:
    return EventSpec(
        workspace_id=post.workspace_id,
        type=f"post.{status}",
        subject_type="post",
        subject_id=post.id,
        post_id=post.id,
        payload={"post_id": post.id, "status": status},
        **actor_fields(actor),
    )


def tell_author(*, target_id: int) -> None:
    """A failed or unknown target: the author hears why and what to do, in-app and by email."""
    target = (
        Target.objects.select_related("post__workspace", "account")
        .defer("account__secrets")  # nothing here needs them, and a key problem must not stop the notice
        .get(id=target_id)
    )
    for user in _told(target.post):
        _tell(user, target)


def _told(post: Post) -> list[User]:
    """The author; for a post made through the API (no author), the workspace's admins and owners.
    An author who left the workspace no longer hears about its posts."""
    members = post.workspace.memberships.select_related("user")
    if post.author_id is None:
        return [m.user for m in members.filter(role__in=[Role.ADMIN, Role.OWNER])]
    return [m.user for m in members.filter(user_id=post.author_id)]


def _tell(author: User, target: Target) -> None:
    account = target.account
    if target.status == S.UNKNOWN:
        title = f"Could not confirm your post to {account.username}"
    elif target.platform_post_id:
        title = f"Your post to {account.username} ({account.get_platform_display()}) went out in part"
    else:
        title = f"Your post to {account.username} ({account.get_platform_display()}) failed"
    url = reverse("post_detail", args=[target.post_id])
    notify(
        user=author,
        workspace=target.post.workspace,
        title=title,
        body=target.error_message,
        url=url,
        level="warning" if target.status == S.UNKNOWN else "error",
    )
    transaction.on_commit(
        lambda: send_mail(
            subject=f"[Postwright] {title}",
            message=f"{target.error_message}\n\nSee the post and retry: {settings.SITE_URL}{url}",
            from_email=None,
            recipient_list=[author.email],
            fail_silently=True,
        )
    )
