"""Meta's callbacks and the deletion status page (see callbacks.py).

The two callbacks are the only CSRF-exempt views: Meta's servers POST them with no session or
token, and the signed_request is their proof instead. A missing or bad signature is a 400 that
changes nothing, never a 500."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from connections.providers.meta import callbacks
from connections.providers.meta.models import DataDeletionRequest
from connections.providers.meta.signed_request import BadSignedRequest
from connections.registry import get_provider


def _require_signing_platform(platform: str) -> None:
    """Only the platforms whose own app Meta signs callbacks for (Instagram through Facebook
    Login comes with Facebook's)."""
    try:
        provider = get_provider(platform)
    except KeyError:
        raise Http404("No such platform.") from None
    if not getattr(provider, "signed_callbacks", False):
        raise Http404("This platform's callbacks arrive through another platform's app.")


def _refused(exc: BadSignedRequest) -> JsonResponse:
    return JsonResponse({"error": str(exc)}, status=400)


@csrf_exempt
@require_POST
def deauthorize(request: HttpRequest, platform: str) -> HttpResponse:
    _require_signing_platform(platform)
    try:
        callbacks.deauthorize(platform, request.POST.get("signed_request"))
    except BadSignedRequest as exc:
        return _refused(exc)
    return JsonResponse({"success": True})


@csrf_exempt
@require_POST
def data_deletion(request: HttpRequest, platform: str) -> HttpResponse:
    """Meta shows the user the ``url`` and ``confirmation_code`` we answer with."""
    _require_signing_platform(platform)
    try:
        deletion = callbacks.deletion_request(platform, request.POST.get("signed_request"))
    except BadSignedRequest as exc:
        return _refused(exc)
    return JsonResponse({"url": callbacks.status_url(deletion), "confirmation_code": deletion.confirmation_code})


@require_GET
def data_deletion_status(request: HttpRequest, code: str) -> HttpResponse:
    """Public: the person who asked has no Postwright login; the unguessable code is the key."""
    deletion = get_object_or_404(DataDeletionRequest, confirmation_code=code)
    return render(request, "meta/data_deletion_status.html", {"deletion": deletion})
