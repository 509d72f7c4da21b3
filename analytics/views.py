from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import workspace_required


@workspace_required()
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/overview.html")
