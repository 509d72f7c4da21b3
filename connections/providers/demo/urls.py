from django.urls import path

from connections.providers.demo import views

# Routed from the site root (config/urls.py includes every platform package's urls): the paths
# are the ones DemoPost.url and the demo profile links build.
urlpatterns = [
    path("demo/consent/", views.demo_consent, name="demo_consent"),
    path("demo/<slug:handle>/", views.demo_profile, name="demo_profile"),
    path("demo/<slug:handle>/<str:post_id>", views.demo_post, name="demo_post"),
    path("demo/<slug:handle>/<str:post_id>/", views.demo_post),
]
