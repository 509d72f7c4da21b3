from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from publishing.models import ContentMedia, Media, Post, PostContent, PostingSlot, RateBudget, Target, TargetPart


class PostContentInline(admin.StackedInline[PostContent, Post]):
    """Read-only: changing a post's words goes through post_update, which sends an approved post
    back for approval; an edit here would publish words nobody approved."""

    model = PostContent
    extra = 0
    fields = readonly_fields = ("position", "kind", "text")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Post | None = None) -> bool:
        return False


class TargetInline(admin.TabularInline[Target, Post]):
    model = Target
    extra = 0
    fields = readonly_fields = (
        "account",
        "status",
        "due_at",
        "attempts",
        "platform_post_id",
        "error_class",
        "error_message",
    )
    can_delete = False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin[Post]):
    list_display = ["id", "workspace", "author", "status", "scheduled_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["contents__text", "workspace__name", "author__email"]
    list_select_related = ["workspace", "author"]
    date_hierarchy = "scheduled_at"
    raw_id_fields = ["workspace", "author"]
    # Approval and status are the services' to set (publishing/approvals.py, the rollup): no admin
    # edit approves a post or marks it published.
    readonly_fields = ["status", "approval", "approval_when", "content_edited_by", "scheduled_at"]
    inlines = [PostContentInline, TargetInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        # The main text in the same query, so each row's __str__ needs none of its own.
        main = PostContent.objects.filter(post=OuterRef("pk"), kind=PostContent.Kind.MAIN).values("text")[:1]
        with_text: QuerySet[Post] = super().get_queryset(request).annotate(main_text=Subquery(main))
        return with_text


class TargetPartInline(admin.TabularInline[TargetPart, Target]):
    """Read-only: parts move only through the engine's state graph (publishing/states.py)."""

    model = TargetPart
    extra = 0
    fields = readonly_fields = (
        "position",
        "kind",
        "status",
        "attempts",
        "platform_post_id",
        "url",
        "error_message",
        "landed_at",
    )
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Target | None = None) -> bool:
        return False


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin[Target]):
    list_display = ["id", "post", "account", "status", "due_at", "attempts", "error_class", "finished_at"]
    list_filter = ["status", "error_class", "account__platform"]
    search_fields = ["platform_post_id", "account__username", "error_message"]
    list_select_related = ["post", "account"]
    raw_id_fields = ["workspace"]
    # Status and what the engine records are read-only: a status changes only along the declared
    # graph (publishing/states.py), so no admin edit can put a target into an impossible state.
    # Its post and account too: moving a target to an unapproved post or another account would
    # publish what nobody approved, where nobody asked.
    readonly_fields = ["post", "account", "status", "status_reason", "attempts", "resuming", "lane",
                       "idempotency_key", "queued_at", "started_at", "finished_at", "lease_expires_at",
                       "next_attempt_at", "platform_post_id", "url", "error_class", "error_code",
                       "error_message"]  # fmt: skip
    inlines = [TargetPartInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Target]:
        # A list shows the account's name, never its tokens: nothing to decrypt per row.
        return super().get_queryset(request).defer("account__secrets")


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin[Media]):
    list_display = ["original_name", "workspace", "mime_type", "size", "width", "height", "created_at"]
    list_filter = ["mime_type"]
    search_fields = ["original_name", "sha256", "workspace__name"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace", "uploaded_by"]
    readonly_fields = ["sha256", "size", "width", "height"]


@admin.register(PostingSlot)
class PostingSlotAdmin(admin.ModelAdmin[PostingSlot]):
    list_display = ["account", "weekday", "time"]
    list_filter = ["weekday"]
    raw_id_fields = ["account"]
    list_select_related = ["account"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PostingSlot]:
        return super().get_queryset(request).defer("account__secrets")


@admin.register(RateBudget)
class RateBudgetAdmin(admin.ModelAdmin[RateBudget]):
    list_display = ["key", "next_at"]
    search_fields = ["key"]


admin.site.register(ContentMedia, raw_id_fields=["content", "media"])
