"""Types shared by the API's resources: safe text, database-sized ids, problems and pages."""

from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, Field

from config.converters import BIGINT_MAX


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text and lone surrogates cannot be encoded: a clear 422, not a 500.
    if "\x00" in value:
        raise ValueError("Text cannot contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode (no lone surrogates).") from None
    return value


Text = Annotated[str, AfterValidator(_storable)]
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
PlatformId = Annotated[str, Field(max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$", description="e.g. bluesky")]


class FieldError(Schema):
    field: str
    message: str
    code: str


class ProblemOut(Schema):
    """RFC 9457 problem details (served as application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    error_code: str = Field(description="Stable, for programs: POSTWRIGHT/VALIDATION, POSTWRIGHT/NOT_FOUND, …")
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


ERRORS = frozenset({400, 401, 403, 404, 409, 422, 429})
READ_ERRORS = frozenset({400, 401, 404, 422, 429})
