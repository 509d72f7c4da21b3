"""Writing events. Call these inside the transaction of the change they describe: the row and the
change commit together or not at all, so a webhook is never sent for something that did not happen
and nothing that happened goes unannounced."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction

from events.models import Event


class ActorLike(Protocol):
    """What an event needs of whoever acted (accounts.actors.Actor, or a Membership)."""

    @property
    def user(self) -> Any: ...


@dataclass(frozen=True)
class EventSpec:
    workspace_id: int
    type: str
    subject_type: str
    subject_id: int
    payload: Mapping[str, Any] = field(default_factory=dict)
    post_id: int | None = None
    actor_user_id: int | None = None
    actor_label: str = ""

    def row(self) -> Event:
        return Event(
            workspace_id=self.workspace_id,
            type=self.type,
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            post_id=self.post_id,
            actor_user_id=self.actor_user_id,
            actor_label=self.actor_label[:200],
            payload=dict(self.payload),
        )


def actor_fields(actor: ActorLike | None) -> dict[str, Any]:
    """actor_user_id and actor_label for an EventSpec; nobody (the engine) is the empty label."""
    if actor is None:
        return {}
    user = getattr(actor, "user", None)
    label = getattr(actor, "label", "") or (user.display_name if user is not None else "")
    return {"actor_user_id": getattr(user, "pk", None), "actor_label": label}


def event_emit(spec: EventSpec) -> Event:
    _require_transaction()
    return Event.objects.create(**_fields(spec.row()))


def events_emit(specs: Iterable[EventSpec]) -> int:
    rows = [spec.row() for spec in specs]
    if rows:
        _require_transaction()
        Event.objects.bulk_create(rows)
    return len(rows)


def _fields(row: Event) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in Event._meta.concrete_fields if f.attname != "seq"}


def _require_transaction() -> None:
    # Outside a transaction the event could commit while the change it describes rolls back.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events must be written inside the transaction of the change they describe")
