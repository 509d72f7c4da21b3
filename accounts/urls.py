from django.urls import path

from accounts import views
from config import converters  # noqa: F401 - registers <id:...>

urlpatterns = [
    path("workspaces/", views.workspace_list, name="workspace_list"),
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("workspaces/<id:workspace_id>/switch/", views.workspace_switch, name="workspace_switch"),
    path("settings/", views.workspace_settings, name="workspace_settings"),
    path("settings/members/", views.members, name="members"),
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
    path("privacy/", views.privacy_policy, name="privacy_policy"),
    path("data-deletion/", views.data_deletion_instructions, name="data_deletion_instructions"),
]
