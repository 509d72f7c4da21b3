from django.urls import path

from api import docs, views
from api.v1 import api
from config import converters  # noqa: F401 - registers <id:...>

urlpatterns = [
    path("api/v1/docs", docs.api_docs, name="api_docs"),
    path("api/v1/", api.urls),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<id:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
