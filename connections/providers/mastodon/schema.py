"""Mastodon's JSON, checked at the edge: a changed or foreign shape fails here, once, loudly.

Shapes from docs.joinmastodon.org (Application, CredentialAccount, Status, MediaAttachment,
Instance). Ids are opaque strings; a fork that sends numbers is accepted and converted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from connections.errors import ErrorClass, ProviderError

DEFAULT_MAX_CHARACTERS = 500
DEFAULT_MAX_MEDIA = 4
DEFAULT_URL_LENGTH = 23


def malformed(what: str, detail: str) -> ProviderError:
    return ProviderError(ErrorClass.TRANSIENT, f"Mastodon sent a malformed {what}: {detail}", code="malformed")


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise malformed(what, f"expected an object, got {type(data).__name__}")
    return data


def _id(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise malformed(what, f"no {key}")
    return str(value)


def _text(data: Mapping[str, Any], key: str, what: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise malformed(what, f"{key} is missing or not text")
    return value


def _count(data: Mapping[str, Any], key: str, what: str) -> int:
    value: object = data.get(key, 0)  # absent on servers that predate the counter (quotes_count)
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(what, f"{key} is not a number")
    return value


# --- Application (POST /api/v1/apps) -------------------------------------------------------


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def parse_app(data: Any, *, requested: tuple[str, ...]) -> RegisteredApp:
    app = _object(data, "app registration")
    # Only 4.3+ echoes the scopes; older servers granted what was asked or refused outright.
    scopes = app.get("scopes")
    granted = tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else ()
    return RegisteredApp(
        client_id=_text(app, "client_id", "app registration", required=True),
        client_secret=_text(app, "client_secret", "app registration", required=True),
        scopes=granted or requested,
    )


# --- Account (GET /api/v1/accounts/verify_credentials) -------------------------------------


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    acct: str
    display_name: str
    avatar: str
    url: str


def parse_account(data: Any) -> Account:
    what = "account"
    account = _object(data, what)
    username = _text(account, "username", what, required=True)
    return Account(
        id=_id(account, "id", what),
        username=username,
        acct=_text(account, "acct", what) or username,
        display_name=_text(account, "display_name", what),
        avatar=_text(account, "avatar", what),
        url=_text(account, "url", what),
    )


# --- Status and MediaAttachment -------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    id: str
    url: str
    content: str
    in_reply_to_id: str | None
    media_count: int
    favourites: int
    reblogs: int
    replies: int
    quotes: int
    created_at: datetime | None = None  # the server's clock; None when missing or unreadable


def _created_at(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_status(data: Any) -> Status:
    what = "status"
    status = _object(data, what)
    media = status.get("media_attachments", [])
    if not isinstance(media, list):
        raise malformed(what, "media_attachments is not a list")
    reply_to = status.get("in_reply_to_id")
    return Status(
        id=_id(status, "id", what),
        # ``url`` is the human page; remote-only statuses may lack it, ``uri`` never does.
        url=_text(status, "url", what) or _text(status, "uri", what),
        content=_text(status, "content", what),
        in_reply_to_id=str(reply_to) if reply_to not in (None, "") else None,
        media_count=len(media),
        favourites=_count(status, "favourites_count", what),
        reblogs=_count(status, "reblogs_count", what),
        replies=_count(status, "replies_count", what),
        quotes=_count(status, "quotes_count", what),
        created_at=_created_at(status.get("created_at")),
    )


def parse_statuses(data: Any) -> list[Status]:
    if not isinstance(data, list):
        raise malformed("status list", f"expected a list, got {type(data).__name__}")
    return [parse_status(item) for item in data]


@dataclass(frozen=True)
class Media:
    id: str
    ready: bool  # the full-size file exists (``url`` set); until then it cannot be attached


def parse_media(data: Any) -> Media:
    media = _object(data, "media attachment")
    return Media(id=_id(media, "id", "media attachment"), ready=bool(media.get("url")))


# --- Instance (GET /api/v2/instance, /api/v1/instance) -------------------------------------


@dataclass(frozen=True)
class InstanceLimits:
    domain: str = ""  # the handle's domain, which can differ from the server's web host
    max_characters: int = DEFAULT_MAX_CHARACTERS
    max_media_attachments: int = DEFAULT_MAX_MEDIA
    characters_reserved_per_url: int = DEFAULT_URL_LENGTH
    image_size_limit: int | None = None
    video_size_limit: int | None = None
    image_matrix_limit: int | None = None  # pixels
    video_matrix_limit: int | None = None
    video_frame_rate_limit: int | None = None
    supported_mime_types: tuple[str, ...] = ()

    def as_extra(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "max_characters": self.max_characters,
            "max_media_attachments": self.max_media_attachments,
            "characters_reserved_per_url": self.characters_reserved_per_url,
            "image_size_limit": self.image_size_limit,
            "video_size_limit": self.video_size_limit,
            "image_matrix_limit": self.image_matrix_limit,
            "video_matrix_limit": self.video_matrix_limit,
            "video_frame_rate_limit": self.video_frame_rate_limit,
            "supported_mime_types": list(self.supported_mime_types),
        }


def _section(data: Any, key: str) -> Mapping[str, Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _domain(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return urlsplit(value).netloc if "://" in value else value  # v1 ``uri`` is a URL on some forks


def parse_instance(data: Any) -> InstanceLimits:
    """Lenient on purpose: forks omit or rename fields, and a missing limit must never block a
    connect. Reads v2 (``configuration`` + ``domain``) and v1 (``configuration`` since 3.4,
    ``uri``, and the older fork field ``max_toot_chars``)."""
    root = data if isinstance(data, Mapping) else {}
    config = _section(root, "configuration")
    statuses, media = _section(config, "statuses"), _section(config, "media_attachments")
    mime_types = media.get("supported_mime_types")
    return InstanceLimits(
        domain=_domain(root.get("domain") or root.get("uri")),
        max_characters=_positive(statuses.get("max_characters") or root.get("max_toot_chars"))
        or DEFAULT_MAX_CHARACTERS,
        max_media_attachments=_positive(statuses.get("max_media_attachments")) or DEFAULT_MAX_MEDIA,
        characters_reserved_per_url=_positive(statuses.get("characters_reserved_per_url")) or DEFAULT_URL_LENGTH,
        image_size_limit=_positive(media.get("image_size_limit")),
        video_size_limit=_positive(media.get("video_size_limit")),
        image_matrix_limit=_positive(media.get("image_matrix_limit")),
        video_matrix_limit=_positive(media.get("video_matrix_limit")),
        video_frame_rate_limit=_positive(media.get("video_frame_rate_limit")),
        supported_mime_types=tuple(t for t in mime_types if isinstance(t, str)) if isinstance(mime_types, list) else (),
    )
