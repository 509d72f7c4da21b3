"""Published posts with stored numbers, made directly (no engine run): what the dashboard reads."""

from datetime import datetime

from django.utils import timezone

from accounts.models import Workspace
from analytics.models import ENGAGEMENT_FIELDS, AccountMetricSnapshot, PartMetrics, PartMetricSnapshot
from connections.models import SocialAccount
from publishing.models import Post, PostContent, Target, TargetPart


def published_post(
    workspace: Workspace, account: SocialAccount, at: datetime, *, text: str = "A post", **numbers: int | None
) -> PartMetrics:
    """One post published at ``at`` to ``account``, its main part holding ``numbers`` now."""
    post = Post.objects.create(workspace=workspace, status=Post.Status.PUBLISHED, scheduled_at=at)
    PostContent.objects.create(post=post, position=0, text=text)
    target = Target.objects.create(
        workspace=workspace, post=post, account=account, status=Target.Status.PUBLISHED, finished_at=at,
        url=f"https://demo.example/{post.pk}",
    )  # fmt: skip
    part = TargetPart.objects.create(
        target=target, position=0, kind=PostContent.Kind.MAIN, status=TargetPart.Status.PUBLISHED,
        platform_post_id=f"p{post.pk}", url=f"https://demo.example/{post.pk}", landed_at=at,
    )  # fmt: skip
    engagement = sum(numbers.get(name) or 0 for name in ENGAGEMENT_FIELDS)
    now = timezone.now()
    PartMetricSnapshot.objects.create(
        workspace=workspace, account=account, target=target, part=part, taken_at=now, **numbers
    )
    return PartMetrics.objects.create(
        workspace=workspace, account=account, target=target, part=part, published_at=at, engagement=engagement,
        first_synced_at=now, updated_at=now, **numbers,
    )  # fmt: skip


def followers_at(account: SocialAccount, at: datetime, followers: int) -> AccountMetricSnapshot:
    return AccountMetricSnapshot.objects.create(
        workspace=account.workspace, account=account, taken_at=at, followers=followers
    )
