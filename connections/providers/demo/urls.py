from django.urls import path

from connections.providers.demo import views

urlpatterns = [
    path("<slug:handle>/", views.demo_profile, name="demo_profile"),
    path("<slug:handle>/<str:post_id>", views.demo_post, name="demo_post"),
    path("<slug:handle>/<str:post_id>/", views.demo_post),
]
