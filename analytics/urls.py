from django.urls import path

from analytics import views
from config import converters  # noqa: F401 - registers <id:...>

urlpatterns = [
    path("", views.overview, name="analytics"),
    path("imports/account/<id:account_id>/", views.import_start, name="import_start"),
    path("imports/<id:run_id>/", views.import_progress, name="import_progress"),
    path("imports/<id:run_id>/cancel/", views.import_cancel, name="import_cancel"),
    path("export/posts", views.export_posts, name="analytics_export_posts"),
    path("export/accounts", views.export_accounts, name="analytics_export_accounts"),
]
