from django.urls import path

from publishing import views

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("posts/", views.post_list, name="posts"),
    path("posts/<int:post_id>/", views.post_detail, name="post_detail"),
]
