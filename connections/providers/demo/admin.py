from django.contrib import admin

from connections.providers.demo.models import DemoPost


@admin.register(DemoPost)
class DemoPostAdmin(admin.ModelAdmin[DemoPost]):
    list_display = ["post_id", "account_external_id", "created_at"]
    search_fields = ["post_id", "account_external_id", "text"]
    raw_id_fields = ["parent"]
