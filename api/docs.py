"""The interactive API reference: Swagger UI from static/vendor (no CDN), started by our own
script file because the Content-Security-Policy forbids inline script."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api/docs.html", {"openapi_url": reverse("api-v1:openapi-json")})
