"""The public event types and how the outbox's internal events map onto them.

Internal events are many and fine-grained (every part's every state); the public catalogue is the
small, stable set developers subscribe to. Each public payload is small on purpose: ids and the
changed state, so consumers fetch the rest and never act on stale copies.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from events.models import Event

PUBLIC_TYPES: dict[str, str] = {
    "post.scheduled": "A post got a time to publish (first time or a new time).",
    "post.published": "Every target of a post published.",
    "post.partially_published": "Some targets of a post published, others failed.",
    "post.failed": "No target of a post published.",
    "post.canceled": "A scheduled post was canceled.",
    "approval.requested": "A post was submitted for approval (or its asked-for time changed while waiting).",
    "approval.approved": "A submitted post was approved and scheduled.",
    "approval.changes_requested": "A reviewer sent a submitted post back to its author with changes to make.",
    "post.target.published": "A post landed on one account.",
    "post.target.failed": "A post failed on one account.",
    "account.connected": "A social account was connected (or reconnected).",
    "account.disconnected": "A social account was disconnected.",
    "account.token_expired": "A social account's login stopped working and needs reconnecting.",
    "account.expires_soon": "A social account's login expires soon.",
    "media.ready": "An uploaded media file finished processing.",
    "import.completed": "An import of a social account's existing posts finished.",
    "import.failed": "An import of a social account's existing posts stopped with an error.",
}
TEST_TYPE = "webhook.test"  # sent only on request, to one endpoint


def _pick(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: payload[key] for key in keys if key in payload}


def _post(event: Event) -> dict[str, Any]:
    return {"post_id": event.post_id, "status": event.type.removeprefix("post.")}


def _scheduled(event: Event) -> dict[str, Any]:
    data = {"post_id": event.post_id, "status": "scheduled", **_pick(event.payload, "scheduled_at")}
    if "previous" in event.payload:
        data["previous_scheduled_at"] = event.payload["previous"]
    return data


def _approval(event: Event) -> dict[str, Any]:
    status = event.type.removeprefix("approval.")
    return {"post_id": event.post_id, "approval": status} | _pick(event.payload, "scheduled_at", "when")


def _target(event: Event) -> dict[str, Any]:
    data = {"post_id": event.post_id, "target_id": event.subject_id, "status": event.type.removeprefix("target.")}
    return data | _pick(event.payload, "platform_post_id", "url", "error")


def _account(status: str) -> Callable[[Event], dict[str, Any]]:
    def data(event: Event) -> dict[str, Any]:
        return {"account_id": event.subject_id, "status": status} | _pick(event.payload, "platform", "username")

    return data


def _import(event: Event) -> dict[str, Any]:
    data = {"import_id": event.subject_id, "status": event.type.removeprefix("import.")}
    return data | _pick(event.payload, "account_id", "platform", "imported", "skipped", "error")


def _media(event: Event) -> dict[str, Any]:
    return {"media_id": event.subject_id, "status": "ready"} | _pick(event.payload, "kind", "mime_type")


@dataclass(frozen=True)
class Mapping:
    public_type: str
    data: Callable[[Event], dict[str, Any]]


INTERNAL: dict[str, Mapping] = {
    "post.scheduled": Mapping("post.scheduled", _scheduled),
    "post.rescheduled": Mapping("post.scheduled", _scheduled),
    "post.published": Mapping("post.published", _post),
    "post.partially_published": Mapping("post.partially_published", _post),
    "post.failed": Mapping("post.failed", _post),
    "post.canceled": Mapping("post.canceled", _post),
    "approval.requested": Mapping("approval.requested", _approval),
    "approval.approved": Mapping("approval.approved", _approval),
    "approval.changes_requested": Mapping("approval.changes_requested", _approval),
    "target.published": Mapping("post.target.published", _target),
    "target.failed": Mapping("post.target.failed", _target),
    "account.connected": Mapping("account.connected", _account("connected")),
    "account.reconnected": Mapping("account.connected", _account("connected")),
    "account.disconnected": Mapping("account.disconnected", _account("disconnected")),
    "account.needs_reconnect": Mapping("account.token_expired", _account("needs_reconnect")),
    "account.expires_soon": Mapping("account.expires_soon", _account("expires_soon")),
    "media.ready": Mapping("media.ready", _media),
    "import.completed": Mapping("import.completed", _import),
    "import.failed": Mapping("import.failed", _import),
}
INTERNAL_TYPES = tuple(INTERNAL)  # what fan-out reads from the outbox


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def public_message(event: Event) -> tuple[str, dict[str, Any]] | None:
    """(public type, Standard Webhooks payload) for an outbox event, or None if it is internal only."""
    mapping = INTERNAL.get(event.type)
    if mapping is None:
        return None
    return mapping.public_type, {
        "type": mapping.public_type,
        "timestamp": iso(event.created_at),
        "data": mapping.data(event),
    }


# One example ``data`` per public type, for integrations building a flow before any real event.
EXAMPLES: dict[str, dict[str, Any]] = {
    "post.scheduled": {"post_id": 1, "status": "scheduled", "scheduled_at": "2030-01-15T09:30:00Z"},
    "post.published": {"post_id": 1, "status": "published"},
    "post.partially_published": {"post_id": 1, "status": "partially_published"},
    "post.failed": {"post_id": 1, "status": "failed"},
    "post.canceled": {"post_id": 1, "status": "canceled"},
    "post.target.published": {"post_id": 1, "target_id": 1, "status": "published", "platform_post_id": "3k2a",
                              "url": "https://example.com/p/3k2a"},
    "post.target.failed": {"post_id": 1, "target_id": 1, "status": "failed", "error": "The platform refused it."},
    "account.connected": {"account_id": 1, "status": "connected", "platform": "example", "username": "@someone"},
    "account.disconnected": {"account_id": 1, "status": "disconnected", "platform": "example",
                             "username": "@someone"},
    "account.token_expired": {"account_id": 1, "status": "needs_reconnect", "platform": "example",
                              "username": "@someone"},
    "account.expires_soon": {"account_id": 1, "status": "expires_soon", "platform": "example",
                             "username": "@someone"},
    "media.ready": {"media_id": 1, "status": "ready", "kind": "video", "mime_type": "video/mp4"},
    "approval.requested": {"post_id": 1, "approval": "requested", "scheduled_at": "2030-01-15T09:30:00Z"},
    "approval.approved": {"post_id": 1, "approval": "approved", "scheduled_at": "2030-01-15T09:30:00Z"},
    "approval.changes_requested": {"post_id": 1, "approval": "changes_requested"},
    "import.completed": {"import_id": 1, "status": "completed", "account_id": 1, "platform": "example",
                         "imported": 120, "skipped": 3},
    "import.failed": {"import_id": 1, "status": "failed", "account_id": 1, "platform": "example",
                      "imported": 40, "skipped": 0, "error": "The platform refused the request."},
}  # fmt: skip


def example_message(public_type: str) -> dict[str, Any]:
    """A made-up message of that type, marked as such by its id."""
    data = EXAMPLES.get(public_type, {})
    return {"id": "evt_example", "type": public_type, "timestamp": "2030-01-15T09:30:00Z", "data": data}
