"""A post's status follows its targets; failures and unknowns are told to the author."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from accounts.services import notify
from publishing.models import Post, Target

S = Target.Status
IN_FLIGHT = {S.QUEUED, S.PUBLISHING, S.RETRY_WAIT, S.UNKNOWN}


def rolled_up_status(statuses: set[str]) -> str:
    live = statuses - {S.CANCELED}
    if not live:
        return Post.Status.CANCELED
    if live == {S.DRAFT}:
        return Post.Status.DRAFT
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
    if S.PUBLISHED in live:
        return Post.Status.PARTIAL
    return Post.Status.FAILED


def post_rollup(*, post_id: int) -> str:
    # Locked, so two workers finishing two targets of one post cannot write a stale status last.
    with transaction.atomic():
        Post.objects.select_for_update().filter(id=post_id).values_list("id", flat=True).first()
        statuses = set(Target.objects.filter(post_id=post_id).values_list("status", flat=True))
        status = rolled_up_status(statuses)
        Post.objects.filter(id=post_id).exclude(status=status).update(status=status)
    return status


def tell_author(*, target_id: int) -> None:
    """A failed or unknown target: the author hears why and what to do, in-app and by email."""
    target = (
        Target.objects.select_related("post__author", "post__workspace", "account")
        .defer("account__secrets")  # nothing here needs them, and a key problem must not stop the notice
        .get(id=target_id)
    )
    author = target.post.author
    if author is None or not target.post.workspace.memberships.filter(user=author).exists():
        return  # an author who left the workspace no longer hears about its posts
    account = target.account
    if target.status == S.UNKNOWN:
        title = f"Could not confirm your post to {account.username}"
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
