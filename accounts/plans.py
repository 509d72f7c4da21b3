"""Plan limits, checked by the services that create what a plan counts (accounts, members, posts,
webhook endpoints), so the dashboard and the API refuse the same thing with the same message."""

from django.core.exceptions import ValidationError

from accounts.models import Plan, Workspace

WHAT = {
    "connected_accounts": "connected accounts",
    "members": "members",
    "scheduled_posts_per_month": "scheduled posts a month",
    "api_requests_per_minute": "API requests a minute",
    "webhook_endpoints": "webhook endpoints",
}


def plan_of(workspace: Workspace) -> Plan | None:
    """The workspace's plan, else the default one; None (no limits) when operators removed them all."""
    if workspace.plan_id:
        return workspace.plan
    return Plan.objects.filter(is_default=True).order_by("id").first()


def plan_limit(*, workspace: Workspace, limit: str) -> int | None:
    plan = plan_of(workspace)
    return None if plan is None else getattr(plan, limit)


def plan_require_room(*, workspace: Workspace, limit: str, used: int, adding: int = 1, field: str = "") -> None:
    """Raise ValidationError (code ``plan_limit``) when ``used + adding`` would pass the plan's limit."""
    plan = plan_of(workspace)
    allowed = None if plan is None else getattr(plan, limit)
    if plan is None or allowed is None or used + adding <= allowed:
        return
    message = (
        f"The {plan.name} plan allows {allowed} {WHAT[limit]}; this workspace has {used}. "
        "Remove some or move to a larger plan."
    )
    error = ValidationError(message, code="plan_limit")
    raise ValidationError({field: [error]}) if field else error
