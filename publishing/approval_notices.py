"""Who hears about a post's review, in the app and by email: reviewers when a post is submitted,
the author when it is approved or sent back, members named in a comment."""

from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from accounts.actors import Actor
from accounts.models import Membership, User
from accounts.roles import Role
from accounts.services import notify
from publishing.models import Post


def _reviewers(post: Post, actor: Actor) -> list[User]:
    members = Membership.objects.filter(workspace_id=post.workspace_id, role__in=[Role.ADMIN, Role.OWNER])
    return [
        m.user for m in members.select_related("user").order_by("id") if m.user_id != getattr(actor.user, "pk", None)
    ]


def _author(post: Post) -> list[User]:
    """The author while still a member (a post made through the API has none to tell)."""
    if post.author_id is None:
        return []
    return [m.user for m in Membership.objects.filter(workspace_id=post.workspace_id, user_id=post.author_id)]


def _tell(users: Iterable[User], post: Post, title: str, body: str = "", level: str = "info") -> None:
    url = reverse("post_detail", args=[post.pk])
    text = f"{body}\n\nSee the post: {settings.SITE_URL}{url}".lstrip()
    for user in users:
        notify(user=user, workspace=post.workspace, title=title, body=body, url=url, level=level)
        transaction.on_commit(partial(send_mail, f"[Postwright] {title}", text, None, [user.email], fail_silently=True))


def approval_requested(*, actor: Actor, post: Post) -> None:
    _tell(_reviewers(post, actor), post, f"{actor.label or 'Someone'} submitted a post for approval",
          "It goes out only once an admin or owner approves it.")  # fmt: skip


def approval_held_by_policy(*, actor: Actor, post: Post) -> None:
    _tell(_reviewers(post, actor) + _author(post), post, "A scheduled post now waits for approval",
          "Approval was switched on after this post was scheduled; it goes out only once an admin or owner "
          "approves it.", level="warning")  # fmt: skip


def approval_approved(*, actor: Actor, post: Post) -> None:
    _tell(_author(post), post, f"{actor.label or 'A reviewer'} approved your post", level="success")


def approval_changes_requested(*, actor: Actor, post: Post, comment: str) -> None:
    _tell(_author(post), post, f"{actor.label or 'A reviewer'} asked for changes to your post", comment, "warning")


def mentioned(*, actor: Actor, post: Post, users: Iterable[User], comment: str) -> None:
    _tell(users, post, f"{actor.label or 'Someone'} mentioned you in a comment", comment)
