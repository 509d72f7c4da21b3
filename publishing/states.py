"""The declared state graph of targets and their parts, and the one way to move along it.

Every status change of a target or a part is a conditional update (``status IN <allowed
sources>``) and an event row written in the same transaction. A second dispatcher, a redelivered
task or a late worker therefore cannot act twice, an impossible edge cannot be taken by any code
path (admin included: status is read-only there), and every change is announced exactly once.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from events.services import EventSpec, actor_fields, events_emit
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
    **fields: Any,
) -> list[int]:
    """Move every target of ``queryset`` whose status allows it; returns the ids moved. Rows are
    locked first (PostgreSQL), so the events name exactly the rows the update changed."""
    sources = _allowed(TARGET_SOURCES[to], only_from)
    candidates = queryset.filter(status__in=sources)
    if not candidates.exists():
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
