"""Writing, scheduling, editing and cancelling posts."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Capability, role_allows
from connections.models import SocialAccount
from publishing.models import ContentMedia, Media, Post, PostContent, Target, TargetPart
from publishing.rollup import post_rollup
from publishing.states import part_move, target_move, targets_move

S = Target.Status
P = TargetPart.Status
EDITABLE = (S.DRAFT, S.SCHEDULED, S.RETRY_WAIT, S.FAILED)


@dataclass(frozen=True)
class Attachment:
    media_id: int
    alt_text: str = ""


@dataclass(frozen=True)
class PartInput:
    text: str
    kind: str = PostContent.Kind.MAIN
    attachments: tuple[Attachment, ...] = ()


@dataclass
class PostInput:
    parts: list[PartInput]
    account_ids: list[int]
    link: str = ""
    overrides: dict = field(default_factory=dict)


def _require_editor(actor: Membership) -> None:
    if not role_allows(actor.role, Capability.EDIT_CONTENT):
        raise PermissionDenied("Viewers cannot write posts.")


def _accounts(actor: Membership, account_ids: list[int]) -> list[SocialAccount]:
    accounts = list(
        SocialAccount.objects.filter(workspace=actor.workspace, id__in=account_ids, status=SocialAccount.Status.ACTIVE)
    )
    if len(accounts) != len(set(account_ids)):
        raise ValidationError("Pick accounts that are connected and active in this workspace.")
    if not accounts:
        raise ValidationError("Pick at least one account to publish to.")
    return accounts


def _write_parts(post: Post, actor: Membership, parts: list[PartInput]) -> None:
    if not parts or parts[0].kind != PostContent.Kind.MAIN or not (parts[0].text.strip() or parts[0].attachments):
        raise ValidationError("Write something (or attach media) for the main post.")
    media_ids = {a.media_id for part in parts for a in part.attachments}
    owned = set(Media.objects.filter(workspace=actor.workspace, id__in=media_ids).values_list("id", flat=True))
    if owned != media_ids:
        raise ValidationError("An attachment is not in this workspace's media library.")
    post.contents.all().delete()
    for position, part in enumerate(parts):
        content = PostContent.objects.create(post=post, kind=part.kind, position=position, text=part.text)
        ContentMedia.objects.bulk_create(
            ContentMedia(content=content, media_id=a.media_id, position=i, alt_text=a.alt_text)
            for i, a in enumerate(part.attachments)
        )


def _target_fields(when: datetime | None) -> dict:
    if when is None:
        return {"status": S.DRAFT, "due_at": None, "next_attempt_at": None}
    return {"status": S.SCHEDULED, "due_at": when, "next_attempt_at": when}


def _targets_schedule(targets, when: datetime | None, *, actor: Membership, **extra) -> None:
    """Targets to a draft or to a time: a status change through the graph where there is one,
    and the new time on every row."""
    fields = {**_target_fields(when), **extra}
    status = fields.pop("status")
    targets_move(targets.exclude(status=status), status, actor=actor, **fields)
    targets.filter(status=status).update(**fields)


def lane_for(post: Post) -> str:
    """Posts with video or large files run in the media lane (see PUBLISH_MEDIA_CLUSTER)."""
    media = Media.objects.filter(id__in=ContentMedia.objects.filter(content__post=post).values("media_id"))
    heavy = (
        media.filter(mime_type__startswith="video/").exists()
        or media.filter(size__gt=settings.PUBLISH_MEDIA_LANE_BYTES).exists()
    )
    return "media" if heavy else "default"


@transaction.atomic
def post_create(*, actor: Membership, data: PostInput, publish_at: datetime | None) -> Post:
    """Create a post; ``publish_at`` None keeps it a draft, a past or present time publishes now."""
    _require_editor(actor)
    accounts = _accounts(actor, data.account_ids)
    post = Post.objects.create(
        workspace=actor.workspace, author=actor.user, link=data.link, overrides=data.overrides, scheduled_at=publish_at
    )
    _write_parts(post, actor, data.parts)
    lane = lane_for(post)
    Target.objects.bulk_create(
        Target(workspace=actor.workspace, post=post, account=account, lane=lane, **_target_fields(publish_at))
        for account in accounts
    )
    post_rollup(post_id=post.id, actor=actor)
    post.refresh_from_db()
    return post


def _lock_editable_targets(post: Post) -> list[Target]:
    targets = list(Target.objects.select_for_update().filter(post=post))
    busy = [t for t in targets if t.status not in EDITABLE and t.status not in (S.PUBLISHED, S.CANCELED)]
    if busy:
        raise ValidationError("This post is being published right now and cannot be changed.")
    return targets


@transaction.atomic
def post_update(*, actor: Membership, post: Post, data: PostInput, publish_at: datetime | None) -> Post:
    """Edit or reschedule until a target starts publishing; published targets stay as they are."""
    _require_editor(actor)
    targets = _lock_editable_targets(post)
    landed = TargetPart.objects.filter(target__post=post, status=P.PUBLISHED).exists()
    if landed or any(t.status == S.PUBLISHED for t in targets):
        raise ValidationError("Part of this post is already published; it can no longer be edited.")
    accounts = {a.id: a for a in _accounts(actor, data.account_ids)}
    _write_parts(post, actor, data.parts)
    post.link, post.overrides, post.scheduled_at = data.link, data.overrides, publish_at
    post.save(update_fields=["link", "overrides", "scheduled_at", "updated_at"])
    Target.objects.filter(post=post).exclude(account_id__in=accounts).delete()
    TargetPart.objects.filter(target__post=post).delete()  # nothing landed: parts are rebuilt from the edit
    existing, lane = {t.account_id for t in targets}, lane_for(post)
    _targets_schedule(Target.objects.filter(post=post), publish_at, actor=actor, attempts=0, error_class="",
                      error_code="", error_message="", status_reason="")  # fmt: skip
    Target.objects.bulk_create(
        Target(workspace=actor.workspace, post=post, account=account, lane=lane, **_target_fields(publish_at))
        for account_id, account in accounts.items()
        if account_id not in existing
    )
    Target.objects.filter(post=post).update(lane=lane)
    post_rollup(post_id=post.id, actor=actor)
    post.refresh_from_db()
    return post


@transaction.atomic
def post_reschedule(*, actor: Membership, post: Post, publish_at: datetime) -> Post:
    _require_editor(actor)
    targets = _lock_editable_targets(post)
    pending = [t.id for t in targets if t.status in (S.SCHEDULED, S.DRAFT, S.RETRY_WAIT)]
    if not pending:
        raise ValidationError("Nothing left to reschedule in this post.")
    _targets_schedule(Target.objects.filter(id__in=pending), publish_at, actor=actor)
    post.scheduled_at = publish_at
    post.save(update_fields=["scheduled_at", "updated_at"])
    post_rollup(post_id=post.id, actor=actor)
    post.refresh_from_db()
    return post


@transaction.atomic
def post_cancel(*, actor: Membership, post: Post) -> Post:
    _require_editor(actor)
    targets = _lock_editable_targets(post)
    cancelable = Target.objects.filter(id__in=[t.id for t in targets if t.status in EDITABLE])
    targets_move(cancelable, S.CANCELED, actor=actor, next_attempt_at=None)
    post_rollup(post_id=post.id, actor=actor)
    post.refresh_from_db()
    return post


@transaction.atomic
def target_retry(*, actor: Membership, target: Target) -> Target:
    """The retry button of a failed target, or "publish again" for an unknown one the author
    checked. Parts that landed stay landed: only what did not go out is sent."""
    _require_editor(actor)
    target = Target.objects.select_for_update().select_related("account").get(pk=target.pk)
    if target.status not in (S.FAILED, S.UNKNOWN):
        raise ValidationError("Only a failed post (or one whose outcome is unknown) can be retried.")
    if target.status == S.UNKNOWN and target.next_attempt_at is not None:
        raise ValidationError("Still checking whether this post went out; try again once the check has finished.")
    if target.account.status != SocialAccount.Status.ACTIVE:
        raise ValidationError(f"Reconnect {target.account.username} first, then retry.")
    for part in TargetPart.objects.filter(target=target, status__in=[P.FAILED, P.UNKNOWN]):
        part_move(part, P.PENDING, target=target, actor=actor, attempts=0, error_class="", error_code="",
                  error_message="")  # fmt: skip
    target_move(target, S.SCHEDULED, only_from=[S.FAILED, S.UNKNOWN], actor=actor, next_attempt_at=timezone.now(),
                attempts=0, finished_at=None, error_class="", error_code="", error_message="")  # fmt: skip
    post_rollup(post_id=target.post_id, actor=actor)
    target.refresh_from_db()
    return target


@transaction.atomic
def target_mark_published(*, actor: Membership, target: Target, url: str = "") -> Target:
    """An unknown outcome the author checked by hand: it did go out. The parts after it follow."""
    _require_editor(actor)
    target = Target.objects.select_for_update().get(pk=target.pk)
    if target.status != S.UNKNOWN:
        raise ValidationError("Only a post whose outcome is unknown can be marked as published.")
    parts = list(TargetPart.objects.filter(target=target).order_by("position"))
    in_doubt = next((part for part in parts if part.status == P.UNKNOWN), None)
    if in_doubt is None:
        raise ValidationError("Nothing of this post was in flight; use Publish again to send it.")
    now = timezone.now()
    part_move(in_doubt, P.PUBLISHED, target=target, actor=actor, url=url, landed_at=now, error_message="")
    if in_doubt.position == 0:
        Target.objects.filter(pk=target.pk).update(url=url)
    rest = any(part.status != P.PUBLISHED for part in parts)
    if rest:
        target_move(target, S.SCHEDULED, actor=actor, next_attempt_at=now, error_message="")
    else:
        target_move(target, S.PUBLISHED, actor=actor, finished_at=now, error_message="", next_attempt_at=None)
    post_rollup(post_id=target.post_id, actor=actor)
    target.refresh_from_db()
    return target
