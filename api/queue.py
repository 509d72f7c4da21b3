"""/queue: the weekly posting slots of accounts, and the next free one a set of accounts shares."""

from datetime import datetime
from datetime import time as Time

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from api.auth import principal_of
from api.idempotency import idempotent
from api.problems import ApiError
from api.schemas import ERRORS, READ_ERRORS, Id, ProblemOut
from connections.models import SocialAccount
from publishing import services
from publishing.inputs import Problem, problems_error
from publishing.models import PostingSlot
from publishing.scheduling import next_queue_slot

router = Router(tags=["queue"])


class SlotOut(Schema):
    id: int
    account_id: int
    weekday: int = Field(description="0 is Monday.")
    time: str = Field(description="HH:MM in the workspace's time zone.")


class SlotsIn(Schema):
    model_config = ConfigDict(extra="forbid")
    account_id: Id
    weekdays: list[int] = Field(min_length=1, max_length=7, description="0 is Monday, 6 is Sunday.")
    time: Time = Field(description="HH:MM in the workspace's time zone.")


class NextSlotOut(Schema):
    scheduled_at: datetime
    timezone: str


class NextSlotQuery(Schema):
    accounts: list[Id] = Field(min_length=1, max_length=100)


def _slot(slot: PostingSlot) -> dict:
    return {"id": slot.pk, "account_id": slot.account_id, "weekday": slot.weekday, "time": f"{slot.time:%H:%M}"}


def _accounts(request: HttpRequest, ids: list[int]) -> list[SocialAccount]:
    workspace = principal_of(request).actor.workspace
    accounts = list(SocialAccount.objects.filter(workspace=workspace, id__in=ids).defer("secrets"))
    if len(accounts) != len(set(ids)):
        raise ApiError(404, "No such account in this workspace.")
    return accounts


@router.get("/slots", response={200: list[SlotOut], READ_ERRORS: ProblemOut}, summary="List posting slots")
def list_slots(request: HttpRequest, account: Id | None = None) -> list[dict]:
    slots = PostingSlot.objects.filter(account__workspace=principal_of(request).actor.workspace)
    if account is not None:
        slots = slots.filter(account_id=account)
    return [_slot(s) for s in slots.order_by("account_id", "weekday", "time")]


@router.post("/slots", response={201: list[SlotOut], ERRORS: ProblemOut}, summary="Add weekly posting slots")
def add_slots(request: HttpRequest, data: SlotsIn) -> HttpResponse:
    principal = principal_of(request)

    def run() -> HttpResponse:
        account = _accounts(request, [data.account_id])[0]
        at = data.time.replace(second=0, microsecond=0, tzinfo=None)
        slots = services.posting_slot_add(actor=principal.actor, account=account, weekdays=data.weekdays, at=at)
        return JsonResponse([_slot(s) for s in slots], status=201, safe=False)

    return idempotent(request, principal, run)


@router.delete("/slots/{slot_id}", response={204: None, ERRORS: ProblemOut}, summary="Remove a posting slot")
def remove_slot(request: HttpRequest, slot_id: Id) -> HttpResponse:
    principal = principal_of(request)
    slot = PostingSlot.objects.select_related("account").get(pk=slot_id, account__workspace=principal.actor.workspace)
    services.posting_slot_remove(actor=principal.actor, slot=slot)
    return HttpResponse(status=204)


@router.get("/next-slot", response={200: NextSlotOut, READ_ERRORS: ProblemOut}, summary="The next free slot")
def next_slot(request: HttpRequest, query: Query[NextSlotQuery]) -> dict:
    """The next posting slot the accounts share that no post holds: where ``queue: true`` would go."""
    accounts = _accounts(request, query.accounts)
    zone = principal_of(request).actor.workspace.tzinfo
    try:
        moment = next_queue_slot(accounts=accounts, zone=zone)
    except ValidationError as exc:
        raise problems_error([Problem("accounts", exc.messages[0], "no_slot")]) from None
    return {"scheduled_at": moment, "timezone": zone.key}
