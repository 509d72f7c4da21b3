from django.urls import path

from config import converters  # noqa: F401 - registers <id:...>
from connections import views

urlpatterns = [
    path("", views.account_list, name="connections"),
    path("connect/<str:platform>/", views.connect, name="connect"),
    path("callback/<str:platform>/", views.connect_callback, name="connect_callback"),
    path("select/<id:session_id>/", views.connect_select, name="connect_select"),
    path("apps/<str:platform>/", views.app_settings, name="connection_app"),
    path("<id:account_id>/check/", views.account_check, name="account_check"),
    path("<id:account_id>/disconnect/", views.account_disconnect, name="account_disconnect"),
    path("<id:account_id>/avatar/<slug:key>/", views.account_avatar, name="account_avatar"),
]
