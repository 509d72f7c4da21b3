from django.urls import path

from analytics import views

urlpatterns = [
    path("", views.overview, name="analytics"),
    path("export/posts", views.export_posts, name="analytics_export_posts"),
    path("export/accounts", views.export_accounts, name="analytics_export_accounts"),
]
