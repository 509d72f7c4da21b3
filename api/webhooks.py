"""/webhooks: the workspace's endpoints, their deliveries and replays, through webhooks.services
(the Settings → Webhooks page's services). Managing webhooks is an admin's: read keys get 403.

The signing secret is answered twice only: when the endpoint is created and when it is rotated.
After a rotation both secrets sign every delivery for 24 hours (two ``v1,`` signatures)."""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime, ConfigDict

from api.auth import principal_of
from api.idempotency import idempotent
from api.pages import PageQuery, cursor_decode, cursor_encode
from api.schemas import ERRORS, READ_ERRORS, Id, ProblemOut, Text
from config.converters import BIGINT_MAX
from webhooks import services
from webhooks.catalogue import PUBLIC_TYPES
from webhooks.models import Delivery, Endpoint

router = Router(tags=["webhooks"])
EventType = Literal[tuple(PUBLIC_TYPES)]  # type: ignore[valid-type]


class WebhookIn(Schema):
    model_config = ConfigDict(extra="forbid")
    url: Text = Field(max_length=2000, description="https in production; private addresses are refused.")
    event_types: list[EventType] = Field(default_factory=list, description="Empty: every event type.")
    description: Text = Field("", max_length=200)


class WebhookPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    url: Text | None = Field(None, max_length=2000)
    event_types: list[EventType] | None = None
    description: Text | None = Field(None, max_length=200)
    enabled: bool | None = Field(None, description="false pauses it; true enables it again.")


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(description="Until then the old secret signs too.")
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    signing_secret: str = Field(description="whsec_…: shown this once. Verify deliveries with it.")


class RotatedOut(Schema):
    signing_secret: str = Field(description="The new secret, shown this once.")
    webhook: WebhookOut


class WebhookList(Schema):
    data: list[WebhookOut]


class AttemptOut(Schema):
    at: str
    status_code: int | None = Field(description="The receiver's HTTP status; null when none came back.")
    duration_ms: int
    response_excerpt: str = Field(description="The first 500 characters of the answer.")
    error: str


class DeliveryOut(Schema):
    id: int
    webhook_id: int
    message_id: str = Field(description="The webhook-id header: the same on every retry and replay.")
    event_type: str
    status: str = Field(description="pending, failed (will retry), succeeded or gave_up.")
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: list[AttemptOut]


class DeliveryPage(Schema):
    data: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilters(PageQuery):
    status: Literal[tuple(Delivery.Status.values)] | None = None  # type: ignore[valid-type]
    since: AwareDatetime | None = None


class ReplayFailedIn(Schema):
    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime = Field(description="Failed and given-up deliveries made since then are sent again.")


class ReplayedOut(Schema):
    queued: int


class EventTypeOut(Schema):
    type: str
    description: str


def webhook_out(endpoint: Endpoint) -> dict[str, Any]:
    fields = ("id", "url", "description", "event_types", "enabled", "disabled_reason", "disabled_at",
              "previous_secret_expires_at", "created_at", "updated_at")  # fmt: skip
    return {f: getattr(endpoint, f) for f in fields}


def delivery_out(delivery: Delivery) -> dict[str, Any]:
    attempts = [
        {"at": a.get("at", ""), "status_code": a.get("status"), "duration_ms": a.get("ms", 0),
         "response_excerpt": a.get("excerpt", ""), "error": a.get("error", "")}
        for a in delivery.attempts
    ]  # fmt: skip
    return {"id": delivery.pk, "webhook_id": delivery.endpoint_id, "message_id": delivery.message_id,
            "event_type": delivery.event_type, "status": delivery.status,
            "attempt_count": delivery.attempt_count, "next_attempt_at": delivery.next_attempt_at,
            "created_at": delivery.created_at, "attempts": attempts}  # fmt: skip


def _endpoint(request: HttpRequest, webhook_id: int) -> Endpoint:
    return services.endpoint_get(actor=principal_of(request).actor, endpoint_id=webhook_id)


@router.get("/event-types", response={200: list[EventTypeOut], READ_ERRORS: ProblemOut}, summary="Event types")
def event_types(request: HttpRequest) -> list[dict]:
    return [{"type": name, "description": text} for name, text in PUBLIC_TYPES.items()]


@router.post("", response={201: WebhookCreated, ERRORS: ProblemOut}, summary="Add a webhook endpoint")
def create_webhook(request: HttpRequest, data: WebhookIn) -> HttpResponse:
    principal = principal_of(request)

    def run() -> HttpResponse:
        endpoint, secret = services.endpoint_create(
            actor=principal.actor, url=data.url, event_types=list(data.event_types), description=data.description
        )
        body = WebhookCreated.model_validate({**webhook_out(endpoint), "signing_secret": secret})
        response = JsonResponse(body.model_dump(mode="json"), status=201)
        response["Location"] = f"/api/v1/webhooks/{endpoint.pk}"
        return response

    return idempotent(request, principal, run)


@router.get("", response={200: WebhookList, READ_ERRORS | {403}: ProblemOut}, summary="List webhook endpoints")
def list_webhooks(request: HttpRequest) -> dict:
    return {"data": [webhook_out(e) for e in services.endpoints_list(actor=principal_of(request).actor)]}


@router.get("/{webhook_id}", response={200: WebhookOut, READ_ERRORS | {403}: ProblemOut}, summary="Get an endpoint")
def get_webhook(request: HttpRequest, webhook_id: Id) -> dict:
    return webhook_out(_endpoint(request, webhook_id))


@router.patch("/{webhook_id}", response={200: WebhookOut, ERRORS: ProblemOut}, summary="Change URL, events, state")
def update_webhook(request: HttpRequest, webhook_id: Id, data: WebhookPatch) -> dict:
    endpoint = services.endpoint_update(
        actor=principal_of(request).actor, endpoint=_endpoint(request, webhook_id),
        url=data.url,
        event_types=list(data.event_types) if data.event_types is not None else None,
        description=data.description, enabled=data.enabled,
    )  # fmt: skip
    return webhook_out(endpoint)


@router.delete("/{webhook_id}", response={204: None, ERRORS: ProblemOut}, summary="Delete an endpoint")
def delete_webhook(request: HttpRequest, webhook_id: Id) -> HttpResponse:
    services.endpoint_delete(actor=principal_of(request).actor, endpoint=_endpoint(request, webhook_id))
    return HttpResponse(status=204)


@router.post("/{webhook_id}/rotate-secret", response={200: RotatedOut, ERRORS: ProblemOut}, summary="Rotate the secret")
def rotate_secret(request: HttpRequest, webhook_id: Id) -> dict:
    endpoint = _endpoint(request, webhook_id)
    secret = services.endpoint_rotate_secret(actor=principal_of(request).actor, endpoint=endpoint)
    return {"signing_secret": secret, "webhook": webhook_out(endpoint)}


@router.post("/{webhook_id}/test", response={200: DeliveryOut, ERRORS: ProblemOut}, summary="Send a test event now")
def send_test(request: HttpRequest, webhook_id: Id) -> dict:
    """Sends ``webhook.test`` at once, in this request, and answers with the attempt's outcome."""
    endpoint = _endpoint(request, webhook_id)
    return delivery_out(services.endpoint_send_test(actor=principal_of(request).actor, endpoint=endpoint))


@router.get("/{webhook_id}/deliveries", response={200: DeliveryPage, READ_ERRORS | {403}: ProblemOut},
            summary="Recent deliveries with every attempt")  # fmt: skip
def list_deliveries(request: HttpRequest, webhook_id: Id, filters: Query[DeliveryFilters]) -> dict:
    endpoint = _endpoint(request, webhook_id)
    before = cursor_decode(filters.cursor) if filters.cursor else BIGINT_MAX
    rows = list(services.deliveries_list(actor=principal_of(request).actor, endpoint=endpoint, status=filters.status,
                                         since=filters.since, before_id=before, limit=filters.limit + 1))  # fmt: skip
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {"data": [delivery_out(d) for d in rows], "next_cursor": cursor_encode(rows[-1].pk) if more else None}


@router.post("/{webhook_id}/deliveries/{delivery_id}/replay", response={200: DeliveryOut, ERRORS: ProblemOut},
             summary="Send one delivery again")  # fmt: skip
def replay_delivery(request: HttpRequest, webhook_id: Id, delivery_id: Id) -> dict:
    """The same body and webhook-id, from the start of the retry schedule (the sender sends it)."""
    principal = principal_of(request)
    endpoint = _endpoint(request, webhook_id)
    delivery = services.delivery_get(actor=principal.actor, delivery_id=delivery_id)
    if delivery.endpoint_id != endpoint.pk:
        raise Delivery.DoesNotExist
    return delivery_out(services.delivery_replay(actor=principal.actor, delivery=delivery))


@router.post("/{webhook_id}/replay-failed", response={200: ReplayedOut, ERRORS: ProblemOut},
             summary="Send again every failed delivery since a time")  # fmt: skip
def replay_failed(request: HttpRequest, webhook_id: Id, data: ReplayFailedIn) -> dict:
    endpoint = _endpoint(request, webhook_id)
    queued = services.deliveries_replay_failed(actor=principal_of(request).actor, endpoint=endpoint, since=data.since)
    return {"queued": queued}
