from django.urls import path

from accounts import audit_views, deletion_views, export_views, legal, views
from config import converters  # noqa: F401 - registers <id:...>

urlpatterns = [
    path("workspaces/", views.workspace_list, name="workspace_list"),
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("workspaces/<id:workspace_id>/switch/", views.workspace_switch, name="workspace_switch"),
    path("settings/", views.workspace_settings, name="workspace_settings"),
    path("settings/members/", views.members, name="members"),
    path("settings/audit/", audit_views.audit_log, name="audit_log"),
    path("settings/export/", export_views.workspace_export, name="workspace_export"),
    path("me/export/", export_views.personal_export, name="personal_export"),
    path("settings/delete/", deletion_views.workspace_delete, name="workspace_delete"),
    path("me/delete/", deletion_views.account_delete, name="account_delete"),
    path("exports/<id:export_id>/progress/", export_views.export_progress, name="export_progress"),
    path("exports/d/<str:token>/", export_views.export_download, name="export_download"),
    path("settings/members/invite/", views.invitation_create, name="invitation_create"),
    path("settings/members/<id:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<id:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("settings/invitations/<id:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<id:invitation_id>/answer/", views.invitation_answer, name="invitation_answer"),
    path("invitations/<str:token>/", views.invitation_detail, name="invitation_detail"),
    path("me/", views.preferences, name="preferences"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("healthz", views.healthz, name="healthz"),
    # Public, at stable addresses (platform developer consoles ask for them).
    path("privacy/", legal.privacy, name="privacy"),
    path("terms/", legal.terms, name="terms"),
    path("data-deletion/", legal.data_deletion, name="data_deletion"),
]
