"""A post's history in words, from the event outbox: "scheduled by Ana · queued · published"."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events.models import Event
from publishing.models import Post, Target

HISTORY_LIMIT = 200
# Moves people care about; the rest (a part being sent, a target queued again) stay in the outbox.
WORDS = {
    "post.created": "written",
    "post.updated": "edited",
    "post.scheduled": "scheduled",
    "post.rescheduled": "rescheduled",
    "post.draft_saved": "saved as a draft",
    "post.canceled": "canceled",
    "post.duplicated": "copied from another post",
    "post.restored": "restored as a draft",
    "approval.requested": "submitted for approval",
    "approval.approved": "approved",
    "approval.changes_requested": "changes requested",
    "post.commented": "commented",
    "post.published": "published everywhere",
    "post.partially_published": "partly published",
    "post.failed": "failed",
    "target.queued": "queued for {account}",
    "target.processing": "{account}: {reason}",
    "target.retry_wait": "{account}: will try again",
    "target.published": "published to {account}",
    "target.failed": "{account}: failed",
    "target.unknown": "{account}: no answer, checking whether it went out",
    "target.scheduled": "{account}: scheduled",
    "target.canceled": "{account}: canceled",
    "part.published": "{account}: {part} landed",
    "part.failed": "{account}: {part} refused",
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    text: str
    actor: str


def _part_label(payload: Mapping[str, Any]) -> str:
    position, kind = payload.get("position", 0), payload.get("kind", "main")
    if kind == "reply":
        return f"reply {position}"
    return "the first comment" if kind == "first_comment" else "the post"


def post_history(post: Post, targets: list[Target]) -> list[HistoryEntry]:
    accounts = {target.id: target.account.username for target in targets}
    events = Event.objects.filter(post_id=post.id, type__in=list(WORDS)).order_by("seq")
    entries = []
    for event in events.only("type", "payload", "actor_label", "created_at")[:HISTORY_LIMIT]:
        payload = event.payload or {}
        text = WORDS[event.type].format(
            account=accounts.get(payload.get("target_id", 0), "an account"),  # 0: no target has it
            reason=(payload.get("reason") or "waiting for the platform").rstrip("."),
            part=_part_label(payload),
        )
        if event.type == "part.published" and payload.get("position", 0) == 0:
            continue  # the same moment as "published to ..." for single posts; the parts list shows it
        entries.append(HistoryEntry(at=event.created_at, text=text, actor=event.actor_label))
    return entries
