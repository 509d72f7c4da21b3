"""What callers hand the publishing services: the one typed input the composer form and the REST API
both build, and the problems the services answer with.

A problem names the field it is about as a path into PostInput (``parts[0].text``, ``account_ids``,
``overrides.mastodon.options.visibility``, ``when.at``; ``""`` for the post as a whole), so the API can
turn it into a problem+json field error and the form can show it next to its own field.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from publishing.models import PostContent


@dataclass(frozen=True)
class Attachment:
    media_id: int
    alt_text: str = ""


@dataclass(frozen=True)
class PartInput:
    text: str
    kind: str = PostContent.Kind.MAIN
    attachments: tuple[Attachment, ...] = ()


class WhenKind(StrEnum):
    DRAFT = "draft"
    NOW = "now"
    AT = "at"
    QUEUE = "queue"  # the next posting slot the chosen accounts share


@dataclass(frozen=True)
class When:
    kind: WhenKind
    moment: datetime | None = None  # only for AT; timezone-aware

    @classmethod
    def draft(cls) -> "When":
        return cls(WhenKind.DRAFT)

    @classmethod
    def now(cls) -> "When":
        return cls(WhenKind.NOW)

    @classmethod
    def at(cls, moment: datetime) -> "When":
        return cls(WhenKind.AT, moment)

    @classmethod
    def next_slot(cls) -> "When":
        return cls(WhenKind.QUEUE)


@dataclass
class PostInput:
    parts: list[PartInput]
    account_ids: list[int]
    link: str = ""
    # Per platform: {"mastodon": {"text": "...", "options": {"visibility": "unlisted"}}}
    overrides: dict[str, Any] = field(default_factory=dict)
    when: When = field(default_factory=When.draft)  # nothing goes out unless the caller says so
    # The API's tags for products that embed Postwright; None on an edit keeps what the post has.
    tenant_id: str | None = None
    external_ref: str | None = None


@dataclass(frozen=True)
class Problem:
    field: str  # a path into PostInput, "" for the post as a whole
    message: str
    code: str = "invalid"

    def __str__(self) -> str:
        return self.message


def problems_error(problems: Iterable[Problem]) -> ValidationError:
    """One ValidationError keyed by field path (Django's error_dict), codes kept for the API."""
    grouped: dict[str, list[ValidationError]] = {}
    for problem in problems:
        grouped.setdefault(problem.field or NON_FIELD_ERRORS, []).append(ValidationError(problem.message, problem.code))
    return ValidationError(grouped)


def problems_of(exc: ValidationError) -> list[Problem]:
    """The problems a service raised, whether keyed by field or not (model validation is not)."""
    keyed = exc.error_dict.items() if hasattr(exc, "error_dict") else [(NON_FIELD_ERRORS, exc.error_list)]
    return [
        Problem("" if path == NON_FIELD_ERRORS else path, _text(error), error.code or "invalid")
        for path, errors in keyed
        for error in errors
    ]


def _text(error: ValidationError) -> str:
    # Only format when there are params: a message may quote user text holding a literal "%".
    return str(error.message % error.params) if error.params else str(error.message)
