from django.urls import path

from analytics import views

urlpatterns = [
    path("", views.overview, name="analytics"),
]
