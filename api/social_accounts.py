"""/social-accounts: the workspace's connected accounts, their health, tenant and disconnection.

Everything goes through connections.services, as the Accounts page does: the same Check, the same
Disconnect (secrets wiped, row kept for post history). No token, app password or other secret is
ever read for a list or shown in an answer.
"""

from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from accounts.roles import Capability
from analytics.imports import import_start
from analytics.models import ImportRun
from api.auth import principal_of
from api.keys import Principal
from api.pages import PageQuery, page_of
from api.problems import ApiError, provider_error_code
from api.schemas import ERRORS, READ_ERRORS, Id, ProblemOut, Text
from connections import services
from connections.errors import ProviderError
from connections.models import SocialAccount

router = Router(tags=["social-accounts"])
S = SocialAccount.Status


class SocialAccountOut(Schema):
    id: int
    platform: str
    network_unique_id: str = Field(description="The platform's own id for the account.")
    username: str
    display_name: str
    avatar_url: str
    profile_url: str
    type: str = Field(description="profile, page, organization or channel: what the platform calls it.")
    status: str = Field(description="active, needs_reconnect or disconnected.")
    problem: str = Field(description="Why it is not healthy, when it is not; empty otherwise.")
    scopes: list[str]
    token_expires_at: datetime | None
    last_synced_at: datetime | None = Field(description="The last time the platform confirmed it.")
    tenant_id: str
    connected_at: datetime


class SocialAccountPage(Schema):
    data: list[SocialAccountOut]
    next_cursor: str | None


class SocialAccountFilters(PageQuery):
    tenant_id: Text | None = Field(None, max_length=255)
    platform: Text | None = Field(None, max_length=32)
    status: Literal[tuple(S.values)] | None = None  # type: ignore[valid-type]


class SocialAccountPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    tenant_id: Text = Field(max_length=255, description="Your own id for the user; empty clears it.")


class CheckOut(Schema):
    healthy: bool
    error_code: str = Field(description="Empty when healthy, e.g. POSTWRIGHT/BLUESKY/AUTH.")
    message: str
    account: SocialAccountOut


def account_out(account: SocialAccount) -> dict[str, Any]:
    grant = account.grant  # select_related: no query, and its secrets are deferred
    return {
        "id": account.pk, "platform": account.platform, "network_unique_id": account.external_id,
        "username": account.username, "display_name": account.display_name, "avatar_url": account.avatar_url,
        "profile_url": account.profile_url, "type": str(account.extra.get("account_type") or "profile"),
        "status": account.status, "problem": account.problem, "scopes": grant.scope.split() if grant else [],
        "token_expires_at": account.token_expires_at, "last_synced_at": account.last_checked_at,
        "tenant_id": account.tenant_id, "connected_at": account.created_at,
    }  # fmt: skip


def accounts_of(principal: Principal) -> QuerySet[SocialAccount]:
    """The key's accounts: its workspace's, and only its tenants' when it is restricted."""
    queryset = (
        SocialAccount.objects.filter(workspace=principal.actor.workspace)
        .select_related("grant")
        .defer("secrets", "grant__secrets")
    )
    if principal.key.tenant_ids:
        queryset = queryset.filter(tenant_id__in=principal.key.tenant_ids)
    return queryset


def account_get(principal: Principal, account_id: int) -> SocialAccount:
    return accounts_of(principal).get(pk=account_id)  # DoesNotExist: 404


def _with_secrets(principal: Principal, account_id: int) -> SocialAccount:
    """For the operations that call the platform: the full rows, never rendered as they are."""
    queryset = SocialAccount.objects.select_related("grant", "workspace").filter(workspace=principal.actor.workspace)
    if principal.key.tenant_ids:
        queryset = queryset.filter(tenant_id__in=principal.key.tenant_ids)
    return queryset.get(pk=account_id)


@router.get("", response={200: SocialAccountPage, READ_ERRORS: ProblemOut}, summary="List social accounts")
def list_accounts(request: HttpRequest, filters: Query[SocialAccountFilters]) -> dict:
    queryset = accounts_of(principal_of(request))
    if filters.tenant_id is not None:
        queryset = queryset.filter(tenant_id=filters.tenant_id)
    if filters.platform is not None:
        queryset = queryset.filter(platform=filters.platform)
    if filters.status is not None:
        queryset = queryset.filter(status=filters.status)
    return page_of(queryset, filters, account_out)


@router.get("/{account_id}", response={200: SocialAccountOut, READ_ERRORS: ProblemOut}, summary="Get an account")
def get_account(request: HttpRequest, account_id: Id) -> dict:
    return account_out(account_get(principal_of(request), account_id))


@router.patch("/{account_id}", response={200: SocialAccountOut, ERRORS: ProblemOut}, summary="Set an account's tenant")
def patch_account(request: HttpRequest, account_id: Id, data: SocialAccountPatch) -> dict:
    principal = principal_of(request)
    account = account_get(principal, account_id)
    if not principal.sees_tenant(data.tenant_id):
        raise ApiError(403, "This API key cannot move accounts to a tenant it is not restricted to.")
    services.account_tenant_set(actor=principal.actor, account=account, tenant_id=data.tenant_id)
    return account_out(account_get(principal, account_id))


@router.post("/{account_id}/check", response={200: CheckOut, ERRORS: ProblemOut}, summary="Check an account's health")
def check_account(request: HttpRequest, account_id: Id) -> dict:
    """Asks the platform now, as the Accounts page's Check button does. A check that finds a
    problem is still a successful call: ``healthy`` is false and ``error_code`` says what."""
    principal = principal_of(request)
    account = _with_secrets(principal, account_id)
    if account.status == S.DISCONNECTED:
        raise ApiError(409, "This account is disconnected: connect it again first.")
    try:
        services.account_check(actor=principal.actor, account=account)
        healthy, code, message = True, "", ""
    except ProviderError as exc:
        healthy, code, message = False, provider_error_code(account.platform, exc), exc.message
    return {"healthy": healthy, "error_code": code, "message": message,
            "account": account_out(account_get(principal, account_id))}  # fmt: skip


@router.post("/{account_id}/disconnect", response={200: SocialAccountOut, ERRORS: ProblemOut}, summary="Disconnect")
def disconnect_account(request: HttpRequest, account_id: Id) -> dict:
    """Wipes the account's secrets and revokes its consent at the platform where it can; the
    account stays (status disconnected) so its posts keep their history. Disconnecting twice is harmless."""
    principal = principal_of(request)
    account = _with_secrets(principal, account_id)
    if account.status != S.DISCONNECTED:
        services.account_disconnect(actor=principal.actor, account=account)
    elif not principal.actor.can(Capability.MANAGE_CONNECTIONS):
        raise ApiError(403, "Only admins can disconnect accounts.")
    return account_out(account_get(principal, account_id))


# --- Imports of the account's existing posts ---------------------------------------------------


class ImportOut(Schema):
    id: int
    account_id: int
    status: str = Field(description="queued, running, completed, failed or canceled.")
    imported: int = Field(description="Posts brought in so far (each one a published post, origin imported).")
    skipped: int = Field(description="Posts seen that were already here (imported before, or published by Postwright).")
    pages: int
    max_posts: int | None = Field(description="The most this run imports (ANALYTICS_IMPORT_MAX_POSTS).")
    error: str = Field(description="Why it failed, in the platform's words; empty otherwise.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def import_out(run: ImportRun) -> dict[str, Any]:
    return {
        "id": run.pk, "account_id": run.account_id, "status": run.status, "imported": run.imported,
        "skipped": run.skipped, "pages": run.pages, "max_posts": run.total, "error": run.error,
        "created_at": run.created_at, "started_at": run.started_at, "finished_at": run.finished_at,
    }  # fmt: skip


@router.post("/{account_id}/imports", response={202: ImportOut, ERRORS: ProblemOut}, summary="Import past posts")
def start_import(request: HttpRequest, account_id: Id) -> tuple[int, dict]:
    """Brings in the account's existing posts in the background, newest first, as far back as the
    platform and the instance's caps allow; they become published posts marked ``origin:
    imported`` that are never published again. One import runs per account at a time: asking
    again while one is under way answers that one. ``import.completed`` or ``import.failed``
    follows as a webhook."""
    principal = principal_of(request)
    run = import_start(actor=principal.actor, account=_with_secrets(principal, account_id))
    return 202, import_out(run)


@router.get("/{account_id}/imports/{import_id}", response={200: ImportOut, READ_ERRORS: ProblemOut},
            summary="Get an import's progress")  # fmt: skip
def get_import(request: HttpRequest, account_id: Id, import_id: Id) -> dict:
    account = account_get(principal_of(request), account_id)
    return import_out(ImportRun.objects.get(pk=import_id, account=account))
