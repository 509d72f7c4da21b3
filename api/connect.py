"""Connecting a developer's end users' accounts: the consent URL, the pending selection, and the
credential-form platforms. All of it is connections.services, as the Accounts page runs it.

1. ``POST /connect/{platform}/auth-url`` with ``redirect_uri`` and ``tenant_id``: the platform's
   consent URL to send the user to.
2. After consent, the callback sends the user to ``redirect_uri`` with ``status=connected&account_id=…``,
   ``status=pending&session=…`` (several accounts to choose from) or ``status=error&message=…``.
3. ``GET /social-accounts/pending/{session}`` lists the choices; ``…/finalize`` with
   ``selectedPageIds`` connects the chosen ones.
Credential platforms (Bluesky's handle and app password) connect in one ``POST /connect/{platform}``.
"""

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from api.auth import principal_of
from api.idempotency import idempotent
from api.keys import Principal
from api.problems import ApiError, provider_error_code
from api.schemas import ERRORS, READ_ERRORS, Id, PlatformId, ProblemOut, Text
from api.social_accounts import SocialAccountOut, account_get, account_out
from connections import services
from connections.errors import ConnectError, ProviderError
from connections.forms import normalise_server_url
from connections.models import ConnectSession, connect_session_expiry
from connections.providers.base import ConnectMethod, Provider
from connections.registry import get_provider

router = Router(tags=["connect"])
CONNECT_ERRORS = ERRORS | {424}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class AuthUrlIn(Schema):
    model_config = ConfigDict(extra="forbid")
    redirect_uri: Text = Field(max_length=2000, description="Where the user lands after consent (https).")
    tenant_id: Text = Field("", max_length=255, description="Your own id for the user; set on the accounts.")
    instance: Text = Field("", max_length=255, description="Federated platforms only: the user's server.")


class AuthUrlOut(Schema):
    auth_url: str = Field(description="Send the user's browser here.")
    expires_at: datetime = Field(description="The attempt must finish before this.")


class CredentialsIn(Schema):
    model_config = ConfigDict(extra="forbid")
    tenant_id: Text = Field("", max_length=255)
    credentials: dict[Text, Text] = Field(description="The platform's connect form, e.g. identifier and app_password.")


class ChoiceOut(Schema):
    id: str = Field(description="Pass in selectedPageIds.")
    username: str
    display_name: str
    avatar_url: str
    profile_url: str
    type: str


class PendingOut(Schema):
    session: int
    platform: str
    tenant_id: str
    expires_at: datetime
    choices: list[ChoiceOut]


class FinalizeIn(Schema):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    selected_page_ids: list[Text] = Field(alias="selectedPageIds", min_length=1, max_length=100)


class AccountList(Schema):
    data: list[SocialAccountOut]


def redirect_uri_check(value: str) -> str:
    """An https URL of the developer's (http only on loopback while DEBUG is on, for local
    development); no credentials, no fragment. It only ever receives a status and ids."""
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    local = parts.scheme == "http" and (host in LOOPBACK_HOSTS or host.startswith("127.")) and settings.DEBUG
    problem = ""
    if not host or not (parts.scheme == "https" or local):
        problem = "Give an https URL (http works only on localhost while DEBUG is on)."
    elif parts.username or parts.password or parts.fragment:
        problem = "The redirect_uri cannot carry credentials or a #fragment."
    if problem:
        raise ApiError(422, problem, errors=[{"field": "redirect_uri", "message": problem, "code": "invalid"}])
    return value.strip()


def _provider(platform: str) -> Provider:
    try:
        return get_provider(platform)
    except KeyError:
        raise ApiError(404, f"No platform {platform!r} is offered here.") from None


def _tenant(principal: Principal, tenant_id: str) -> str:
    if not principal.sees_tenant(tenant_id):
        raise ApiError(403, "This API key only connects accounts for the tenant ids it is restricted to.")
    return tenant_id


def _refused(platform: str, exc: ConnectError | ProviderError) -> ApiError:
    if isinstance(exc, ProviderError):
        headers = {"Retry-After": str(int(exc.retry_after or 30))} if exc.retryable else None
        return ApiError(424, exc.message, code=provider_error_code(platform, exc), headers=headers)
    return ApiError(422, str(exc), errors=[{"field": "platform", "message": str(exc), "code": "refused"}])


@router.post("/connect/{platform}/auth-url", response={200: AuthUrlOut, CONNECT_ERRORS: ProblemOut},
             summary="Start connecting: the platform's consent URL")  # fmt: skip
def auth_url(request: HttpRequest, platform: PlatformId, data: AuthUrlIn) -> HttpResponse:
    principal = principal_of(request)
    provider = _provider(platform)
    return_to = redirect_uri_check(data.redirect_uri)
    tenant_id = _tenant(principal, data.tenant_id)
    if not provider.offers_consent():
        raise ApiError(422, f"{provider.name} connects with credentials: POST /api/v1/connect/{platform}.")
    instance = _instance(provider, data.instance)

    def run() -> HttpResponse:
        expires_at = connect_session_expiry()  # computed first: never later than the session's own
        try:
            url = services.connect_start(actor=principal.actor, provider=provider, instance_url=instance,
                                         tenant_id=tenant_id, return_to=return_to)  # fmt: skip
        except (ConnectError, ProviderError) as exc:
            raise _refused(platform, exc) from None
        body = AuthUrlOut(auth_url=url, expires_at=expires_at).model_dump(mode="json")
        return JsonResponse(body)

    return idempotent(request, principal, run)


def _instance(provider: Provider, instance: str) -> str:
    if not provider.asks_for_instance:
        return ""
    try:
        return normalise_server_url(instance, example=provider.instance_example)
    except forms.ValidationError as exc:
        message = exc.messages[0]
        raise ApiError(422, message, errors=[{"field": "instance", "message": message, "code": "invalid"}]) from None


@router.post("/connect/{platform}", response={201: SocialAccountOut, CONNECT_ERRORS: ProblemOut},
             summary="Connect a credential-form platform (Bluesky's app password)")  # fmt: skip
def connect_with_credentials(request: HttpRequest, platform: PlatformId, data: CredentialsIn) -> HttpResponse:
    principal = principal_of(request)
    provider = _provider(platform)
    tenant_id = _tenant(principal, data.tenant_id)
    if provider.connect_method == ConnectMethod.OAUTH2:
        raise ApiError(422, f"{provider.name} connects through its consent page: POST …/connect/{platform}/auth-url.")

    def run() -> HttpResponse:
        cleaned = _credentials(provider, data.credentials)
        try:
            account = services.connect_with_form(actor=principal.actor, provider=provider, data=cleaned,
                                                 tenant_id=tenant_id)  # fmt: skip
        except ConnectError as exc:
            raise _refused(platform, exc) from None
        body = SocialAccountOut.model_validate(account_out(account_get(principal, account.pk))).model_dump(mode="json")
        return JsonResponse(body, status=201)

    return idempotent(request, principal, run)


def _credentials(provider: Provider, credentials: dict[str, str]) -> dict[str, Any]:
    """The platform's own connect form validates them, exactly as on the dashboard."""
    form_class = provider.connect_form_class()
    if form_class is None:
        return {}
    form = form_class(data=credentials)
    if form.is_valid():
        return dict(form.cleaned_data)
    errors = [{"field": f"credentials.{name}", "message": str(message), "code": "invalid"}
              for name, messages in form.errors.items() for message in messages]  # fmt: skip
    raise ApiError(422, errors[0]["message"] if len(errors) == 1 else "The credentials have problems; see errors.",
                   errors=errors)  # fmt: skip


def _pending(principal: Principal, session_id: int) -> ConnectSession:
    """The key's own attempt (another key's, or a member's, is 404), still waiting for a choice."""
    session = ConnectSession.objects.select_related("workspace").get(
        pk=session_id, workspace=principal.actor.workspace, api_key_id=principal.key.pk
    )
    if session.status != ConnectSession.Status.SELECTING or session.expired:
        raise ApiError(409, "This selection has finished or expired. Start the connection again.")
    return session


def _choice(profile: dict[str, Any]) -> dict[str, Any]:
    fields = ("username", "display_name", "avatar_url", "profile_url", "type")
    return {"id": profile["external_id"], **{f: profile.get(f) or "" for f in fields}}


@router.get("/social-accounts/pending/{session_id}", response={200: PendingOut, READ_ERRORS | {409}: ProblemOut},
            summary="The accounts a consent yielded, to choose from")  # fmt: skip
def pending(request: HttpRequest, session_id: Id) -> dict:
    session = _pending(principal_of(request), session_id)
    choices = [_choice(p) for p in services.pending_choices(session)]
    return {"session": session.pk, "platform": session.platform, "tenant_id": session.tenant_id,
            "expires_at": session.expires_at, "choices": choices}  # fmt: skip


@router.post("/social-accounts/pending/{session_id}/finalize", response={201: AccountList, ERRORS: ProblemOut},
             summary="Connect the chosen accounts")  # fmt: skip
def finalize(request: HttpRequest, session_id: Id, data: FinalizeIn) -> HttpResponse:
    principal = principal_of(request)
    session = _pending(principal, session_id)
    offered = {choice["external_id"] for choice in services.pending_choices(session)}
    unknown = [i for i in data.selected_page_ids if i not in offered]
    if unknown:
        message = f"Not among this consent's accounts: {', '.join(unknown[:5])}."
        raise ApiError(422, message, errors=[{"field": "selectedPageIds", "message": message, "code": "unknown"}])
    try:
        accounts = services.connect_select(actor=principal.actor, session=session, external_ids=data.selected_page_ids)
    except ConnectError as exc:
        raise ApiError(409, str(exc)) from None
    rows = [account_out(account_get(principal, a.pk)) for a in accounts]
    return JsonResponse(AccountList.model_validate({"data": rows}).model_dump(mode="json"), status=201)
