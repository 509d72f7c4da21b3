from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from connections.vault import VaultError, log


class VaultErrorMiddleware:
    """A secret that no configured key can decrypt is an operator's problem with one fix (put the
    old key back in POSTWRIGHT_ENCRYPTION_KEYS); say so, instead of a 500 traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, VaultError):
            return None
        log.error("%s (request %s %s)", exception, request.method, request.path)
        # Rendered bare: the site's layout runs queries that may hit the same secrets.
        return HttpResponse(render_to_string("vault_error.html"), status=503)
