from django.contrib import admin
from django.http import HttpRequest

from connections.providers.meta.models import DataDeletionRequest


@admin.register(DataDeletionRequest)
class DataDeletionRequestAdmin(admin.ModelAdmin[DataDeletionRequest]):
    """Read-only: the record answers "what became of request <code>?" and must not be rewritten."""

    list_display = ["confirmation_code", "platform", "status", "accounts_erased", "received_at", "completed_at"]
    list_filter = ["platform", "status"]
    search_fields = ["confirmation_code"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DataDeletionRequest | None = None) -> bool:
        return False
