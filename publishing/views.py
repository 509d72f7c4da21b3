from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import workspace_required


@workspace_required()
def calendar(request: HttpRequest) -> HttpResponse:
    return render(request, "publishing/calendar.html")


@workspace_required()
def post_list(request: HttpRequest) -> HttpResponse:
    return render(request, "publishing/post_list.html")
