from django.contrib import admin
from django.urls import include, path

from connections.registry import platform_packages_with

admin.site.site_header = "Postwright administration"
admin.site.site_title = "Postwright admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("connections/", include("connections.urls")),
    path("analytics/", include("analytics.urls")),
    path("settings/webhooks/", include("webhooks.urls")),
    path("", include("api.urls")),
    path("", include("publishing.urls")),
    path("", include("accounts.urls")),
]
# A platform's own pages (inbound callbacks, the Demo network's public pages) live in its folder:
# a registered platform's package with a urls.py is routed from the root, with the paths it names.
urlpatterns += [path("", include(f"{package}.urls")) for package in platform_packages_with("urls")]
