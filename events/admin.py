from django.contrib import admin
from django.http import HttpRequest

from events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    """Read-only: the outbox is history, and webhook consumers rely on it not changing."""

    list_display = ("seq", "type", "subject_type", "subject_id", "workspace", "actor_label", "created_at")
    list_filter = ("type",)
    list_select_related = ("workspace",)
    search_fields = ("public_id", "type")
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False
