"""Reading the event outbox after a cursor of analytics' own (the webhook sender keeps another).

The cursor is created at the outbox's current end, and that first time a backfill gives every
part already published its sync row, so nothing before the cursor is missed either.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from events.models import Event
from webhooks.models import OutboxCursor

CURSOR = "analytics"
# PostgreSQL hands out seqs before commit: a gap younger than this may still fill in, so the
# cursor waits at it; an older one is a rolled-back transaction and the cursor moves over it.
GAP_GRACE = timedelta(seconds=60)


def _cursor_pk() -> int:
    found = OutboxCursor.objects.filter(name=CURSOR).values_list("pk", flat=True).first()
    if found is not None:
        return found
    from analytics.sync import part_syncs_backfill

    end = Event.objects.aggregate(end=Max("seq"))["end"] or 0
    try:
        with transaction.atomic():
            pk = OutboxCursor.objects.create(name=CURSOR, seq=end).pk
    except IntegrityError:  # another worker created it a moment ago
        return OutboxCursor.objects.get(name=CURSOR).pk
    part_syncs_backfill()  # whatever was published before the cursor existed
    return pk


def _settled(start: int, seqs: list[tuple[int, datetime]], now: datetime) -> int:
    """The highest seq below which nothing can still appear."""
    settled = start
    for seq, created_at in seqs:
        if seq != settled + 1 and now - created_at < GAP_GRACE:
            break
        settled = seq
    return settled


def outbox_read(*, types: list[str], handle: Callable[[list[int]], int], limit: int = 1000) -> int:
    """Hand the subject ids of new events of these types to ``handle`` (which must be idempotent:
    a crash before the cursor moves hands them again), then move the cursor. Returns what
    ``handle`` returned."""
    pk, now = _cursor_pk(), timezone.now()
    with transaction.atomic():
        cursor = OutboxCursor.objects.select_for_update().get(pk=pk)
        events = list(
            Event.objects.filter(seq__gt=cursor.seq).order_by("seq").values_list("seq", "created_at", "type",
                                                                               "subject_id")[:limit]
        )  # fmt: skip
        if not events:
            return 0
        settled = _settled(cursor.seq, [(seq, created) for seq, created, _t, _s in events], now)
        ids = [subject for seq, _c, kind, subject in events if kind in types and seq <= settled]
        done = handle(ids) if ids else 0
        if settled != cursor.seq:
            OutboxCursor.objects.filter(pk=pk).update(seq=settled, updated_at=now)
    return done
