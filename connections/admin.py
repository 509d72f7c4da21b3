from django.contrib import admin

from connections.models import ConnectSession, DemoPost, InstanceApp, OAuthApp, SocialAccount

# Encrypted fields are non-editable model fields, so no admin form or list ever renders them.


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    list_display = ["username", "platform", "workspace", "status", "token_expires_at", "last_checked_at", "tenant_id"]
    list_filter = ["platform", "status"]
    search_fields = ["username", "display_name", "external_id", "workspace__name", "tenant_id"]
    list_select_related = ["workspace"]
    readonly_fields = ["external_id", "token_expires_at", "last_checked_at", "created_at", "updated_at"]
    raw_id_fields = ["workspace", "connected_by"]


@admin.register(OAuthApp)
class OAuthAppAdmin(admin.ModelAdmin):
    list_display = ["platform", "workspace", "client_id", "updated_at"]
    list_filter = ["platform"]
    search_fields = ["workspace__name", "client_id"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]


@admin.register(InstanceApp)
class InstanceAppAdmin(admin.ModelAdmin):
    list_display = ["platform", "instance_url", "client_id", "created_at"]
    list_filter = ["platform"]
    search_fields = ["instance_url"]


@admin.register(ConnectSession)
class ConnectSessionAdmin(admin.ModelAdmin):
    list_display = ["platform", "workspace", "created_by", "status", "created_at", "expires_at"]
    list_filter = ["platform", "status"]
    search_fields = ["workspace__name", "created_by__email", "tenant_id"]
    list_select_related = ["workspace", "created_by"]
    exclude = ["state"]  # the state is a one-time credential of the browser that started the attempt
    raw_id_fields = ["workspace", "created_by", "reconnect_account"]


@admin.register(DemoPost)
class DemoPostAdmin(admin.ModelAdmin):
    list_display = ["post_id", "account_external_id", "created_at"]
    search_fields = ["post_id", "account_external_id", "text"]
    raw_id_fields = ["parent"]
