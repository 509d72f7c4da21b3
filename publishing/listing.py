"""The Posts list: tabs by status with their counts, and pages found by keyset (the last row's
sort key), not OFFSET: the hundredth page costs what the first does, and a post scheduled
meanwhile never shifts a row onto two pages."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Left

from connections.registry import platform_choices
from publishing.media import media_thumb_url_for
from publishing.models import ContentMedia, Post, PostContent, Target

PAGE_SIZE = 50
COUNT_CAP = 1000  # tab counts above this read "1,000+"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LIST_TEXT = 80  # characters of the main text a row shows
S = Post.Status


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    statuses: tuple[str, ...]
    # By time (soonest first when ``ascending``) or, for posts that may have no time, newest first.
    by_time: bool
    noun: str  # "No {noun}" when the tab is empty
    ascending: bool = False


TABS = (
    Tab("scheduled", "Scheduled", (S.SCHEDULED, S.PUBLISHING), by_time=True, noun="scheduled posts", ascending=True),
    Tab("drafts", "Drafts", (S.DRAFT,), by_time=False, noun="drafts"),
    Tab("published", "Published", (S.PUBLISHED,), by_time=True, noun="published posts"),
    # Partly published posts need the author as much as failed ones do.
    Tab("failed", "Failed", (S.FAILED, S.PARTIAL), by_time=True, noun="failed posts"),
    Tab("canceled", "Canceled", (S.CANCELED,), by_time=False, noun="canceled posts"),
)
TAB_BY_SLUG = {tab.slug: tab for tab in TABS}


class BadCursor(ValueError):
    """A page link that was edited or cut short."""


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just after (or before) the post with this sort key."""

    id: int
    at: datetime | None = None

    def encode(self) -> str:
        if self.at is None:
            return str(self.id)
        # Whole microseconds by integer arithmetic: a float timestamp can be off by one, and a
        # cursor one microsecond off repeats or skips the row at the page's edge.
        micros = (self.at - EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id}"

    @classmethod
    def decode(cls, value: str, *, by_time: bool) -> "Cursor":
        parts = value.split(".")
        if len(parts) != (2 if by_time else 1) or not all(
            p.isascii() and p.isdecimal() and len(p) <= 19 for p in parts
        ):
            raise BadCursor(value)
        if not by_time:
            return cls(id=int(parts[0]))
        try:
            at = EPOCH + timedelta(microseconds=int(parts[0]))
        except OverflowError:
            raise BadCursor(value) from None
        return cls(id=int(parts[1]), at=at)


@dataclass(frozen=True)
class Row:
    id: int
    status: str
    status_label: str
    scheduled_at: datetime | None
    text: str
    accounts: list[str] = field(default_factory=list)  # "Demo network · alpha"
    thumb_url: str = ""
    more_media: int = 0  # attachments besides the thumbnail
    imported: bool = False  # posted outside Postwright, brought in by an import


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    newer: Cursor | None  # "before" cursor of the previous page, if there is one
    older: Cursor | None  # "after" cursor of the next page, if there is one


def tab_counts(posts: QuerySet[Post]) -> dict[str, int]:
    """Posts per tab, each counted up to COUNT_CAP + 1 (shown as "1,000+"): a count of every
    row read the whole workspace (78 ms at 100,000 posts), a capped one reads at most 1,001."""
    counts = {}
    for tab in TABS:
        capped = posts.filter(status__in=tab.statuses).order_by().values("id")[: COUNT_CAP + 1]
        counts[tab.slug] = capped.count()
    return counts


def for_account(posts: QuerySet[Post], account_id: int) -> QuerySet[Post]:
    return posts.filter(Exists(Target.objects.filter(post=OuterRef("pk"), account_id=account_id)))


def _key(tab: Tab, cursor: Cursor, *, forward: bool) -> Q:
    """Rows after ``cursor`` in reading order (``forward``), or before it."""
    later = tab.ascending == forward  # larger keys come next
    if not tab.by_time:
        return Q(id__gt=cursor.id) if later else Q(id__lt=cursor.id)
    if later:
        return Q(scheduled_at__gt=cursor.at) | Q(scheduled_at=cursor.at, id__gt=cursor.id)
    return Q(scheduled_at__lt=cursor.at) | Q(scheduled_at=cursor.at, id__lt=cursor.id)


def _order(tab: Tab, *, forward: bool) -> list[str]:
    fields = ["scheduled_at", "id"] if tab.by_time else ["id"]
    ascending = tab.ascending == forward
    return fields if ascending else [f"-{name}" for name in fields]


def _cursor(tab: Tab, row: Mapping[str, Any]) -> Cursor:
    return Cursor(id=row["id"], at=row["scheduled_at"] if tab.by_time else None)


def page_of(posts: QuerySet[Post], tab: Tab, *, after: Cursor | None = None, before: Cursor | None = None) -> Page:
    """One page of ``posts`` in ``tab``: the rows after ``after`` (or before ``before``), read
    as plain values with their texts, accounts and first images in three more queries."""
    backwards = before is not None  # reading back from ``before``: the previous page
    chosen = posts.filter(status__in=tab.statuses)
    if tab.by_time:
        chosen = chosen.filter(scheduled_at__isnull=False)
    if after is not None:
        chosen = chosen.filter(_key(tab, after, forward=True))
    if before is not None:
        chosen = chosen.filter(_key(tab, before, forward=False))
    wanted = chosen.order_by(*_order(tab, forward=not backwards)).values("id", "status", "scheduled_at", "origin")
    found = list(wanted[: PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE  # more beyond this page, in the direction read
    found = found[:PAGE_SIZE]
    if not found:
        # Nothing there any more (the posts moved on): start again at the first page.
        return page_of(posts, tab) if (after or before) else Page(rows=[], newer=None, older=None)
    if backwards:
        found.reverse()
    newer = _cursor(tab, found[0]) if (more if backwards else after is not None) else None
    older = _cursor(tab, found[-1]) if (backwards or more) else None
    return Page(rows=_rows(found), newer=newer, older=older)


def _rows(found: Sequence[Mapping[str, Any]]) -> list[Row]:
    ids = [row["id"] for row in found]
    texts = dict(
        PostContent.objects.filter(post_id__in=ids, kind=PostContent.Kind.MAIN)
        .order_by()
        .values_list("post_id", Left("text", LIST_TEXT + 1))
    )
    labels = dict(platform_choices())
    accounts: dict[int, list[str]] = {}
    targets = Target.objects.filter(post_id__in=ids).order_by("id")
    for post_id, platform, username in targets.values_list("post_id", "account__platform", "account__username"):
        accounts.setdefault(post_id, []).append(f"{labels.get(platform, platform)} · {username}")
    media: dict[int, list[tuple[int, str]]] = {}
    attachments = ContentMedia.objects.filter(content__post_id__in=ids, content__kind=PostContent.Kind.MAIN)
    for post_id, media_id, kind in attachments.order_by("content_id", "position").values_list(
        "content__post_id", "media_id", "media__kind"
    ):
        media.setdefault(post_id, []).append((media_id, kind))
    status_labels = dict(Post.Status.choices)
    rows = []
    for row in found:
        pictures = media.get(row["id"], [])
        rows.append(
            Row(
                id=row["id"],
                status=row["status"],
                status_label=status_labels.get(row["status"], row["status"]),
                scheduled_at=row["scheduled_at"],
                text=texts.get(row["id"], ""),
                accounts=accounts.get(row["id"], []),
                thumb_url=media_thumb_url_for(*pictures[0]) if pictures else "",
                more_media=max(0, len(pictures) - 1),
                imported=row.get("origin") == Post.Origin.IMPORTED,
            )
        )
    return rows
