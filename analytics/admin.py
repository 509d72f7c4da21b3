from django.contrib import admin

from analytics.models import AccountMetricSnapshot, MetricSync, PartMetrics, PartMetricSnapshot


@admin.register(MetricSync)
class MetricSyncAdmin(admin.ModelAdmin[MetricSync]):
    """Where a failing sync shows why (``last_error``), per account."""

    list_display = ["id", "kind", "account", "part", "due_at", "step", "attempts", "paused", "last_error"]
    list_filter = ["kind", "paused"]
    list_select_related = ["account", "part"]
    raw_id_fields = ["workspace", "account", "part"]
    search_fields = ["account__username", "last_error"]
    date_hierarchy = "due_at"


@admin.register(PartMetrics)
class PartMetricsAdmin(admin.ModelAdmin[PartMetrics]):
    list_display = ["part", "account", "published_at", "likes", "reposts", "replies", "views", "engagement"]
    list_select_related = ["part", "account"]
    raw_id_fields = ["workspace", "account", "target", "part"]
    date_hierarchy = "published_at"


@admin.register(PartMetricSnapshot)
class PartMetricSnapshotAdmin(admin.ModelAdmin[PartMetricSnapshot]):
    list_display = ["part", "account", "taken_at", "likes", "reposts", "replies", "views"]
    list_select_related = ["part", "account"]
    raw_id_fields = ["workspace", "account", "target", "part"]
    date_hierarchy = "taken_at"


@admin.register(AccountMetricSnapshot)
class AccountMetricSnapshotAdmin(admin.ModelAdmin[AccountMetricSnapshot]):
    list_display = ["account", "taken_at", "followers", "following", "posts_count", "views"]
    list_select_related = ["account"]
    raw_id_fields = ["workspace", "account"]
    date_hierarchy = "taken_at"
