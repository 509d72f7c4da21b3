"""Cursor pagination shared by every list: newest first, an opaque cursor, ``limit`` + 1 read."""

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from ninja import Field, Schema

from api.problems import ApiError
from api.schemas import Text

M = TypeVar("M", bound=Model)
BAD_CURSOR = "That cursor is not one we gave out; start again without it."


class PageQuery(Schema):
    cursor: Text | None = Field(None, max_length=200)
    limit: int = Field(25, ge=1, le=100)


def cursor_decode(cursor: str) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"==="))["before"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise ApiError(422, BAD_CURSOR) from None
    if not isinstance(value, int) or not 0 < value < 2**63:
        raise ApiError(422, BAD_CURSOR)
    return value


def cursor_encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


def page_of(queryset: QuerySet[M], query: PageQuery, render: Callable[[M], dict[str, Any]]) -> dict[str, Any]:
    """One page of ``queryset`` (newest id first) as ``{"data": [...], "next_cursor": ...}``."""
    queryset = queryset.order_by("-id")
    if query.cursor:
        queryset = queryset.filter(id__lt=cursor_decode(query.cursor))
    rows = list(queryset[: query.limit + 1])
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {"data": [render(r) for r in rows], "next_cursor": cursor_encode(rows[-1].pk) if more else None}
