"""Writing events. Call these inside the transaction of the change they describe: the row and the
change commit together or not at all, so a webhook is never sent for something that did not happen
and nothing that happened goes unannounced."""

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from events.models import Event, new_event_id


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
    """Write the events in one INSERT. Built by hand, not by bulk_create: the engine writes a few
    per post, and the ORM's insert machinery was a large share of a worker's CPU per post."""
    now = timezone.now()
    rows = [event_values(spec, now) for spec in specs]
    if not rows:
        return 0
    _require_transaction()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) > 1:
            # One array per column: the statement's text is the same for any number of rows, so
            # psycopg parses it once (a VALUES list of 32 rows had 320 placeholders to find).
            cursor.execute(f"{EVENT_INSERT} {_event_unnest()}", [list(column) for column in zip(*rows, strict=True)])
        else:
            placeholders = ", ".join([EVENT_ROW_PLACEHOLDERS] * len(rows))
            cursor.execute(f"{EVENT_INSERT} VALUES {placeholders}", [value for row in rows for value in row])
    return len(rows)


@functools.cache
def _event_unnest() -> str:
    # Field.cast_db_type is Django's (since 2.0); django-stubs does not declare it.
    casts = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in EVENT_FIELDS)  # type: ignore[attr-defined]
    return f"SELECT * FROM unnest({casts})"  # noqa: S608 - column types from the model, values are parameters


def _event_fields() -> list[Field[Any, Any]]:
    return [f for f in Event._meta.concrete_fields if f.attname != "seq"]


# Identifiers from the model's metadata only; every value is a parameter.
EVENT_FIELDS = _event_fields()
EVENT_COLUMNS = [f.column for f in EVENT_FIELDS]
EVENT_INSERT = "INSERT INTO {} ({})".format(
    connection.ops.quote_name(Event._meta.db_table), ", ".join(connection.ops.quote_name(c) for c in EVENT_COLUMNS)
)
EVENT_ROW_PLACEHOLDERS = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
_PAYLOAD = Event._meta.get_field("payload")


def event_values(spec: EventSpec, now: datetime) -> list[Any]:
    """The INSERT values of one event, in EVENT_COLUMNS order, prepared for this connection."""
    values = {
        "workspace_id": spec.workspace_id,
        "public_id": new_event_id(),
        "type": spec.type,
        "subject_type": spec.subject_type,
        "subject_id": spec.subject_id,
        "post_id": spec.post_id,
        "actor_user_id": spec.actor_user_id,
        "actor_label": spec.actor_label[:200],
        "payload": _PAYLOAD.get_db_prep_save(dict(spec.payload), connection),
        "created_at": connection.ops.adapt_datetimefield_value(now),
    }
    return [values[f.attname] for f in EVENT_FIELDS]


def _fields(row: Event) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in Event._meta.concrete_fields if f.attname != "seq"}


def _require_transaction() -> None:
    # Outside a transaction the event could commit while the change it describes rolls back.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events must be written inside the transaction of the change they describe")
