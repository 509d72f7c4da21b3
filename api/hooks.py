"""/hooks: REST hooks for Zapier and Make. A subscription is a webhook endpoint of one event type
(webhooks.services, so deliveries, retries, signatures and plan limits are the same); the
integration deletes it to unsubscribe, and reads ``/hooks/samples/{event_type}`` ("perform list")
to show sample data while a flow is being built."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from api.auth import principal_of
from api.idempotency import idempotent
from api.schemas import ERRORS, READ_ERRORS, Id, ProblemOut, Text
from webhooks import services
from webhooks.models import Endpoint

router = Router(tags=["hooks"])


class HookIn(Schema):
    model_config = ConfigDict(extra="forbid")
    target_url: Text = Field(max_length=2000, description="Zapier's or Make's URL for this subscription.")
    event: Text = Field(max_length=64, description="One event type, e.g. post.published.")


class HookOut(Schema):
    id: int = Field(description="Keep it: DELETE /hooks/{id} unsubscribes.")
    event: str
    target_url: str
    created_at: datetime


class HookCreated(HookOut):
    signing_secret: str = Field(description="Deliveries are signed like every webhook; shown this once.")


class SampleOut(Schema):
    id: str = Field(description="The event's id (the webhook-id header of its delivery).")
    type: str
    timestamp: str
    data: dict[str, Any]


def _out(endpoint: Endpoint) -> dict[str, Any]:
    event = endpoint.event_types[0] if endpoint.event_types else ""
    return {"id": endpoint.pk, "event": event, "target_url": endpoint.url, "created_at": endpoint.created_at}


@router.post("", response={201: HookCreated, ERRORS: ProblemOut}, summary="Subscribe (Zapier/Make REST hook)")
def subscribe(request: HttpRequest, data: HookIn) -> HttpResponse:
    principal = principal_of(request)

    def run() -> HttpResponse:
        try:
            endpoint, secret = services.endpoint_create(
                actor=principal.actor, url=data.target_url, event_types=[data.event], rest_hook=True,
                description=f"REST hook: {data.event}",
            )  # fmt: skip
        except ValidationError as exc:
            raise _renamed(exc) from None
        body = HookCreated.model_validate({**_out(endpoint), "signing_secret": secret}).model_dump(mode="json")
        return JsonResponse(body, status=201)

    return idempotent(request, principal, run)


def _renamed(exc: ValidationError) -> ValidationError:
    """The services' field names (url, event_types) in the hook's (target_url, event)."""
    if not hasattr(exc, "error_dict"):
        return exc
    names = {"url": "target_url", "event_types": "event"}
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


@router.get("", response={200: list[HookOut], READ_ERRORS | {403}: ProblemOut}, summary="List REST hook subscriptions")
def list_hooks(request: HttpRequest) -> list[dict]:
    return [_out(e) for e in services.endpoints_list(actor=principal_of(request).actor).filter(rest_hook=True)]


@router.delete("/{hook_id}", response={204: None, ERRORS: ProblemOut}, summary="Unsubscribe")
def unsubscribe(request: HttpRequest, hook_id: Id) -> HttpResponse:
    principal = principal_of(request)
    endpoint = services.endpoints_list(actor=principal.actor).get(pk=hook_id, rest_hook=True)
    services.endpoint_delete(actor=principal.actor, endpoint=endpoint)
    return HttpResponse(status=204)


@router.get("/samples/{event_type}", response={200: list[SampleOut], READ_ERRORS: ProblemOut},
            summary="Sample events of a type (perform list)")  # fmt: skip
def samples(request: HttpRequest, event_type: str) -> list[dict]:
    """The last three events of that type in this workspace, as they were delivered; one made-up
    example (id ``evt_example``) when there are none yet."""
    return services.event_samples(actor=principal_of(request).actor, event_type=event_type[:64])
