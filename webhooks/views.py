"""The webhooks page (workspace settings, owners and admins): endpoints, their secret shown once,
recent deliveries with each attempt, replay and a test event. Every action calls a service."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import get_workspace_object_and_membership_or_404, workspace_required
from accounts.models import Membership
from accounts.roles import Capability
from webhooks import services
from webhooks.forms import EndpointForm, ReplayForm
from webhooks.models import Delivery, Endpoint
from webhooks.signing import secret_hint

RECENT = 25


def _first_error(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You cannot do that."


def _endpoint(request: HttpRequest, endpoint_id: int) -> tuple[Endpoint, Membership]:
    return get_workspace_object_and_membership_or_404(
        request, Endpoint, capability=Capability.MANAGE_SETTINGS, pk=endpoint_id
    )


@workspace_required(Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(actor=request.membership, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return _detail(request, endpoint, request.membership, secret=secret, status=201)
    endpoints = services.endpoints_list(actor=request.membership)
    context = {"form": form, "endpoints": endpoints}
    return render(request, "webhooks/list.html", context, status=400 if form.errors else 200)


def _add_errors(form: EndpointForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _detail(
    request: HttpRequest, endpoint: Endpoint, membership: Membership, *, secret: str = "", form=None, status: int = 200
) -> HttpResponse:
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    context = {
        "endpoint": endpoint,
        "secret": secret,  # only right after create or rotate; never read back from storage
        "secret_hint": secret_hint(endpoint.secret),
        "rotating": endpoint.signing_secrets() != [endpoint.secret],
        "form": form or EndpointForm(initial=initial),
        "replay_form": ReplayForm(),
        "deliveries": services.deliveries_list(actor=membership, endpoint=endpoint, limit=RECENT),
    }
    return render(request, "webhooks/detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership = _endpoint(request, endpoint_id)
    if request.method == "GET":
        return _detail(request, endpoint, membership)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_update(actor=membership, endpoint=endpoint, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Webhook endpoint saved.")
            return redirect("webhook_detail", endpoint.pk)
    endpoint.refresh_from_db()
    return _detail(request, endpoint, membership, form=form, status=400)


@require_GET
def webhook_deliveries(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership = _endpoint(request, endpoint_id)
    deliveries = services.deliveries_list(actor=membership, endpoint=endpoint, limit=RECENT)
    return render(request, "webhooks/partials/deliveries.html", {"endpoint": endpoint, "deliveries": deliveries})


def _back(request: HttpRequest, endpoint: Endpoint, membership: Membership) -> HttpResponse:
    """HTMX gets the refreshed deliveries table; a plain form post goes back to the page."""
    if request.htmx:
        return webhook_deliveries_partial(request, endpoint, membership)
    return redirect("webhook_detail", endpoint.pk)


def webhook_deliveries_partial(request: HttpRequest, endpoint: Endpoint, membership: Membership) -> HttpResponse:
    deliveries = services.deliveries_list(actor=membership, endpoint=endpoint, limit=RECENT)
    return render(request, "webhooks/partials/deliveries.html", {"endpoint": endpoint, "deliveries": deliveries})


@require_POST
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership = _endpoint(request, endpoint_id)
    try:
        delivery = services.endpoint_send_test(actor=membership, endpoint=endpoint)
    except ValidationError as exc:
        messages.error(request, _first_error(exc))
    else:
        _tell_test_outcome(request, delivery)
    return _back(request, endpoint, membership)


def _tell_test_outcome(request: HttpRequest, delivery: Delivery) -> None:
    if delivery.status == Delivery.Status.SUCCEEDED:
        messages.success(request, "Test event delivered.")
    else:
        messages.error(request, "The test event was not accepted; see the attempt below.")


@require_POST
def webhook_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership = _endpoint(request, endpoint_id)
    secret = services.endpoint_rotate_secret(actor=membership, endpoint=endpoint)
    return _detail(request, endpoint, membership, secret=secret)


@require_POST
def webhook_toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership = _endpoint(request, endpoint_id)
    enable = not endpoint.enabled
    services.endpoint_update(actor=membership, endpoint=endpoint, enabled=enable)
    messages.success(request, "Webhook endpoint enabled." if enable else "Webhook endpoint paused.")
    return redirect("webhook_detail", endpoint.pk)


@require_POST
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership = _endpoint(request, endpoint_id)
    services.endpoint_delete(actor=membership, endpoint=endpoint)
    messages.success(request, "Webhook endpoint deleted.")
    return redirect("webhook_list")


@require_POST
def webhook_replay_failed(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint, membership = _endpoint(request, endpoint_id)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how far back to replay.")
        return _back(request, endpoint, membership)
    since = timezone.now() - timedelta(hours=form.cleaned_data["hours"])
    try:
        count = services.deliveries_replay_failed(actor=membership, endpoint=endpoint, since=since)
    except ValidationError as exc:
        messages.error(request, _first_error(exc))
    else:
        messages.success(request, f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again.")
    return _back(request, endpoint, membership)


@require_POST
def delivery_replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery, membership = get_workspace_object_and_membership_or_404(
        request, Delivery.objects.select_related("endpoint"), capability=Capability.MANAGE_SETTINGS, pk=delivery_id
    )
    try:
        services.delivery_replay(actor=membership, delivery=delivery)
    except ValidationError as exc:
        messages.error(request, _first_error(exc))
    else:
        messages.success(request, "Delivery queued again.")
    return _back(request, delivery.endpoint, membership)
