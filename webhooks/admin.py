from django.contrib import admin

from webhooks.models import Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "workspace", "enabled", "failure_streak", "created_at"]
    list_filter = ["enabled"]
    exclude = ["secret", "previous_secret"]  # never rendered, even to operators
    readonly_fields = ["failing_since", "disabled_at", "created_by"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["message_id", "event_type", "endpoint", "status", "attempt_count", "created_at"]
    list_filter = ["status", "event_type"]
    raw_id_fields = ["endpoint", "event"]
