"""RFC 9457 problem details: the one shape of every error the API answers with.

Each error carries a stable ``error_code`` (``POSTWRIGHT/VALIDATION``...) that clients can switch
on, a human ``detail``, and for validation errors the list of fields and what is wrong with each.
"""

import json
import logging
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError

from connections.errors import ProviderError
from publishing.inputs import Problem, problems_of

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://postwright.dev/problems/"  # documented in the README's API section; not fetched

VALIDATION = "POSTWRIGHT/VALIDATION"
UNAUTHORIZED = "POSTWRIGHT/UNAUTHORIZED"
FORBIDDEN = "POSTWRIGHT/FORBIDDEN"
NOT_FOUND = "POSTWRIGHT/NOT_FOUND"
METHOD_NOT_ALLOWED = "POSTWRIGHT/METHOD_NOT_ALLOWED"
CONFLICT = "POSTWRIGHT/CONFLICT"
PLAN_LIMIT = "POSTWRIGHT/PLAN_LIMIT"
RATE_LIMITED = "POSTWRIGHT/RATE_LIMITED"
IDEMPOTENCY_MISMATCH = "POSTWRIGHT/IDEMPOTENCY_KEY_REUSED"
IDEMPOTENCY_IN_PROGRESS = "POSTWRIGHT/IDEMPOTENCY_KEY_IN_PROGRESS"
BAD_REQUEST = "POSTWRIGHT/BAD_REQUEST"
INTERNAL = "POSTWRIGHT/INTERNAL"

BY_STATUS = {400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED,
             409: CONFLICT, 422: VALIDATION, 429: RATE_LIMITED, 500: INTERNAL}  # fmt: skip
# Service problems that are about the post's state, not the input: the same request may work later.
CONFLICT_CODES = {"busy", "published", "nothing_pending", "nothing_to_retry", "in_use"}


def provider_error_code(platform: str, exc: ProviderError) -> str:
    """A platform failure's stable code: POSTWRIGHT/<PLATFORM>/<its code, else its class>."""
    detail = re.sub(r"[^A-Z0-9]+", "_", (exc.code or exc.error_class.value).upper()).strip("_")
    return f"POSTWRIGHT/{platform.upper().replace('-', '_')}/{detail or 'ERROR'}"


class ApiError(Exception):
    """Raised anywhere in the API to answer with a problem."""

    def __init__(
        self, status: int, detail: str, *, code: str | None = None, errors: list[dict] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code or BY_STATUS.get(status, BAD_REQUEST)
        self.errors, self.headers = errors, dict(headers or {})


def problem_response(
    request: HttpRequest | None, status: int, detail: str, *, code: str | None = None,
    errors: list[dict] | None = None, headers: Mapping[str, str] | None = None,
) -> HttpResponse:  # fmt: skip
    code = code or BY_STATUS.get(status, BAD_REQUEST)
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.removeprefix("POSTWRIGHT/").lower().replace("/", "-").replace("_", "-"),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "error_code": code,
    }
    if request is not None:
        body["instance"] = request.path
        if request_id := getattr(request, "request_id", ""):
            body["request_id"] = request_id
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


FieldMap = Iterable[tuple[re.Pattern[str], str]]


def field_errors(problems: Iterable[Problem], renames: FieldMap = ()) -> list[dict]:
    """Service problems as ``{"field", "message", "code"}``; ``renames`` turns the services' input
    paths (``parts[0].text``) into the API's own names (``containers[0].text``)."""
    errors = []
    for problem in problems:
        path = problem.field
        for pattern, replacement in renames:
            path = pattern.sub(replacement, path)
        errors.append({"field": path, "message": problem.message, "code": problem.code})
    return errors


def service_error(request: HttpRequest, exc: DjangoValidationError, renames: FieldMap = ()) -> HttpResponse:
    problems = problems_of(exc)
    codes = {p.code for p in problems}
    if "plan_limit" in codes:
        status, code = 403, PLAN_LIMIT
    elif codes and codes <= CONFLICT_CODES:
        status, code = 409, CONFLICT
    else:
        status, code = 422, VALIDATION
    detail = problems[0].message if len(problems) == 1 else "The request has problems; see errors."
    return problem_response(request, status, detail, code=code, errors=field_errors(problems, renames))


def _location(loc: Iterable[Any]) -> str:
    """pydantic's ("body", "data", "containers", 0, "text") as "containers[0].text"."""
    parts = [str(p) for p in loc]
    if parts[:1] in (["body"], ["query"], ["path"]):
        parts = parts[1:]
        if parts[:1] in (["data"], ["payload"], ["filters"]):
            parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path


def request_validation_error(request: HttpRequest, exc: RequestValidationError) -> HttpResponse:
    errors = [
        {"field": _location(e.get("loc", ())), "message": str(e.get("msg", "Invalid value.")),
         "code": str(e.get("type", "invalid"))}
        for e in exc.errors
    ]  # fmt: skip
    detail = errors[0]["message"] if len(errors) == 1 else "The request has problems; see errors."
    if len(errors) == 1 and errors[0]["field"]:
        detail = f"{errors[0]['field']}: {detail}"
    return problem_response(request, 422, detail, errors=errors)


def install(api: NinjaAPI) -> None:
    """Every error the API can meet, answered as a problem; nothing falls through to an HTML page."""

    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return problem_response(request, exc.status, exc.detail, code=exc.code, errors=exc.errors, headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    def _request_invalid(request: HttpRequest, exc: RequestValidationError) -> HttpResponse:
        return request_validation_error(request, exc)

    @api.exception_handler(DjangoValidationError)
    def _service_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return service_error(request, exc)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        detail = "Send your API key as 'Authorization: Bearer pw_live_…'."
        return problem_response(request, 401, detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem_response(request, 403, str(exc) or "This API key may not do that.")

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem_response(request, 404, "No such object in this workspace.")

    @api.exception_handler(ObjectDoesNotExist)
    def _missing(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        return problem_response(request, 404, "No such object in this workspace.")

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return problem_response(request, exc.status_code, str(exc))

    @api.exception_handler(Exception)
    def _crash(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("API request %s failed", getattr(request, "request_id", ""))
        return problem_response(request, 500, "Something went wrong on our side; it has been logged.")
