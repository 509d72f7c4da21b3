from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from accounts.models import (
    AuditRecord,
    Heartbeat,
    Invitation,
    KnownDevice,
    LegalPage,
    Membership,
    Notification,
    Plan,
    User,
    Workspace,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "timezone", "current_workspace"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    raw_id_fields = ["current_workspace"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Operators set each plan's limits here; an empty limit is no limit. The services read them."""

    list_display = ["name", "is_default", "connected_accounts", "members", "scheduled_posts_per_month",
                    "api_requests_per_minute", "webhook_endpoints"]  # fmt: skip
    list_editable = ["connected_accounts", "members", "scheduled_posts_per_month", "api_requests_per_minute",
                     "webhook_endpoints"]  # fmt: skip


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "plan", "member_count", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    list_filter = ["timezone", "plan"]
    list_select_related = ["plan"]
    inlines = [MembershipInline]

    @admin.display(description="Members")
    def member_count(self, obj: Workspace) -> int:
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name"]
    list_select_related = ["user", "workspace"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "workspace", "role", "status", "invited_by", "created_at", "expires_at"]
    list_filter = ["role"]
    search_fields = ["email", "workspace__name"]
    list_select_related = ["workspace", "invited_by"]
    # The token hash is left out entirely: the admin has no use for it.
    fields = ["workspace", "email", "role", "invited_by", "expires_at", "accepted_at", "declined_at", "revoked_at"]
    readonly_fields = ["invited_by", "accepted_at", "declined_at"]
    autocomplete_fields = ["workspace"]

    def has_add_permission(self, request) -> bool:
        return False  # invitations carry an emailed token; create them from the dashboard


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "workspace", "level", "created_at", "read_at"]
    list_filter = ["level", "read_at"]
    search_fields = ["title", "user__email"]
    list_select_related = ["user", "workspace"]
    raw_id_fields = ["user", "workspace"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen", "detail"]
    readonly_fields = ["name", "last_seen", "detail"]


# allauth's own admin shows the authenticator's data (the encrypted TOTP secret and recovery seed)
# in an editable box. Ours shows who has which method and allows only deletion (a lost phone).
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, for operators as for everyone."""

    list_display = ["created_at", "action", "actor_label", "workspace_id", "object_label", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_label", "ip"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False


@admin.register(KnownDevice)
class KnownDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "user_agent", "first_seen", "last_seen"]
    search_fields = ["user__email"]
    readonly_fields = ["user", "fingerprint", "user_agent", "first_seen", "last_seen"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(LegalPage)
class LegalPageAdmin(admin.ModelAdmin):
    """The operator's privacy policy, terms and deletion instructions (/privacy/, /terms/,
    /data-deletion/); delete one to show the built-in default again."""

    list_display = ["slug", "title", "updated_at"]
