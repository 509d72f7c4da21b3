from typing import TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django_stubs_ext import WithAnnotations

from connections.models import ConnectSession, Grant, InstanceApp, OAuthApp, SocialAccount


class _Counted(TypedDict):
    account_count: int  # GrantAdmin.get_queryset's annotation


# Encrypted fields are non-editable model fields, so no admin form or list ever renders them.


class GrantAccountsInline(admin.TabularInline[SocialAccount, Grant]):
    model = SocialAccount
    fields = readonly_fields = ("platform", "username", "status", "last_checked_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Grant | None = None) -> bool:
        return False  # accounts join a grant by connecting, never by hand


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin[Grant]):
    list_display = ["__str__", "platform", "workspace", "status", "account_count", "expires_at", "last_refreshed_at"]
    list_filter = ["platform", "status"]
    search_fields = ["workspace__name", "accounts__username", "created_by__email"]
    list_select_related = ["workspace"]
    # Inspection only: a grant's status, expiry and accounts follow from the consent and its
    # accounts, and editing one of them by hand would make the others lie. Secrets never show.
    readonly_fields = [
        "workspace", "platform", "status", "expires_at", "scope", "last_refreshed_at", "last_error",
        "created_by", "created_at", "updated_at",
    ]  # fmt: skip
    inlines = [GrantAccountsInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Grant]:
        counted: QuerySet[Grant] = super().get_queryset(request).annotate(account_count=Count("accounts"))
        return counted

    @admin.display(description="Accounts", ordering="account_count")
    def account_count(self, grant: "WithAnnotations[Grant, _Counted]") -> int:
        return grant.account_count


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin[SocialAccount]):
    list_display = ["username", "platform", "workspace", "status", "grant", "token_expires_at", "last_checked_at"]
    list_filter = ["platform", "status"]
    search_fields = ["username", "display_name", "external_id", "workspace__name", "tenant_id"]
    list_select_related = ["workspace", "grant"]
    readonly_fields = ["external_id", "grant", "token_expires_at", "last_checked_at", "created_at", "updated_at"]
    raw_id_fields = ["workspace", "connected_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SocialAccount]:
        return super().get_queryset(request).defer("grant__secrets")


@admin.register(OAuthApp)
class OAuthAppAdmin(admin.ModelAdmin[OAuthApp]):
    list_display = ["platform", "workspace", "client_id", "updated_at"]
    list_filter = ["platform"]
    search_fields = ["workspace__name", "client_id"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]


@admin.register(InstanceApp)
class InstanceAppAdmin(admin.ModelAdmin[InstanceApp]):
    list_display = ["platform", "instance_url", "client_id", "created_at"]
    list_filter = ["platform"]
    search_fields = ["instance_url"]


@admin.register(ConnectSession)
class ConnectSessionAdmin(admin.ModelAdmin[ConnectSession]):
    list_display = ["platform", "workspace", "created_by", "status", "created_at", "expires_at"]
    list_filter = ["platform", "status"]
    search_fields = ["workspace__name", "created_by__email", "tenant_id"]
    list_select_related = ["workspace", "created_by"]
    exclude = ["state"]  # the state is a one-time credential of the browser that started the attempt
    raw_id_fields = ["workspace", "created_by", "reconnect_account"]
