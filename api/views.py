"""The API keys page (Settings → API keys): admins create, list and revoke the workspace's keys."""

from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import get_workspace_object_and_membership_or_404, workspace_required
from accounts.actors import Actor
from accounts.roles import Capability
from api.keys import api_key_create
from api.keys import api_key_revoke as revoke
from api.models import ApiKey


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “billing backend”.")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ_WRITE)
    expires_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Optional; the last day it works."
    )
    tenant_ids = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: only these tenant ids, one per line or comma-separated.",
    )  # fmt: skip


def _expiry(day, zone) -> datetime | None:
    # The key works through the whole of its last day in the workspace's time zone.
    return None if day is None else datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def _show(form: ApiKeyForm, exc: ValidationError) -> None:
    """The service's errors beside the form's fields (it names the expiry expires_at)."""
    for name, messages in exc.message_dict.items():
        name = "expires_on" if name == "expires_at" else name
        form.add_error(name if name in form.fields else None, messages)


def _context(request: HttpRequest, form: ApiKeyForm, token: str = "") -> dict:
    keys = ApiKey.objects.filter(workspace=request.membership.workspace).select_related("created_by")
    return {"form": form, "keys": keys, "token": token}


@workspace_required(Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    token, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            tenants = data["tenant_ids"].replace(",", "\n").split("\n")
            try:
                _key, token = api_key_create(
                    actor=Actor.of(request.membership), name=data["name"], scope=data["scope"],
                    expires_at=_expiry(data["expires_on"], request.membership.workspace.tzinfo), tenant_ids=tenants,
                )  # fmt: skip
                form = ApiKeyForm()
            except ValidationError as exc:
                _show(form, exc)
        if not token:
            status = 400
    template = "api/partials/keys_panel.html" if request.htmx else "api/keys.html"
    return render(request, template, _context(request, form, token), status=status)


@workspace_required(Capability.MANAGE_SETTINGS)
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key, membership = get_workspace_object_and_membership_or_404(
        request, ApiKey, capability=Capability.MANAGE_SETTINGS, pk=key_id
    )
    key = revoke(actor=Actor.of(membership), key=key)
    if request.htmx:
        return render(request, "api/partials/key_row.html", {"key": key})
    return redirect("api_keys")
