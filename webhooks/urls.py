from django.urls import path

from config import converters  # noqa: F401 - registers <id:...>
from webhooks import views

urlpatterns = [
    path("", views.webhook_list, name="webhook_list"),
    path("<id:endpoint_id>/", views.webhook_detail, name="webhook_detail"),
    path("<id:endpoint_id>/deliveries/", views.webhook_deliveries, name="webhook_deliveries"),
    path("<id:endpoint_id>/test/", views.webhook_test, name="webhook_test"),
    path("<id:endpoint_id>/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path("<id:endpoint_id>/toggle/", views.webhook_toggle, name="webhook_toggle"),
    path("<id:endpoint_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("<id:endpoint_id>/replay-failed/", views.webhook_replay_failed, name="webhook_replay_failed"),
    path("deliveries/<id:delivery_id>/replay/", views.delivery_replay, name="delivery_replay"),
]
