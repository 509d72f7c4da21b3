from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import get_workspace_object_or_404, workspace_required
from publishing.models import Post


@workspace_required()
def calendar(request: HttpRequest) -> HttpResponse:
    return render(request, "publishing/calendar.html")


@workspace_required()
def post_list(request: HttpRequest) -> HttpResponse:
    return render(request, "publishing/post_list.html")


@login_required
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    post = get_workspace_object_or_404(request, Post, pk=post_id)
    targets = post.targets.select_related("account").order_by("id")
    contents = post.contents.prefetch_related("attachments__media")
    return render(request, "publishing/post_detail.html", {"post": post, "targets": targets, "contents": contents})
