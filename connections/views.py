from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import workspace_required


@workspace_required()
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "connections/account_list.html")
