from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Postwright administration"
admin.site.site_title = "Postwright admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("connections/", include("connections.urls")),
    path("analytics/", include("analytics.urls")),
    path("demo/", include("connections.providers.demo.urls")),
    path("", include("api.urls")),
    path("", include("publishing.urls")),
    path("", include("accounts.urls")),
]
