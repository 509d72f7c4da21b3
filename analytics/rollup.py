"""The per-day roll-up of PartMetrics (DailyRollup): kept by the writers, read by the Analytics page.

One cell per (account, day in the workspace's zone). A write never adds to a cell: it locks the
cells its parts fall in (their old and new days), then recomputes them from PartMetrics in the
same transaction. So a number that grows replaces itself, a retried or crashed sync leaves the
cells equal to a recomputation, and two writers of the same cell queue on its row lock (the
second recomputes after the first commits, under READ COMMITTED it sees the first's rows).

Cells are in one zone per workspace (RollupState), not in UTC hours folded on reading: offsets
such as +05:30 or +05:45 do not fold from UTC hours, and UTC quarter-hours would be as many
rows as posts. A zone change rebuilds the workspace's cells in the transaction that saves it;
a page in another zone (a member who chose their own) reads PartMetrics as before.
"""

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from analytics.models import ENGAGEMENT_FIELDS, DailyRollup, PartMetrics, RollupState

Key = tuple[int, date]  # (account_id, local day)
Report = Callable[[str], None]
ROW_FIELDS = ("account_id", "target_id", "published_at", "part__position", "engagement", "views", *ENGAGEMENT_FIELDS)
CELL_FIELDS = ["posts", "repeats", "engagement", *ENGAGEMENT_FIELDS, "views", "seen_engagement", "hours"]


@dataclass
class Cell:
    """What one account's parts of one day add up to, before it is written."""

    targets: set[int] = field(default_factory=set)
    repeats: dict[str, int] = field(default_factory=dict)
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("engagement", *ENGAGEMENT_FIELDS), 0))
    views: int | None = None
    seen_engagement: int = 0
    hours: dict[str, list[int]] = field(default_factory=dict)

    def add(self, row: dict[str, Any], hour: int) -> None:
        self.targets.add(row["target_id"])
        self.sums["engagement"] += row["engagement"]
        for name in ENGAGEMENT_FIELDS:
            self.sums[name] += row[name] or 0
        if row["views"] is not None:
            self.views = (self.views or 0) + row["views"]
            self.seen_engagement += row["engagement"]
        if row["part__position"] == 0:  # the best-times grid counts main parts
            slot = self.hours.setdefault(str(hour), [0, 0])
            slot[0] += 1
            slot[1] += row["engagement"]

    def values(self) -> dict[str, Any]:
        return {
            "posts": len(self.targets), "repeats": self.repeats, **self.sums, "views": self.views,
            "seen_engagement": self.seen_engagement, "hours": self.hours,
        }  # fmt: skip


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def fold(rows: Iterable[dict[str, Any]], zone: ZoneInfo, days_of: dict[int, set[date]]) -> dict[Key, Cell]:
    """Cells from PartMetrics rows (ROW_FIELDS); ``days_of`` holds every day each of their targets
    has a part on (rows of other cells included), for the repeats."""
    cells: dict[Key, Cell] = {}
    for row in rows:
        local = row["published_at"].astimezone(zone)
        cells.setdefault((row["account_id"], local.date()), Cell()).add(row, local.hour)
    for (_account, day), cell in cells.items():
        for target in cell.targets:
            earlier = [d for d in days_of.get(target, ()) if d < day]
            if earlier:
                key = max(earlier).isoformat()
                cell.repeats[key] = cell.repeats.get(key, 0) + 1
    return cells


def _spans(keys: Iterable[Key]) -> Iterator[tuple[int, date, date]]:
    """(account, first, last) runs of consecutive days, so a filter has a few ranges, not a day each."""
    by_account: dict[int, list[date]] = defaultdict(list)
    for account, day in sorted(set(keys)):
        by_account[account].append(day)
    for account, days in by_account.items():
        first = last = days[0]
        for day in days[1:]:
            if day != last + timedelta(days=1):
                yield account, first, last
                first = day
            last = day
        yield account, first, last


# Should a zone ever turn its clocks back across midnight, a day's parts would not all lie
# between its two midnights: read a little either side; fold() places each part by its own date.
MARGIN = timedelta(hours=3)


def _parts_of(keys: Iterable[Key], zone: ZoneInfo) -> Q:
    q = Q(pk__in=[])
    for account, first, last in _spans(keys):
        q |= Q(account_id=account, published_at__gte=day_start(first, zone) - MARGIN,
               published_at__lt=day_start(last + timedelta(days=1), zone) + MARGIN)  # fmt: skip
    return q


def _cells_of(keys: Iterable[Key]) -> Q:
    q = Q(pk__in=[])
    for account, first, last in _spans(keys):
        q |= Q(account_id=account, day__gte=first, day__lte=last)
    return q


def compute(workspace_id: int, zone: ZoneInfo, keys: set[Key]) -> dict[Key, Cell]:
    """The cells ``keys`` from PartMetrics as they are now (two queries)."""
    parts = PartMetrics.objects.filter(_parts_of(keys, zone), workspace_id=workspace_id).order_by()
    rows = list(parts.values(*ROW_FIELDS))
    targets = {row["target_id"] for row in rows}
    days_of: dict[int, set[date]] = defaultdict(set)
    if targets:
        for target, at in PartMetrics.objects.filter(target_id__in=targets).values_list("target_id", "published_at"):
            days_of[target].add(local_day(at, zone))
    return {key: cell for key, cell in fold(rows, zone, days_of).items() if key in keys}


# --- Writing ----------------------------------------------------------------------------------


def _shared_zone(workspace_id: int) -> str | None:
    """The cells' zone, held shared until the transaction ends (a rebuild waits for it)."""
    sql = "SELECT zone FROM analytics_rollupstate WHERE workspace_id = %s"
    if connection.vendor == "postgresql":  # SQLite has one writer at a time anyway
        sql += " FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace_id])
        found = cursor.fetchone()
    return found[0] if found and found[0] else None


def _write(workspace_id: int, zone: ZoneInfo, keys: set[Key]) -> None:
    """Lock the cells (made if missing, in key order so writers never deadlock), recompute, save."""
    if not keys:
        return
    DailyRollup.objects.bulk_create(
        [DailyRollup(workspace_id=workspace_id, account_id=a, day=d) for a, d in sorted(keys)], ignore_conflicts=True
    )
    locked = DailyRollup.objects.select_for_update().filter(_cells_of(keys), workspace_id=workspace_id)
    stored = {(c.account_id, c.day): c for c in locked.order_by("account_id", "day") if (c.account_id, c.day) in keys}
    cells = compute(workspace_id, zone, keys)
    changed, empty = [], []
    for key, row in stored.items():
        cell = cells.get(key)
        if cell is None:
            empty.append(row.pk)
            continue
        for name, value in cell.values().items():
            setattr(row, name, value)
        changed.append(row)
    DailyRollup.objects.bulk_update(changed, CELL_FIELDS, batch_size=500)
    if empty:
        DailyRollup.objects.filter(pk__in=empty).delete()


def refresh(workspace_id: int, touched: Iterable[tuple[int, datetime]], target_ids: Iterable[int] = ()) -> None:
    """Bring up to date the cells of parts at (account, published_at) ``touched`` (their old and
    new places) and every day ``target_ids`` have parts on: call it in the transaction that wrote
    their PartMetrics."""
    touched, target_ids = list(touched), set(target_ids)
    if not touched and not target_ids:
        return
    with transaction.atomic():
        name = _shared_zone(workspace_id)
        if name is None:  # never built (a new workspace): build it whole, which includes these
            rebuild(workspace_id)
            return
        zone = ZoneInfo(name)
        keys = {(account, local_day(at, zone)) for account, at in touched}
        if target_ids:
            others = PartMetrics.objects.filter(target_id__in=target_ids).values_list("account_id", "published_at")
            keys |= {(account, local_day(at, zone)) for account, at in others}
        _write(workspace_id, zone, keys)


def rebuild(workspace_id: int, *, report: Report | None = None) -> int:
    """Every cell of the workspace again from PartMetrics, in its current zone; how many cells.

    Holds the workspace's RollupState exclusively: writers wait, then write in the new zone."""
    from accounts.models import Workspace

    say = report or (lambda line: None)
    with transaction.atomic():
        RollupState.objects.bulk_create([RollupState(workspace_id=workspace_id)], ignore_conflicts=True)
        state = RollupState.objects.select_for_update().get(workspace_id=workspace_id)
        zone = Workspace.objects.get(pk=workspace_id).tzinfo
        DailyRollup.objects.filter(workspace_id=workspace_id).delete()
        accounts = PartMetrics.objects.filter(workspace_id=workspace_id).order_by().values_list("account_id", flat=True)
        made = 0
        for account in sorted(set(accounts)):
            made += _rebuild_account(workspace_id, account, zone)
            say(f"  workspace {workspace_id}, account {account}: {made} day cells so far")
        state.zone, state.built_at = zone.key, timezone.now()
        state.save(update_fields=["zone", "built_at"])
    return made


def _rebuild_account(workspace_id: int, account_id: int, zone: ZoneInfo) -> int:
    parts = PartMetrics.objects.filter(workspace_id=workspace_id, account_id=account_id)
    cells = account_cells(parts, zone)
    made = [DailyRollup(workspace_id=workspace_id, account_id=a, day=d, **c.values()) for (a, d), c in cells.items()]
    DailyRollup.objects.bulk_create(made, batch_size=1000)
    return len(cells)


def account_cells(parts: QuerySet[Any], zone: ZoneInfo) -> dict[Key, Cell]:
    """Every cell of one account's PartMetrics ``parts`` (a target's parts are all on its account,
    so the repeats need no other rows). Also the data migration's, with its own model."""
    rows = list(parts.order_by().values(*ROW_FIELDS).iterator(chunk_size=5000))
    days_of: dict[int, set[date]] = defaultdict(set)
    for row in rows:
        days_of[row["target_id"]].add(local_day(row["published_at"], zone))
    return fold(rows, zone, days_of)


def zone_changed(workspace_id: int, zone_name: str) -> None:
    """A workspace saved: if its zone is not the cells' zone, rebuild them in this transaction."""
    built = RollupState.objects.filter(workspace_id=workspace_id).values_list("zone", flat=True).first()
    if built and built != zone_name:
        rebuild(workspace_id)


def differences(workspace_id: int) -> list[str]:
    """Where the stored cells differ from a recomputation (empty: they agree); for tests and ops."""
    name = RollupState.objects.filter(workspace_id=workspace_id).values_list("zone", flat=True).first()
    if not name:
        return ["never built"]
    zone = ZoneInfo(name)
    wanted: dict[Key, dict[str, Any]] = {}
    accounts = set(PartMetrics.objects.filter(workspace_id=workspace_id).values_list("account_id", flat=True))
    for account in accounts:
        cells = account_cells(PartMetrics.objects.filter(workspace_id=workspace_id, account_id=account), zone)
        wanted |= {key: cell.values() for key, cell in cells.items()}
    stored = {
        (c.account_id, c.day): {name: getattr(c, name) for name in CELL_FIELDS}
        for c in DailyRollup.objects.filter(workspace_id=workspace_id)
    }
    return [
        f"{key}: stored {stored.get(key)} != {wanted.get(key)}"
        for key in sorted(set(wanted) | set(stored))
        if stored.get(key) != wanted.get(key)
    ]


# --- Hooks: writes through the ORM (save, delete, cascades) ---------------------------------

_pending = threading.local()  # per deletion (keyed by its origin): the cells its parts were in


def before_save(instance: PartMetrics) -> None:
    """Remember where an existing row was, so moving its published_at refreshes the old day too."""
    instance._rollup_was = (  # type: ignore[attr-defined]
        PartMetrics.objects.filter(pk=instance.pk).values_list("account_id", "published_at").first()
        if instance.pk
        else None
    )


def after_save(instance: PartMetrics) -> None:
    was = getattr(instance, "_rollup_was", None)
    touched = [(instance.account_id, instance.published_at), *([was] if was else [])]
    refresh(instance.workspace_id, touched, [instance.target_id])


def _cascades_with_cells(origin: Any) -> bool:
    """Deleting a workspace or an account takes its cells with it: nothing to recompute."""
    from accounts.models import Workspace
    from connections.models import SocialAccount

    model = getattr(origin, "model", type(origin))  # a queryset's model, or an instance's
    return model in (Workspace, SocialAccount)


def before_delete(instance: PartMetrics, origin: Any) -> None:
    """Every pre_delete of a deletion comes before its first row goes: gather them all."""
    if _cascades_with_cells(origin):
        return
    pending: dict[int, list[tuple[int, int, datetime, int]]] = _pending.__dict__.setdefault("by_origin", {})
    pending.setdefault(id(origin), []).append(
        (instance.workspace_id, instance.account_id, instance.published_at, instance.target_id)
    )


def after_delete(instance: PartMetrics, origin: Any) -> None:
    """The first post_delete of a deletion, once its PartMetrics rows are gone, refreshes every
    cell they were in at once; the rest find nothing left to do."""
    pending: dict[int, list[tuple[int, int, datetime, int]]] = _pending.__dict__.get("by_origin", {})
    gone = pending.pop(id(origin), None)
    if gone is None:  # done by this deletion's first post_delete (or its cells cascade)
        return
    by_workspace: dict[int, list[tuple[int, datetime, int]]] = defaultdict(list)
    for workspace_id, account_id, at, target_id in gone:
        by_workspace[workspace_id].append((account_id, at, target_id))
    for workspace_id, parts in by_workspace.items():
        refresh(workspace_id, [(a, at) for a, at, _t in parts], {t for _a, _at, t in parts})
