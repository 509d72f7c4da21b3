"""What the home page shows: what goes out next, what needs a person, account health, and the
first steps still to take. A fixed number of queries however many posts the workspace has."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Invitation, Membership, Workspace
from connections.models import SocialAccount
from publishing.models import Post, PostContent, Target
from publishing.queries import posts_for_display

UPCOMING = 5
NEEDS_YOU = 5
ACCOUNTS = 8
RECENT = timedelta(days=14)
S = Target.Status


@dataclass(frozen=True)
class NextAction:
    label: str
    url: str


@dataclass(frozen=True)
class Step:
    label: str
    done: bool
    url: str


@dataclass(frozen=True)
class Home:
    upcoming: list[Post]
    needs_you: list[tuple[Post, NextAction]]
    accounts: list[SocialAccount]
    accounts_total: int
    accounts_unwell: int
    steps: list[Step]

    @property
    def onboarding_done(self) -> bool:
        return all(step.done for step in self.steps)


def next_action(post: Post) -> NextAction:
    """The one thing to do about a failed or partly published post, from its targets."""
    targets = list(post.targets.all())
    page = reverse("post_detail", args=[post.pk])
    broken = next((t.account for t in targets if t.status == S.FAILED and t.account.status != "active"), None)
    if broken is not None:
        return NextAction(f"Reconnect {broken.username}, then retry", reverse("connections"))
    if any(t.status == S.UNKNOWN for t in targets):
        return NextAction("Check whether it went out", page)
    failed = sum(t.status == S.FAILED for t in targets)
    return NextAction(f"Retry {failed} account{'s' if failed != 1 else ''}" if failed else "See what happened", page)


def _steps(actor: Actor, accounts_total: int) -> list[Step]:
    workspace = actor.workspace
    scheduled = Post.objects.filter(workspace=workspace, scheduled_at__isnull=False).exists()
    teammate = (
        Membership.objects.filter(workspace=workspace).count() > 1
        or Invitation.objects.filter(workspace=workspace).exists()
    )
    return [
        Step("Connect an account", accounts_total > 0, reverse("connections")),
        Step("Schedule a first post", scheduled, reverse("compose")),
        Step("Invite a teammate", teammate, reverse("members")),
    ]


def _with_account_health(workspace: Workspace) -> QuerySet[Post]:
    """Posts with their main text and targets, each target's account status included (the next
    action depends on it) and nothing secret loaded."""
    main = Prefetch("contents", queryset=PostContent.objects.filter(kind=PostContent.Kind.MAIN), to_attr="main")
    targets = Target.objects.select_related("account").only(
        "id", "post_id", "status", "account_id", "account__platform", "account__username", "account__status"
    )
    return Post.objects.filter(workspace=workspace).prefetch_related(main, Prefetch("targets", targets.order_by("id")))


def home_for(*, actor: Actor, now: datetime | None = None) -> Home:
    now = now or timezone.now()
    posts = posts_for_display(actor.workspace)
    upcoming = list(
        posts.filter(status=Post.Status.SCHEDULED, scheduled_at__gte=now).order_by("scheduled_at", "id")[:UPCOMING]
    )
    troubled_posts = _with_account_health(actor.workspace).filter(
        status__in=[Post.Status.FAILED, Post.Status.PARTIAL], updated_at__gte=now - RECENT
    )
    troubled = list(troubled_posts.order_by("-updated_at", "-id")[:NEEDS_YOU])
    accounts = (
        SocialAccount.objects.filter(workspace=actor.workspace)
        .exclude(status=SocialAccount.Status.DISCONNECTED)
        .defer("secrets")
    )
    counts = accounts.aggregate(total=Count("id"), unwell=Count("id", filter=~Q(status=SocialAccount.Status.ACTIVE)))
    # Those needing a reconnect first ("needs_reconnect" sorts after "active").
    shown = list(accounts.order_by("-status", "platform", "username")[:ACCOUNTS])
    return Home(
        upcoming=upcoming,
        needs_you=[(post, next_action(post)) for post in troubled],
        accounts=shown,
        accounts_total=counts["total"],
        accounts_unwell=counts["unwell"],
        steps=_steps(actor, counts["total"]),
    )
