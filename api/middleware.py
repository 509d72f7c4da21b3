"""Request ids on every response, and problem details for API errors Django answers itself."""

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.problems import CONTENT_TYPE, problem_response

# A client's id is echoed only when it is short and plain: it lands in logs and headers.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
API_PREFIX = "/api/"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request.request_id = incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        return response


class ApiProblemMiddleware:
    """Under /api/: unknown paths (404), wrong methods (405) and crashes outside a view's handlers
    answer as problem+json too, never an HTML page; rate-limit headers go on every answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return response
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(CONTENT_TYPE):
            response = self._as_problem(request, response)
        for name, value in getattr(request, "rate_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        return problem_response(request, 500, "Something went wrong on our side; it has been logged.")

    @staticmethod
    def _as_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        status = response.status_code
        if status == 405:
            allowed = response.get("Allow", "")
            detail = f"{request.method} is not allowed here" + (f"; use {allowed}." if allowed else ".")
            return problem_response(request, 405, detail, headers={"Allow": allowed} if allowed else None)
        if status == 404:
            return problem_response(request, 404, "No such endpoint or object.")
        return problem_response(request, status, response.reason_phrase or "Error.")
