"""/analytics: the stored numbers of published posts and accounts' history, paged like every list.

Scoped like /social-accounts: the key's workspace, and only its tenants' accounts when it is
restricted. Read from the same tables the Analytics page reads (analytics/models.py)."""

from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime

from analytics.models import AccountMetricSnapshot, PartMetrics
from api.auth import principal_of
from api.keys import Principal
from api.pages import PageQuery, page_of
from api.schemas import READ_ERRORS, Id, PlatformId, ProblemOut
from api.social_accounts import account_get

router = Router(tags=["analytics"])
NUMBER = "None when the platform gives no such number (never 0 for unknown)."


class PostMetricsOut(Schema):
    post_id: int
    part: int = Field(description="0 is the main post; then thread replies and the first comment.")
    account_id: int
    platform: str
    published_at: datetime
    url: str = Field(description="The live post on the platform.")
    likes: int | None = Field(description=NUMBER)
    reposts: int | None
    replies: int | None
    quotes: int | None
    saves: int | None
    views: int | None
    reach: int | None
    clicks: int | None
    engagement: int = Field(description="likes + reposts + replies + quotes + saves.")
    updated_at: datetime = Field(description="When these numbers were last read.")


class PostMetricsPage(Schema):
    data: list[PostMetricsOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last.")


class PostMetricsFilters(PageQuery):
    published_after: AwareDatetime | None = Field(None, description="Only parts published at or after this time.")
    published_before: AwareDatetime | None = Field(None, description="Only parts published before this time.")
    account: Id | None = Field(None, description="Only this social account's posts.")
    platform: PlatformId | None = None


class AccountSnapshotOut(Schema):
    taken_at: datetime
    followers: int | None = Field(description=NUMBER)
    following: int | None
    posts_count: int | None
    views: int | None


class AccountHistoryPage(Schema):
    data: list[AccountSnapshotOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last.")


class HistoryFilters(PageQuery):
    after: AwareDatetime | None = Field(None, description="Only snapshots taken at or after this time.")
    before: AwareDatetime | None = Field(None, description="Only snapshots taken before this time.")


def _post_metrics(principal: Principal) -> QuerySet[PartMetrics]:
    rows = PartMetrics.objects.filter(workspace=principal.actor.workspace).select_related("account", "part", "target")
    if principal.key.tenant_ids:
        rows = rows.filter(account__tenant_id__in=principal.key.tenant_ids)
    return rows


def _post_metrics_out(row: PartMetrics) -> dict:
    return {
        "post_id": row.target.post_id, "part": row.part.position, "account_id": row.account_id,
        "platform": row.account.platform, "published_at": row.published_at, "url": row.part.url,
        "likes": row.likes, "reposts": row.reposts, "replies": row.replies, "quotes": row.quotes,
        "saves": row.saves, "views": row.views, "reach": row.reach, "clicks": row.clicks,
        "engagement": row.engagement, "updated_at": row.updated_at,
    }  # fmt: skip


@router.get(
    "/posts", response={200: PostMetricsPage, READ_ERRORS: ProblemOut}, summary="Posts with their latest numbers"
)
def list_post_metrics(request: HttpRequest, filters: Query[PostMetricsFilters]) -> dict:
    """One row per published part (newest first), with the numbers last read from the platform."""
    rows = _post_metrics(principal_of(request))
    if filters.published_after:
        rows = rows.filter(published_at__gte=filters.published_after)
    if filters.published_before:
        rows = rows.filter(published_at__lt=filters.published_before)
    if filters.account:
        rows = rows.filter(account_id=filters.account)
    if filters.platform:
        rows = rows.filter(account__platform=filters.platform)
    return page_of(rows, filters, _post_metrics_out)


def _snapshot_out(row: AccountMetricSnapshot) -> dict:
    return {
        "taken_at": row.taken_at, "followers": row.followers, "following": row.following,
        "posts_count": row.posts_count, "views": row.views,
    }  # fmt: skip


@router.get(
    "/accounts/{account_id}/history",
    response={200: AccountHistoryPage, READ_ERRORS: ProblemOut},
    summary="An account's followers and totals over time",
)
def account_history(request: HttpRequest, account_id: Id, filters: Query[HistoryFilters]) -> dict:
    """The account's stored snapshots, newest first (one per read that changed a number)."""
    account = account_get(principal_of(request), account_id)  # another workspace's: 404
    rows = AccountMetricSnapshot.objects.filter(workspace_id=account.workspace_id, account=account)
    if filters.after:
        rows = rows.filter(taken_at__gte=filters.after)
    if filters.before:
        rows = rows.filter(taken_at__lt=filters.before)
    return page_of(rows, filters, _snapshot_out)
