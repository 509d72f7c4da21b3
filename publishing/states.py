"""The declared state graph of targets and their parts, and the one way to move along it.

Every status change of a target or a part is a conditional update (``status IN <allowed
sources>``) and an event row written in the same transaction. A second dispatcher, a redelivered
task or a late worker therefore cannot act twice, an impossible edge cannot be taken by any code
path (admin included: status is read-only there), and every change is announced exactly once.
"""

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model, QuerySet
from django.utils import timezone

from events.services import EVENT_FIELDS, EVENT_INSERT, EventSpec, actor_fields, event_values, events_emit
from publishing.models import Target, TargetPart

T = Target.Status
P = TargetPart.Status

TARGET_EDGES: dict[str, frozenset[str]] = {
    T.DRAFT: frozenset({T.SCHEDULED, T.AWAITING_APPROVAL, T.CANCELED}),
    # Only approval leads to scheduled; changes requested (or the author taking it back) to draft.
    T.AWAITING_APPROVAL: frozenset({T.SCHEDULED, T.DRAFT, T.CANCELED}),
    # scheduled -> awaiting_approval: an approved post edited by someone who needs approval.
    T.SCHEDULED: frozenset({T.QUEUED, T.DRAFT, T.AWAITING_APPROVAL, T.CANCELED}),
    # queued -> scheduled: a lapsed claim that never started; -> retry_wait: held back by pacing.
    T.QUEUED: frozenset({T.PUBLISHING, T.SCHEDULED, T.RETRY_WAIT}),
    # publishing -> scheduled: the worker stopped between parts, so nothing is in doubt.
    T.PUBLISHING: frozenset({T.PUBLISHED, T.PROCESSING, T.RETRY_WAIT, T.FAILED, T.UNKNOWN, T.SCHEDULED}),
    T.PROCESSING: frozenset({T.QUEUED}),
    T.RETRY_WAIT: frozenset({T.QUEUED, T.SCHEDULED, T.DRAFT, T.AWAITING_APPROVAL, T.CANCELED}),
    # unknown -> published: the last part was found (or marked); -> scheduled: go on or send again.
    T.UNKNOWN: frozenset({T.PUBLISHED, T.SCHEDULED, T.FAILED}),
    T.FAILED: frozenset({T.SCHEDULED, T.DRAFT, T.AWAITING_APPROVAL, T.CANCELED}),
    T.CANCELED: frozenset({T.DRAFT}),
    T.PUBLISHED: frozenset(),
}

PART_EDGES: dict[str, frozenset[str]] = {
    P.PENDING: frozenset({P.SENDING}),
    # sending -> pending: a retryable refusal (nothing landed; the resume state is kept).
    P.SENDING: frozenset({P.PUBLISHED, P.PROCESSING, P.PENDING, P.FAILED, P.UNKNOWN}),
    P.PROCESSING: frozenset({P.SENDING}),
    P.UNKNOWN: frozenset({P.PUBLISHED, P.PENDING, P.FAILED}),
    P.FAILED: frozenset({P.PENDING}),
    P.PUBLISHED: frozenset(),
}


class ImpossibleTransition(ValueError):
    pass


def sources_of(edges: Mapping[str, frozenset[str]], to: str) -> frozenset[str]:
    return frozenset(source for source, targets in edges.items() if to in targets)


TARGET_SOURCES: dict[str, frozenset[str]] = {status: sources_of(TARGET_EDGES, status) for status in T}
PART_SOURCES: dict[str, frozenset[str]] = {status: sources_of(PART_EDGES, status) for status in P}


def _allowed(sources: frozenset[str], only_from: Iterable[str] | None) -> list[str]:
    if only_from is None:
        return list(sources)
    wanted = set(only_from)
    if not wanted <= sources:
        raise ImpossibleTransition(f"not an edge of the graph: {sorted(wanted - sources)}")
    return list(wanted)


def target_move(
    target: Target,
    to: str,
    *,
    only_from: Iterable[str] | None = None,
    actor: Any = None,
    payload: Mapping[str, Any] | None = None,
    events: list[EventSpec] | None = None,
    **fields: Any,
) -> bool:
    """Move one target to ``to`` if its current status allows it; False when it did not (another
    worker, a cancel or a retry got there first). ``only_from`` narrows the allowed sources.
    ``events``: append the event there, for the caller to write with others in its transaction."""
    sources = _allowed(TARGET_SOURCES[to], only_from)
    if events is not None and not transaction.get_connection().in_atomic_block:
        raise RuntimeError("collected events must be written in the transaction of the move")
    with transaction.atomic(savepoint=False):  # no savepoint round trips inside a caller's transaction
        moved = Target.objects.filter(id=target.id, status__in=sources).update(status=to, **fields)
        if moved:
            spec = _target_event(target.id, target.workspace_id, target.post_id, to, actor, payload)
            _emit_or_collect(spec, events)
    if moved:
        target.status = to
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(target, name, value)
    return bool(moved)


def targets_move(
    queryset: QuerySet[Target],
    to: str,
    *,
    only_from: Iterable[str] | None = None,
    actor: Any = None,
    payload: Mapping[str, Any] | None = None,
    look_first: bool = True,
    **fields: Any,
) -> list[int]:
    """Move every target of ``queryset`` whose status allows it; returns the ids moved. Rows are
    locked first (PostgreSQL), so the events name exactly the rows the update changed.
    ``look_first=False``: the caller knows there are rows to move (skip the read-only look)."""
    sources = _allowed(TARGET_SOURCES[to], only_from)
    candidates = queryset.filter(status__in=sources)
    if look_first and not candidates.exists():
        # Most dispatcher passes find nothing to move: do not take a write lock to learn that
        # (on SQLite every transaction here begins IMMEDIATE, holding off the web server).
        return []
    with transaction.atomic(savepoint=False):
        rows = list(
            queryset.filter(status__in=sources).select_for_update().values_list("id", "workspace_id", "post_id")
        )
        if not rows:
            return []
        Target.objects.filter(id__in=[row[0] for row in rows], status__in=sources).update(status=to, **fields)
        events_emit(_target_event(id_, ws, post, to, actor, payload) for id_, ws, post in rows)
    return [row[0] for row in rows]


def _emit_or_collect(spec: EventSpec, events: list[EventSpec] | None) -> None:
    if events is None:
        events_emit([spec])
    else:
        events.append(spec)


def _target_event(
    target_id: int, workspace_id: int, post_id: int, to: str, actor: Any, payload: Mapping[str, Any] | None
) -> EventSpec:
    return EventSpec(
        workspace_id=workspace_id,
        type=f"target.{to}",
        subject_type="target",
        subject_id=target_id,
        post_id=post_id,
        payload={"target_id": target_id, "post_id": post_id, **(payload or {})},
        **actor_fields(actor),
    )


def parts_move(
    queryset: QuerySet[TargetPart],
    to: str,
    *,
    only_from: Iterable[str] | None = None,
    payload: Mapping[str, Any] | None = None,
    **fields: Any,
) -> list[int]:
    """Move every part of ``queryset`` whose status allows it (as targets_move); the ids moved."""
    sources = _allowed(PART_SOURCES[to], only_from)
    with transaction.atomic(savepoint=False):
        rows = list(
            queryset.filter(status__in=sources)
            .select_for_update(of=("self",))
            .values_list("id", "target_id", "position", "kind", "target__workspace_id", "target__post_id")
        )
        if not rows:
            return []
        TargetPart.objects.filter(id__in=[row[0] for row in rows], status__in=sources).update(status=to, **fields)
        events_emit(
            _part_event(id_, target_id, workspace_id, post_id, position, kind, to, None, payload)
            for id_, target_id, position, kind, workspace_id, post_id in rows
        )
    return [row[0] for row in rows]


def parts_create(parts: Sequence[TargetPart], targets: Mapping[int, Target]) -> list[TargetPart]:
    """Create part rows in one insert. A part may be born ``sending`` (the first run of its
    target sends it at once: the edge pending -> sending, taken on creation), and that move is
    announced as if it had been made. ``targets``: each part's target by id."""
    for part in parts:
        if part.status not in (P.PENDING, *PART_EDGES[P.PENDING]):
            raise ImpossibleTransition(f"a part cannot be created {part.status}")
    with transaction.atomic(savepoint=False):
        created = TargetPart.objects.bulk_create(parts)
        events_emit(
            _part_event(part.id, part.target_id, targets[part.target_id].workspace_id,
                        targets[part.target_id].post_id, part.position, part.kind, part.status, None, None)
            for part in created
            if part.status != P.PENDING
        )  # fmt: skip
    return created


def _part_event(
    part_id: int, target_id: int, workspace_id: int, post_id: int, position: int, kind: str, to: str,
    actor: Any, payload: Mapping[str, Any] | None,
) -> EventSpec:  # fmt: skip
    return EventSpec(
        workspace_id=workspace_id,
        type=f"part.{to}",
        subject_type="part",
        subject_id=part_id,
        post_id=post_id,
        payload={"target_id": target_id, "position": position, "kind": kind, **(payload or {})},
        **actor_fields(actor),
    )


def part_move(
    part: TargetPart,
    to: str,
    *,
    target: Target,
    only_from: Iterable[str] | None = None,
    actor: Any = None,
    payload: Mapping[str, Any] | None = None,
    events: list[EventSpec] | None = None,
    **fields: Any,
) -> bool:
    """Move one part along PART_EDGES (same rules as target_move); the event names its target."""
    sources = _allowed(PART_SOURCES[to], only_from)
    if events is not None and not transaction.get_connection().in_atomic_block:
        raise RuntimeError("collected events must be written in the transaction of the move")
    with transaction.atomic(savepoint=False):
        moved = TargetPart.objects.filter(id=part.id, status__in=sources).update(status=to, **fields)
        if moved:
            spec = _part_event(part.id, target.id, target.workspace_id, target.post_id, part.position, part.kind,
                               to, actor, payload)  # fmt: skip
            _emit_or_collect(spec, events)
    if moved:
        part.status = to
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(part, name, value)
    return bool(moved)


# --- Moves in one statement -----------------------------------------------------------------
#
# The engine's hottest write is "this part landed; so did its target": two conditional updates
# and their events. Made through the ORM that is a transaction of five round trips and three
# compiled queries, most of a worker's CPU per post. On PostgreSQL the same moves go as one
# statement of data-modifying CTEs: each update is conditional exactly as in part_move and
# target_move, a later one runs only if the one it depends on moved a row, and each event row
# is inserted only if its move happened. Elsewhere (SQLite) the moves run one by one in a
# transaction. Either way the rules are the graph's: the sources come from _allowed.
# (S608 below: the SQL is built from model metadata only; every value is a parameter.)


@dataclass
class Move:
    """One conditional update of one row along the graph, with its event."""

    obj: Target | TargetPart
    to: str
    fields: dict[str, Any]
    event: EventSpec
    sources: list[str]
    after: "Move | None" = None  # only if that move happened (a target after its part)


def part_move_planned(
    part: TargetPart, to: str, *, target: Target, only_from: Iterable[str] | None = None,
    payload: Mapping[str, Any] | None = None, **fields: Any,
) -> Move:  # fmt: skip
    """A part's move (the rules of part_move), for moves_apply."""
    spec = _part_event(part.id, target.id, target.workspace_id, target.post_id, part.position, part.kind, to,
                       None, payload)  # fmt: skip
    return Move(part, to, fields, spec, _allowed(PART_SOURCES[to], only_from))


def target_move_planned(
    target: Target, to: str, *, only_from: Iterable[str] | None = None, after: Move | None = None,
    payload: Mapping[str, Any] | None = None, **fields: Any,
) -> Move:  # fmt: skip
    """A target's move (the rules of target_move), for moves_apply."""
    spec = _target_event(target.id, target.workspace_id, target.post_id, to, None, payload)
    return Move(target, to, fields, spec, _allowed(TARGET_SOURCES[to], only_from), after)


def moves_apply(
    moves: Sequence[Move], *, fields_only: Sequence[tuple[Move, Target, dict[str, Any]]] = ()
) -> list[bool]:
    """Apply the moves atomically, in order; which of them happened. ``fields_only``: plain
    column updates of a target (no status change, no event) made only if a given move happened."""
    for move in moves:
        if any(hasattr(value, "resolve_expression") for value in move.fields.values()):
            raise ValueError("moves_apply takes plain values, not expressions")
    if connection.vendor == "postgresql":
        moved = _moves_in_one_statement(moves, fields_only)
    else:
        moved = _moves_one_by_one(moves, fields_only)
    for move, happened in zip(moves, moved, strict=True):
        if happened:
            _mirror(move.obj, move.to, move.fields)
    for move, target, columns in fields_only:
        if moved[_index(moves, move)]:
            _mirror(target, target.status, columns)
    return moved


def _mirror(obj: Target | TargetPart, status: str, fields: Mapping[str, Any]) -> None:
    obj.status = status
    for name, value in fields.items():
        setattr(obj, name, value)


def _moves_one_by_one(moves: Sequence[Move], fields_only: Sequence[tuple[Move, Target, dict[str, Any]]]) -> list[bool]:
    moved: dict[int, bool] = {}
    with transaction.atomic():
        for i, move in enumerate(moves):
            if move.after is not None and not moved[_index(moves, move.after)]:
                moved[i] = False
                continue
            rows = type(move.obj).objects.filter(id=move.obj.id, status__in=move.sources)
            count = rows.update(status=move.to, **move.fields)
            moved[i] = bool(count)
            if count:
                events_emit([move.event])
        for move, target, columns in fields_only:
            if moved[_index(moves, move)]:
                Target.objects.filter(id=target.id).update(**columns)
    return [moved[i] for i in range(len(moves))]


def _index(moves: Sequence[Move], move: Move) -> int:
    return next(i for i, candidate in enumerate(moves) if candidate is move)


def _set_clause(model: type[Model], values: Mapping[str, Any], params: list[Any]) -> str:
    """``"col" = %s, ...`` for model fields, each value prepared by its field as the ORM would."""
    clause, fields = _set_columns(model, tuple(values))
    params += [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values(), strict=True)]
    return clause


@functools.cache
def _set_columns(model: type[Model], names: tuple[str, ...]) -> tuple[str, tuple[Field[Any, Any], ...]]:
    """The SET clause for these fields and the fields themselves: the engine's moves take a few
    shapes only, so each is built once per process."""
    quote = connection.ops.quote_name
    fields = []
    for name in names:
        field = model._meta.get_field(name)
        if not isinstance(field, Field) or not field.column:
            raise ValueError(f"{model.__name__}.{name} is not a column")
        fields.append(field)
    return ", ".join(f"{quote(field.column)} = %s" for field in fields), tuple(fields)


def _moves_in_one_statement(
    moves: Sequence[Move], fields_only: Sequence[tuple[Move, Target, dict[str, Any]]]
) -> list[bool]:
    quote = connection.ops.quote_name
    params: list[Any] = []
    ctes = []
    for i, move in enumerate(moves):
        model = type(move.obj)
        table = quote(model._meta.db_table)
        condition = "" if move.after is None else f" AND EXISTS (SELECT 1 FROM m{_index(moves, move.after)})"  # noqa: S608
        assignments = _set_clause(model, {"status": move.to, **move.fields}, params)
        params += [move.obj.id, list(move.sources)]
        ctes.append(
            f"m{i} AS (UPDATE {table} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
            f" AND {quote('status')} = ANY(%s){condition} RETURNING {quote('id')})"
        )
    for j, (move, target, columns) in enumerate(fields_only):
        assignments = _set_clause(Target, columns, params)
        params.append(target.id)
        ctes.append(
            f"f{j} AS (UPDATE {quote(Target._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
            f" AND EXISTS (SELECT 1 FROM m{_index(moves, move)}) RETURNING {quote('id')})"
        )
    ctes.append(_events_insert(moves, params))
    counts = ", ".join(f"(SELECT count(*) FROM m{i})" for i in range(len(moves)))  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT {counts}", params)
        row = cursor.fetchone()
    return [bool(count) for count in row]


def _events_insert(moves: Sequence[Move], params: list[Any]) -> str:
    """One INSERT of the events, each row present only if its move happened."""
    now = timezone.now()
    casts = _event_casts()
    selects = []
    for i, move in enumerate(moves):
        params += event_values(move.event, now)
        selects.append(f"SELECT {casts} WHERE EXISTS (SELECT 1 FROM m{i})")  # noqa: S608
    return f"e AS ({EVENT_INSERT} {' UNION ALL '.join(selects)})"


@functools.cache
def _event_casts() -> str:
    """``%s::type`` per event column: a SELECT's bare parameters would be typed as text."""
    # Field.cast_db_type is Django's (since 2.0); django-stubs does not declare it.
    return ", ".join(f"%s::{f.cast_db_type(connection)}" for f in EVENT_FIELDS)  # type: ignore[attr-defined]
