"""/posts: create, list, read, edit, reschedule, cancel and retry posts through publishing.services.

Containers are the API's word for a post's parts: container 0 is the main post, container 1 the
first comment (leave it empty for none), containers 2 and on the thread's replies in order.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime, ConfigDict, model_validator

from api.auth import principal_of
from api.idempotency import idempotent
from api.keys import Principal
from api.media import MediaOut as LibraryMedia
from api.media import media_out
from api.pages import cursor_decode, cursor_encode
from api.problems import ApiError, service_error
from api.schemas import ERRORS, READ_ERRORS, Id, ProblemOut, Text
from api.social_accounts import SocialAccountOut, account_get, account_out
from publishing import services
from publishing.inputs import Attachment, PartInput, PostInput, When
from publishing.models import ContentMedia, Post, PostContent, Target, TargetPart
from publishing.threads import MAX_TEXT, SplitError

router = Router(tags=["posts"])
Expand = Literal["targets.account", "containers.media"]
K = PostContent.Kind
MAX_CONTAINERS = 22  # the main post, a first comment and up to 20 replies (publishing.rules.MAX_REPLIES)


# --- Schemas --------------------------------------------------------------------------------


class MediaRef(Schema):
    model_config = ConfigDict(extra="forbid")
    media_id: Id
    alt_text: Text = Field("", max_length=1500)


class ContainerIn(Schema):
    model_config = ConfigDict(extra="forbid")
    text: Text = Field("", max_length=50_000)
    media: list[MediaRef] = Field(default_factory=list, max_length=20)


class PlatformConfig(Schema):
    model_config = ConfigDict(extra="forbid")
    text: Text | None = Field(None, max_length=50_000, description="Replaces container 0's text on this platform.")
    options: dict[str, Any] = Field(default_factory=dict, description="The platform's own options (see the README).")


class _Writable(Schema):
    model_config = ConfigDict(extra="forbid")
    containers: list[ContainerIn] = Field(min_length=1, max_length=MAX_CONTAINERS)
    accounts: list[Id] = Field(min_length=1, max_length=100, description="Social account ids.")
    scheduled_at: AwareDatetime | None = Field(None, description="When to publish (with a UTC offset).")
    publish_now: bool = False
    queue: bool = Field(False, description="Take the accounts' next free posting slot.")
    link: Text = Field("", max_length=2000)
    config: dict[Text, PlatformConfig] = Field(default_factory=dict, description="Per platform, e.g. mastodon.")

    @model_validator(mode="after")
    def _one_when(self) -> "_Writable":
        if sum([self.scheduled_at is not None, self.publish_now, self.queue]) > 1:
            raise ValueError("Give at most one of scheduled_at, publish_now and queue (none keeps a draft).")
        return self


class PostCreateIn(_Writable):
    tenant_id: Text = Field("", max_length=255, description="Your own id for the user this post belongs to.")
    external_ref: Text = Field("", max_length=200, description="Your own reference for this post.")


class PostUpdateIn(_Writable):
    tenant_id: Text | None = Field(None, max_length=255, description="Omit to keep the post's.")
    external_ref: Text | None = Field(None, max_length=200, description="Omit to keep the post's.")


class RescheduleIn(Schema):
    model_config = ConfigDict(extra="forbid")
    scheduled_at: AwareDatetime | None = None
    queue: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> "RescheduleIn":
        if (self.scheduled_at is None) == (not self.queue):
            raise ValueError("Give either scheduled_at or queue: true.")
        return self


class ThreadSplitIn(Schema):
    model_config = ConfigDict(extra="forbid")
    account: Id = Field(description="The social account whose platform's rules measure the parts.")
    text: Text = Field(max_length=MAX_TEXT)
    numbered: bool = Field(False, description='End each part with its place, " 2/5", within the limit.')


class ThreadSplitOut(Schema):
    parts: list[str] = Field(
        description="The main post, then the thread's replies, each within the limit: as a post's containers, "
        "[parts[0], the first comment (empty for none), *parts[1:]]."
    )


class MediaOut(Schema):
    media_id: int
    alt_text: str
    media: LibraryMedia | None = Field(None, description="With expand=containers.media.")


class ContainerOut(Schema):
    text: str
    media: list[MediaOut]


class PartOut(Schema):
    position: int
    kind: str
    status: str
    platform_post_id: str
    url: str
    error_code: str
    error_message: str
    landed_at: datetime | None
    removed_at: datetime | None = Field(description="When it was deleted from the platform (DELETE /posts).")


class TargetOut(Schema):
    id: int
    account_id: int
    platform: str
    username: str
    status: str
    status_reason: str
    platform_post_id: str
    url: str
    attempts: int
    next_attempt_at: datetime | None
    finished_at: datetime | None
    error_code: str
    error_message: str
    parts: list[PartOut]
    account: SocialAccountOut | None = Field(None, description="With expand=targets.account.")


class PostOut(Schema):
    id: int
    status: str
    scheduled_at: datetime | None
    containers: list[ContainerOut]
    accounts: list[int]
    link: str
    config: dict[str, Any]
    tenant_id: str
    external_ref: str
    author_id: int | None = Field(description="The member who wrote it; null when made through the API.")
    created_at: datetime
    updated_at: datetime
    targets: list[TargetOut]


class PostPage(Schema):
    data: list[PostOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last.")


class PostFilters(Schema):
    status: Literal[tuple(Post.Status.values)] | None = None  # type: ignore[valid-type]
    account: Id | None = Field(None, description="Only posts going to this social account.")
    tenant_id: Text | None = Field(None, max_length=255)
    external_ref: Text | None = Field(None, max_length=200)
    scheduled_after: AwareDatetime | None = None
    scheduled_before: AwareDatetime | None = None
    cursor: Text | None = Field(None, max_length=200)
    limit: int = Field(25, ge=1, le=100)
    expand: list[Expand] = Field(default_factory=list, description="Embed what the ids name, saving a request each.")


class ExpandQuery(Schema):
    expand: list[Expand] = Field(default_factory=list, description="Embed what the ids name, saving a request each.")


# --- Input to services ----------------------------------------------------------------------


def _when(data: _Writable) -> When:
    if data.publish_now:
        return When.now()
    if data.queue:
        return When.next_slot()
    return When.at(data.scheduled_at) if data.scheduled_at else When.draft()


def _part(container: ContainerIn, kind: str) -> PartInput:
    attachments = tuple(Attachment(media_id=m.media_id, alt_text=m.alt_text) for m in container.media)
    return PartInput(text=container.text, kind=kind, attachments=attachments)


def _parts(containers: list[ContainerIn]) -> tuple[list[PartInput], dict[int, int]]:
    """The services' order (main, replies, first comment) and where each part came from."""
    parts, origin = [_part(containers[0], K.MAIN)], {0: 0}
    for index, container in enumerate(containers[2:], start=2):
        origin[len(parts)] = index
        parts.append(_part(container, K.REPLY))
    if len(containers) > 1 and (containers[1].text.strip() or containers[1].media):
        origin[len(parts)] = 1
        parts.append(_part(containers[1], K.FIRST_COMMENT))
    return parts, origin


def _input(data: _Writable) -> tuple[PostInput, dict[int, int]]:
    parts, origin = _parts(data.containers)
    config = {platform: c.model_dump(exclude_none=True) for platform, c in data.config.items()}
    post_input = PostInput(
        parts=parts, account_ids=list(data.accounts), link=data.link, overrides=config, when=_when(data),
        tenant_id=data.tenant_id, external_ref=data.external_ref,
    )  # fmt: skip
    return post_input, origin


def _renames(origin: dict[int, int], when_field: str) -> list[tuple[re.Pattern[str], str]]:
    """The services' field paths in the API's names (parts[2] -> containers[1], account_ids -> accounts)."""
    return [
        (re.compile(r"^parts\[(\d+)\]"), lambda m: f"containers[{origin.get(int(m.group(1)), m.group(1))}]"),
        (re.compile(r"^parts$"), "containers"),
        (re.compile(r"\.attachments\["), ".media["),
        (re.compile(r"^account_ids"), "accounts"),
        (re.compile(r"^when(\.at)?$"), when_field),
        (re.compile(r"^overrides"), "config"),
    ]  # type: ignore[list-item]


def _when_field(data: _Writable) -> str:
    return "publish_now" if data.publish_now else "queue" if data.queue else "scheduled_at"


def _tenant_allowed(principal: Principal, tenant_id: str | None) -> None:
    if tenant_id is not None and not principal.sees_tenant(tenant_id):
        allowed = ", ".join(principal.key.tenant_ids)
        raise ApiError(403, f"This API key only works for the tenant ids {allowed}.")


# --- Output ---------------------------------------------------------------------------------


def _posts(principal: Principal, expand: Iterable[str] = ()) -> QuerySet[Post]:
    parts = TargetPart.objects.defer("state").order_by("position")
    targets = Target.objects.select_related("account", "account__grant").defer(
        "account__secrets", "account__grant__secrets"
    )
    attachments = ContentMedia.objects.order_by("position")
    if "containers.media" in expand:
        attachments = attachments.select_related("media")
    queryset = Post.objects.filter(workspace=principal.actor.workspace).prefetch_related(
        Prefetch("contents", queryset=PostContent.objects.order_by("position")),
        Prefetch("contents__attachments", queryset=attachments),
        Prefetch("targets", queryset=targets.order_by("id")),
        Prefetch("targets__parts", queryset=parts),
    )
    if principal.key.tenant_ids:
        queryset = queryset.filter(tenant_id__in=principal.key.tenant_ids)
    return queryset


def _containers(post: Post, expand: frozenset[str]) -> list[dict]:
    def attachment(a: ContentMedia) -> dict:
        item: dict[str, Any] = {"media_id": a.media_id, "alt_text": a.alt_text}
        if "containers.media" in expand:
            item["media"] = media_out(a.media)
        return item

    def one(content: PostContent) -> dict:
        return {"text": content.text, "media": [attachment(a) for a in content.attachments.all()]}

    contents = list(post.contents.all())
    main = [one(c) for c in contents if c.kind == K.MAIN]
    replies = [one(c) for c in contents if c.kind == K.REPLY]
    comment = [one(c) for c in contents if c.kind == K.FIRST_COMMENT]
    if comment or replies:
        return main + (comment or [{"text": "", "media": []}]) + replies
    return main


def _target(target: Target, expand: frozenset[str]) -> dict:
    parts = [
        {f: getattr(p, f) for f in ("position", "kind", "status", "platform_post_id", "url", "error_code",
                                     "error_message", "landed_at", "removed_at")}
        for p in target.parts.all()
    ]  # fmt: skip
    fields = ("id", "account_id", "status", "status_reason", "platform_post_id", "url", "attempts",
              "next_attempt_at", "finished_at", "error_code", "error_message")  # fmt: skip
    out = {**{f: getattr(target, f) for f in fields}, "platform": target.account.platform,
           "username": target.account.username, "parts": parts}  # fmt: skip
    if "targets.account" in expand:
        out["account"] = account_out(target.account)
    return out


def post_out(post: Post, expand: Iterable[str] = ()) -> dict:
    expand = frozenset(expand)
    targets = list(post.targets.all())
    return {
        "id": post.pk, "status": post.status, "scheduled_at": post.scheduled_at,
        "containers": _containers(post, expand),
        "accounts": [t.account_id for t in targets], "link": post.link, "config": post.overrides,
        "tenant_id": post.tenant_id, "external_ref": post.external_ref, "author_id": post.author_id,
        "created_at": post.created_at, "updated_at": post.updated_at,
        "targets": [_target(t, expand) for t in targets],
    }  # fmt: skip


def _json(status: int, post: Post, principal: Principal, **headers: str) -> HttpResponse:
    body = PostOut.model_validate(post_out(_posts(principal).get(pk=post.pk))).model_dump(mode="json")
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _get(principal: Principal, post_id: int) -> Post:
    return _posts(principal).get(pk=post_id)  # DoesNotExist: 404, other workspaces' and tenants' too


# --- Endpoints ------------------------------------------------------------------------------


@router.post("", response={201: PostOut, ERRORS: ProblemOut}, summary="Create a post")
def create_post(request: HttpRequest, data: PostCreateIn) -> HttpResponse:
    principal = principal_of(request)
    _tenant_allowed(principal, data.tenant_id)
    if principal.key.tenant_ids and not data.tenant_id:
        raise ApiError(403, "This API key is restricted to some tenants: give the post's tenant_id.")

    def run() -> HttpResponse:
        post_input, origin = _input(data)
        try:
            post = services.post_create(actor=principal.actor, data=post_input)
        except ValidationError as exc:
            return service_error(request, exc, _renames(origin, _when_field(data)))
        return _json(201, post, principal, Location=f"/api/v1/posts/{post.pk}")

    return idempotent(request, principal, run)


@router.post("/thread-split", response={200: ThreadSplitOut, ERRORS: ProblemOut},
             summary="Split a text into a thread that fits an account's platform")  # fmt: skip
def thread_split(request: HttpRequest, data: ThreadSplitIn) -> dict:
    """The composer's "Split into a thread": at sentence ends or between words, URLs whole, each
    part measured by the platform's own counting (X's weighted characters). Nothing is saved;
    create the post with the parts as its containers, where the same rules check them again."""
    principal = principal_of(request)
    account = account_get(principal, data.account)
    try:
        parts = services.thread_split(actor=principal.actor, account=account, text=data.text, numbered=data.numbered)
    except SplitError as exc:
        errors = [{"field": "text", "message": str(exc), "code": "split"}]
        raise ApiError(422, str(exc), errors=errors) from None
    return {"parts": parts}


@router.get("", response={200: PostPage, READ_ERRORS: ProblemOut}, summary="List posts, newest first")
def list_posts(request: HttpRequest, filters: Query[PostFilters]) -> dict:
    principal = principal_of(request)
    queryset = _posts(principal, filters.expand).order_by("-id")
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.account:
        queryset = queryset.filter(targets__account_id=filters.account)
    if filters.tenant_id is not None:
        queryset = queryset.filter(tenant_id=filters.tenant_id)
    if filters.external_ref is not None:
        queryset = queryset.filter(external_ref=filters.external_ref)
    if filters.scheduled_after:
        queryset = queryset.filter(scheduled_at__gte=filters.scheduled_after)
    if filters.scheduled_before:
        queryset = queryset.filter(scheduled_at__lt=filters.scheduled_before)
    if filters.cursor:
        queryset = queryset.filter(id__lt=cursor_decode(filters.cursor))
    page = list(queryset.distinct()[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    data = [post_out(p, filters.expand) for p in page]
    return {"data": data, "next_cursor": cursor_encode(page[-1].pk) if more else None}


@router.get("/{post_id}", response={200: PostOut, READ_ERRORS: ProblemOut}, summary="Get a post with its targets")
def get_post(request: HttpRequest, post_id: Id, query: Query[ExpandQuery]) -> dict:
    """``expand=targets.account`` embeds each target's account, ``expand=containers.media`` each
    attachment's media (status, size, signed URL)."""
    return post_out(_posts(principal_of(request), query.expand).get(pk=post_id), query.expand)


@router.delete("/{post_id}", response={204: None, ERRORS: ProblemOut}, summary="Delete a post, from the platforms too")
def delete_post(request: HttpRequest, post_id: Id) -> HttpResponse:
    """What has not gone out is canceled; what landed is deleted from every platform that offers
    deletion (replies and first comment first). 204 once nothing is left live anywhere; otherwise
    409 naming each target still live and why (a platform without deletion: delete it there), and
    the post stays, its removed parts marked ``removed_at``: sending DELETE again tries again.
    An imported post (``origin: imported``, published outside Postwright) is only removed here:
    it stays on its platform."""
    principal = principal_of(request)
    outcome = services.post_delete(actor=principal.actor, post=_get(principal, post_id))
    if outcome.deleted:
        return HttpResponse(status=204)
    errors = [
        {"field": f"targets[{target_id}]", "message": why, "code": "kept"} for target_id, why in outcome.kept.items()
    ]
    detail = f"Deleted {outcome.removed_parts} part(s) from the platforms; some of the post is still live."
    raise ApiError(409, detail, errors=errors)


@router.put("/{post_id}", response={200: PostOut, ERRORS: ProblemOut}, summary="Replace a post's content and time")
def update_post(request: HttpRequest, post_id: Id, data: PostUpdateIn) -> HttpResponse:
    principal = principal_of(request)
    post = _get(principal, post_id)
    _tenant_allowed(principal, data.tenant_id)
    post_input, origin = _input(data)
    try:
        post = services.post_update(actor=principal.actor, post=post, data=post_input)
    except ValidationError as exc:
        return service_error(request, exc, _renames(origin, _when_field(data)))
    return _json(200, post, principal)


@router.post("/{post_id}/reschedule", response={200: PostOut, ERRORS: ProblemOut}, summary="Move what has not gone out")
def reschedule_post(request: HttpRequest, post_id: Id, data: RescheduleIn) -> HttpResponse:
    principal = principal_of(request)
    post = _get(principal, post_id)
    try:
        if data.queue:
            post = services.post_queue(actor=principal.actor, post=post)
        else:
            post = services.post_reschedule(actor=principal.actor, post=post, at=data.scheduled_at)
    except ValidationError as exc:
        return service_error(request, exc, [(re.compile(r"^(at|when)$"), "queue" if data.queue else "scheduled_at")])
    return _json(200, post, principal)


@router.post("/{post_id}/cancel", response={200: PostOut, ERRORS: ProblemOut}, summary="Cancel what has not gone out")
def cancel_post(request: HttpRequest, post_id: Id) -> HttpResponse:
    principal = principal_of(request)
    post = services.post_cancel(actor=principal.actor, post=_get(principal, post_id))
    return _json(200, post, principal)


@router.post("/{post_id}/retry", response={200: PostOut, ERRORS: ProblemOut}, summary="Retry the failed parts")
def retry_post(request: HttpRequest, post_id: Id) -> HttpResponse:
    """Every failed target (and every unknown one whose check has finished) is sent again from its
    first part that did not land; parts that landed are never sent twice."""
    principal = principal_of(request)
    post = _get(principal, post_id)
    retryable = [t for t in post.targets.all() if t.status in (Target.Status.FAILED, Target.Status.UNKNOWN)]
    if not retryable:
        raise ApiError(409, "Nothing to retry: no target of this post has failed.")
    with transaction.atomic():  # all of them or none: a refusal leaves the post as it was
        for target in retryable:
            services.target_retry(actor=principal.actor, target=target)
    return _json(200, post, principal)
