from django.urls import path

from config import converters  # noqa: F401 - registers <id:...>
from publishing import approval_views, views

urlpatterns = [
    path("", views.home, name="dashboard"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/hour/", views.calendar_hour, name="calendar_hour"),
    path("posts/", views.post_list, name="posts"),
    path("posts/new/", views.compose, name="compose"),
    path("posts/check/", views.compose_check, name="compose_check"),
    path("posts/split/", views.compose_split, name="compose_split"),
    path("posts/bulk/", views.post_bulk, name="post_bulk"),
    path("posts/<id:post_id>/", views.post_detail, name="post_detail"),
    path("posts/<id:post_id>/edit/", views.post_edit, name="post_edit"),
    path("posts/<id:post_id>/preview/", views.post_preview, name="post_preview"),
    path("posts/<id:post_id>/targets/", views.post_targets, name="post_targets"),
    path("posts/<id:post_id>/cancel/", views.post_cancel, name="post_cancel"),
    path("posts/<id:post_id>/restore/", views.post_restore, name="post_restore"),
    path("posts/<id:post_id>/duplicate/", views.post_duplicate, name="post_duplicate"),
    path("posts/<id:post_id>/remove-imported/", views.post_remove_imported, name="post_remove_imported"),
    path("posts/<id:post_id>/reschedule/", views.post_reschedule, name="post_reschedule"),
    # Approvals and comments (publishing/approval_views.py)
    path("posts/approvals/", approval_views.approval_queue, name="approval_queue"),
    path("posts/<id:post_id>/approve/", approval_views.post_approve, name="post_approve"),
    path("posts/<id:post_id>/request-changes/", approval_views.post_request_changes, name="post_request_changes"),
    path("posts/<id:post_id>/comments/", approval_views.post_comment, name="post_comment"),
    path("queue/", views.queue_slots, name="queue_slots"),
    path("queue/<id:account_id>/add/", views.queue_slot_add, name="queue_slot_add"),
    path("queue/slots/<id:slot_id>/remove/", views.queue_slot_remove, name="queue_slot_remove"),
    path("media/", views.media_library, name="media_library"),
    path("media/upload/", views.media_upload, name="media_upload"),
    path("media/uploads/", views.media_upload_create, name="media_upload_create"),
    path("media/uploads/<uuid:upload_id>/", views.media_upload_chunks, name="media_upload_chunks"),
    path("media/uploads/<uuid:upload_id>/finish/", views.media_upload_finish, name="media_upload_finish"),
    path("media/<id:media_id>/status/", views.media_status, name="media_status"),
    path("media/<id:media_id>/preview/", views.media_preview, name="media_preview"),
    path("media/<id:media_id>/cover/", views.media_cover, name="media_cover"),
    path("media/s/<str:token>/", views.media_signed, name="media_signed"),
    path("targets/<id:target_id>/retry/", views.target_retry, name="target_retry"),
    path("targets/<id:target_id>/mark-published/", views.target_mark_published, name="target_mark_published"),
]
