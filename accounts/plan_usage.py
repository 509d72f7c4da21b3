"""What the settings page shows of the workspace's plan: each limit, how much is used, and what
happens at the limit. The counts are the ones the services check before creating anything
(connections/services.py, accounts/services.py, publishing/services.py, webhooks/services.py)."""

from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Invitation, Plan, Workspace
from accounts.plans import WHAT, plan_of

AT_LIMIT = {
    "connected_accounts": "Connecting another account is refused until one is disconnected.",
    "members": "Inviting someone is refused until a member leaves or an invitation is revoked.",
    "scheduled_posts_per_month": "Scheduling is refused until next month; drafts can still be written.",
    "api_requests_per_minute": "Further API requests that minute get 429 with a Retry-After header.",
    "webhook_endpoints": "Adding an endpoint is refused until one is deleted.",
}


@dataclass(frozen=True)
class Usage:
    label: str
    used: int | None  # None: a rate, not a count (the API's requests a minute)
    limit: int | None  # None: no limit

    @property
    def at_limit(self) -> bool:
        return self.limit is not None and self.used is not None and self.used >= self.limit

    @property
    def percent(self) -> int:
        if not self.limit or self.used is None:
            return 0
        return min(100, round(100 * self.used / self.limit))


def _counts(workspace: Workspace) -> dict[str, int | None]:
    from connections.models import SocialAccount
    from publishing.models import Post
    from webhooks.models import Endpoint

    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    accounts = SocialAccount.objects.filter(workspace=workspace).exclude(status=SocialAccount.Status.DISCONNECTED)
    posts = Post.objects.filter(workspace=workspace, created_at__gte=month_start, scheduled_at__isnull=False)
    pending = Invitation.objects.pending().filter(workspace=workspace).count()
    return {
        "connected_accounts": accounts.count(),
        "members": workspace.memberships.count() + pending,
        "scheduled_posts_per_month": posts.count(),
        "api_requests_per_minute": None,
        "webhook_endpoints": Endpoint.objects.filter(workspace=workspace).count(),
    }


def plan_usage(workspace: Workspace) -> tuple[Plan | None, list[tuple[Usage, str]]]:
    plan = plan_of(workspace)
    counts = _counts(workspace)
    rows = [
        (Usage(WHAT[limit], counts[limit], getattr(plan, limit) if plan else None), AT_LIMIT[limit]) for limit in WHAT
    ]
    return plan, rows
