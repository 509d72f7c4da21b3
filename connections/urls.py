from django.urls import path

from connections import views

urlpatterns = [
    path("", views.account_list, name="connections"),
    path("connect/<str:platform>/", views.connect, name="connect"),
    path("callback/<str:platform>/", views.connect_callback, name="connect_callback"),
    path("select/<int:session_id>/", views.connect_select, name="connect_select"),
    path("apps/<str:platform>/", views.app_settings, name="connection_app"),
    path("<int:account_id>/check/", views.account_check, name="account_check"),
    path("<int:account_id>/disconnect/", views.account_disconnect, name="account_disconnect"),
]
