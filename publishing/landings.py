"""Group commit for the parts that land at the same moment.

A worker sends a batch's targets concurrently, one thread each; at a platform's latency their
answers arrive within milliseconds of each other, and each thread records its part before it
sends the next. Written one statement (and one commit) each, those records were a third of a
worker's CPU per post and most of the database's. Here the threads that arrive together share
one statement: the first to arrive writes its own record and everything queued behind it, the
others wait for that one statement (a millisecond or two), then go on.

Nothing about a single record changes: each move keeps its own condition and event, a part is
still recorded before its next part is sent, and the caller learns exactly which of its moves
happened. If the shared statement fails, each record is written again on its own, so one bad
record fails only its own target.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from publishing.models import Target
from publishing.states import Move, moves_apply

FieldsOnly = Sequence[tuple[Move, Target, dict[str, Any]]]


@dataclass(eq=False)
class _Record:
    moves: Sequence[Move]
    fields_only: FieldsOnly
    done: threading.Event = field(default_factory=threading.Event)
    result: list[bool] | None = None
    error: BaseException | None = None
    lead: bool = False  # handed the next round: this thread writes it


class LandingGroup:
    """One per worker process: the records its threads have queued, and who writes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[_Record] = []
        self._writing = False

    def apply(self, moves: Sequence[Move], *, fields_only: FieldsOnly = ()) -> list[bool]:
        """moves_apply, written together with whatever other threads record meanwhile."""
        record = _Record(moves, fields_only)
        with self._lock:
            self._queued.append(record)
            record.lead = not self._writing
            self._writing = True
        if not record.lead:
            record.done.wait()
        if record.lead:  # first to arrive, or handed the round by the last writer
            self._write_round()
        if record.error is not None:
            raise record.error
        assert record.result is not None  # noqa: S101 - set by whoever wrote the round
        return record.result

    def _write_round(self) -> None:
        with self._lock:
            group, self._queued = self._queued, []
        try:
            _write(group)
        finally:
            with self._lock:
                if self._queued:  # arrived while this round was written: the oldest writes the next
                    successor = self._queued[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._writing = False
            for record in group:
                record.lead = False
                record.done.set()


def _write(group: list[_Record]) -> None:
    if len(group) == 1:
        _write_alone(group[0])
        return
    moves = [move for record in group for move in record.moves]
    fields_only = [item for record in group for item in record.fields_only]
    try:
        moved = moves_apply(moves, fields_only=fields_only)
    except Exception:
        for record in group:
            _write_alone(record)
        return
    start = 0
    for record in group:
        record.result = moved[start : start + len(record.moves)]
        start += len(record.moves)


def _write_alone(record: _Record) -> None:
    try:
        record.result = moves_apply(record.moves, fields_only=record.fields_only)
    except BaseException as exc:
        record.error = exc


_group = LandingGroup()


def landing_apply(moves: Sequence[Move], *, fields_only: FieldsOnly = ()) -> list[bool]:
    """How the engine records parts: grouped where that is safe (autocommit on PostgreSQL, so
    each round is one statement and one transaction), else moves_apply as it is."""
    if not settings.PUBLISH_GROUP_LANDINGS or connection.vendor != "postgresql" or connection.in_atomic_block:
        return moves_apply(moves, fields_only=fields_only)
    return _group.apply(moves, fields_only=fields_only)
