from django.urls import path

from connections import views

urlpatterns = [
    path("", views.account_list, name="connections"),
]
