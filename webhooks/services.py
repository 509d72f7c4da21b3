"""Webhook endpoints and deliveries as services: the dashboard calls these, and the REST API's
``webhooks`` and ``hooks`` resources call the same ones. Each takes the actor and checks it itself."""

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.audit import audit
from accounts.models import Membership
from accounts.plans import plan_require_room
from accounts.roles import Capability
from connections import http
from events.models import Event, new_event_id
from webhooks import sender
from webhooks.catalogue import INTERNAL, PUBLIC_TYPES, TEST_TYPE, example_message, iso, public_message
from webhooks.models import Delivery, Endpoint
from webhooks.signing import secret_new

ROTATION_OVERLAP = timedelta(hours=24)  # both secrets sign for this long after a rotation
MAX_ENDPOINTS = 20  # per workspace, whatever the plan allows (a plan may allow fewer)


def _admin(who: Actor | Membership) -> Actor:
    actor = as_actor(who)
    actor.require(Capability.MANAGE_SETTINGS, "Only owners and admins can manage webhooks.")
    return actor


def _own(actor: Actor, endpoint: Endpoint) -> None:
    # Views fetch through the requester's workspace already; the API and tasks may not.
    if endpoint.workspace_id != actor.workspace.pk:
        raise Endpoint.DoesNotExist("No such webhook endpoint in this workspace.")


def endpoint_url_check(url: str) -> str:
    """A URL the sender may post to: http(s), no credentials in it, and in production https to a
    public address (checked again at every send: DNS may change after this)."""
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Enter the URL that should receive the webhooks."})
    if len(url) > Endpoint._meta.get_field("url").max_length:
        raise ValidationError({"url": "That URL is too long (2,000 characters at most)."})
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValidationError({"url": "That is not a valid URL."}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Enter a full URL starting with https://."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Leave credentials out of the URL: every delivery is signed instead."})
    if parts.fragment:
        raise ValidationError({"url": "A webhook URL cannot have a #fragment."})
    try:
        http.check_public_url(url)
    except http.UnsafeURL as exc:
        raise ValidationError({"url": f"That URL cannot receive webhooks: {exc}."}) from None
    return url


def event_types_check(event_types: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(event_types or []))
    unknown = [name for name in chosen if name not in PUBLIC_TYPES]
    if unknown:
        raise ValidationError({"event_types": f"Unknown event type: {', '.join(unknown)}."})
    return chosen


def endpoint_create(
    *, actor: Actor | Membership, url: str, event_types: list[str] | None = None, description: str = "",
    rest_hook: bool = False,
) -> tuple[Endpoint, str]:  # fmt: skip
    """A new endpoint and its signing secret, which is returned this once and never again.
    ``rest_hook``: a Zapier or Make subscription (exactly one event type)."""
    actor = _admin(actor)
    url, chosen = endpoint_url_check(url), event_types_check(event_types)
    if rest_hook and len(chosen) != 1:
        raise ValidationError({"event": "A REST hook subscribes to exactly one event type."})
    used = Endpoint.objects.filter(workspace=actor.workspace).count()
    plan_require_room(workspace=actor.workspace, limit="webhook_endpoints", used=used, field="url")
    if used >= MAX_ENDPOINTS:
        raise ValidationError(f"A workspace can have {MAX_ENDPOINTS} webhook endpoints at most.")
    secret = secret_new()
    endpoint = Endpoint.objects.create(
        workspace=actor.workspace, url=url, event_types=chosen, description=description.strip()[:200],
        secret=secret, created_by=actor.user, rest_hook=rest_hook,
    )  # fmt: skip
    audit("webhook.created", actor=actor, obj=endpoint, label=url, details={"event_types": chosen})
    return endpoint, secret


def event_samples(*, actor: Actor | Membership, event_type: str, limit: int = 3) -> list[dict[str, Any]]:
    """What a subscriber of ``event_type`` would have received lately, newest first, as the
    payloads delivered (plus the ``id`` the webhook-id header carries): what Zapier and Make call
    "perform list". A workspace with none yet gets one example, so a zap can be built at once."""
    actor = as_actor(actor)
    actor.require(Capability.VIEW, "Only members can see events.")
    if event_type not in PUBLIC_TYPES:
        raise ValidationError({"event_type": f"Unknown event type: {event_type}."})
    internal = [name for name, mapping in INTERNAL.items() if mapping.public_type == event_type]
    recent = Event.objects.filter(workspace=actor.workspace, type__in=internal).order_by("-seq")[:limit]
    samples = []
    for event in recent:
        message = public_message(event)
        if message is not None:
            samples.append({"id": event.public_id, **message[1]})
    return samples or [example_message(event_type)]


def endpoint_get(*, actor: Actor | Membership, endpoint_id: int) -> Endpoint:
    actor = _admin(actor)
    return Endpoint.objects.get(workspace=actor.workspace, pk=endpoint_id)


def endpoints_list(*, actor: Actor | Membership) -> QuerySet[Endpoint]:
    actor = _admin(actor)
    return Endpoint.objects.filter(workspace=actor.workspace)


def endpoint_update(
    *,
    actor: Actor | Membership,
    endpoint: Endpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Endpoint:
    """Change what is given; ``enabled=True`` turns a disabled endpoint back on (its failure
    count starts again), ``enabled=False`` pauses it."""
    actor = _admin(actor)
    _own(actor, endpoint)
    if url is not None:
        endpoint.url = endpoint_url_check(url)
    if event_types is not None:
        endpoint.event_types = event_types_check(event_types)
    if description is not None:
        endpoint.description = description.strip()[:200]
    if enabled is True and not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = True, "", None
        endpoint.failure_streak, endpoint.failing_since = 0, None
    endpoint.save()
    if enabled is False and endpoint.enabled:
        sender.endpoint_disable(endpoint=endpoint, reason=f"Paused by {actor.label or 'an admin'}.")
        endpoint.refresh_from_db()
    audit("webhook.updated", actor=actor, obj=endpoint, label=endpoint.url,
          details={"event_types": endpoint.event_types, "enabled": endpoint.enabled})  # fmt: skip
    return endpoint


def endpoint_delete(*, actor: Actor | Membership, endpoint: Endpoint) -> None:
    actor = _admin(actor)
    _own(actor, endpoint)
    audit("webhook.deleted", actor=actor, obj=endpoint, label=endpoint.url)
    endpoint.delete()  # its deliveries go with it


def endpoint_rotate_secret(*, actor: Actor | Membership, endpoint: Endpoint) -> str:
    """A new secret, returned this once; the current one keeps signing for 24 hours beside it."""
    actor = _admin(actor)
    _own(actor, endpoint)
    secret = secret_new()
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret, locked.secret = locked.secret, secret
        locked.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        audit("webhook.secret_rotated", actor=actor, obj=endpoint, label=endpoint.url)
    endpoint.refresh_from_db()
    return secret


def endpoint_send_test(*, actor: Actor | Membership, endpoint: Endpoint) -> Delivery:
    """Send a ``webhook.test`` event now (in this request) and return its delivery with the attempt."""
    actor = _admin(actor)
    _own(actor, endpoint)
    if not endpoint.enabled:
        raise ValidationError("Enable the endpoint first: a disabled endpoint receives nothing.")
    now = timezone.now()
    message_id = new_event_id()
    payload = {"type": TEST_TYPE, "timestamp": iso(now), "data": {"endpoint_id": endpoint.pk, "message_id": message_id}}
    delivery = Delivery.objects.create(
        workspace=actor.workspace, endpoint=endpoint, event=None, message_id=message_id, event_type=TEST_TYPE,
        body=sender.message_body(payload), next_attempt_at=now, created_at=now,
    )  # fmt: skip
    sender.deliveries_send(sender.deliveries_claim(ids=[delivery.pk], limit=1))
    delivery.refresh_from_db()
    return delivery


def deliveries_list(
    *,
    actor: Actor | Membership,
    endpoint: Endpoint | None = None,
    status: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> QuerySet[Delivery]:
    """Newest first, in the actor's workspace only; ``before_id`` pages on (the API's cursor)."""
    actor = _admin(actor)
    deliveries = Delivery.objects.filter(workspace=actor.workspace)
    if endpoint is not None:
        _own(actor, endpoint)
        deliveries = deliveries.filter(endpoint=endpoint)
    if status:
        if status not in Delivery.Status.values:
            raise ValidationError({"status": f"Unknown delivery status {status!r}."})
        deliveries = deliveries.filter(status=status)
    if since is not None:
        deliveries = deliveries.filter(created_at__gte=since)
    if before_id is not None:
        deliveries = deliveries.filter(pk__lt=before_id).order_by("-id")
    return deliveries.select_related("endpoint")[: max(1, min(limit, 500))]


def delivery_get(*, actor: Actor | Membership, delivery_id: int) -> Delivery:
    actor = _admin(actor)
    return Delivery.objects.select_related("endpoint").get(workspace=actor.workspace, pk=delivery_id)


def _requeue(deliveries: QuerySet[Delivery]) -> int:
    # Same row, same body, same webhook-id: a receiver that did get it the first time can tell.
    return deliveries.update(
        status=Delivery.Status.PENDING, schedule_step=0, next_attempt_at=timezone.now(), claim_token=""
    )


def delivery_replay(*, actor: Actor | Membership, delivery: Delivery) -> Delivery:
    """Send a delivery again from the start of the retry schedule (any status but in flight)."""
    actor = _admin(actor)
    if delivery.workspace_id != actor.workspace.pk:
        raise Delivery.DoesNotExist("No such delivery in this workspace.")
    if not delivery.endpoint.enabled:
        raise ValidationError("Enable the endpoint first: a disabled endpoint receives nothing.")
    _requeue(Delivery.objects.filter(pk=delivery.pk))
    delivery.refresh_from_db()
    return delivery


def deliveries_replay_failed(*, actor: Actor | Membership, endpoint: Endpoint, since: datetime) -> int:
    """Queue again every delivery of the endpoint that gave up or is failing, made since ``since``."""
    actor = _admin(actor)
    _own(actor, endpoint)
    if not endpoint.enabled:
        raise ValidationError("Enable the endpoint first: a disabled endpoint receives nothing.")
    failed = Delivery.objects.filter(
        endpoint=endpoint, status__in=[Delivery.Status.FAILED, Delivery.Status.GAVE_UP], created_at__gte=since
    )
    return _requeue(failed)


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Delete finished delivery logs older than WEBHOOK_DELIVERY_RETENTION_DAYS; the retention
    job calls this. Deliveries still retrying are kept whatever their age."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    finished = [Delivery.Status.SUCCEEDED, Delivery.Status.GAVE_UP]
    deleted, _ = Delivery.objects.filter(created_at__lt=cutoff, status__in=finished).delete()
    return deleted
