from django.urls import path

from connections.providers.meta import views

# Routed from the site root (config/urls.py includes every platform package's urls). These are
# the addresses the README tells operators to enter in each Meta app's console.
urlpatterns = [
    path("meta/<str:platform>/deauthorize/", views.deauthorize, name="meta_deauthorize"),
    path("meta/<str:platform>/data-deletion/", views.data_deletion, name="meta_data_deletion"),
    path("meta/data-deletion/<str:code>/", views.data_deletion_status, name="meta_data_deletion_status"),
]
