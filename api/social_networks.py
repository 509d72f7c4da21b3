"""/social-networks: the workspace's own OAuth apps (bring your own keys), one per platform.

Upserted by platform with PUT; the client secret is write-only: stored encrypted, never returned
(``has_client_secret`` says one is saved). The same services as the dashboard's app-keys page.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from api.auth import principal_of
from api.problems import ApiError
from api.schemas import ERRORS, READ_ERRORS, PlatformId, ProblemOut, Text
from connections import services
from connections.models import OAuthApp

router = Router(tags=["social-networks"])


class SocialNetworkIn(Schema):
    model_config = ConfigDict(extra="forbid")
    client_id: Text = Field(min_length=1, max_length=255)
    client_secret: Text = Field(
        "", max_length=2000, description="Write-only. Omit or leave empty to keep the saved one."
    )
    scopes: list[Text] = Field(default_factory=list, max_length=50, description="Empty: the platform's defaults.")


class SocialNetworkOut(Schema):
    platform: str
    client_id: str
    has_client_secret: bool
    scopes: list[str]
    redirect_uri: str = Field(description="Register this as the app's redirect (callback) URL at the platform.")
    updated_at: datetime


def _out(app: OAuthApp) -> dict[str, Any]:
    return {"platform": app.platform, "client_id": app.client_id, "has_client_secret": bool(app.client_secret),
            "scopes": app.scopes.split(), "redirect_uri": services.redirect_uri_for(app.platform),
            "updated_at": app.updated_at}  # fmt: skip


def _app(request: HttpRequest, platform: str) -> OAuthApp:
    return OAuthApp.objects.get(workspace=principal_of(request).actor.workspace, platform=platform)


@router.get("", response={200: list[SocialNetworkOut], READ_ERRORS: ProblemOut}, summary="List the workspace's apps")
def list_networks(request: HttpRequest) -> list[dict]:
    apps = OAuthApp.objects.filter(workspace=principal_of(request).actor.workspace).order_by("platform")
    return [_out(app) for app in apps]


@router.get("/{platform}", response={200: SocialNetworkOut, READ_ERRORS: ProblemOut}, summary="Get one app")
def get_network(request: HttpRequest, platform: PlatformId) -> dict:
    return _out(_app(request, platform))


@router.put("/{platform}", response={200: SocialNetworkOut, 201: SocialNetworkOut, ERRORS: ProblemOut},
            summary="Create or replace the app for a platform")  # fmt: skip
def put_network(request: HttpRequest, platform: PlatformId, data: SocialNetworkIn) -> HttpResponse:
    """Connections to this platform then use these keys instead of the instance-wide ones."""
    principal = principal_of(request)
    if any(not scope.strip() or " " in scope.strip() for scope in data.scopes):
        raise ApiError(422, "Each scope is one word, e.g. 'tweet.write'.")
    app, created = services.oauth_app_save(
        actor=principal.actor, platform=platform, client_id=data.client_id, client_secret=data.client_secret,
        scopes=" ".join(s.strip() for s in data.scopes),
    )  # fmt: skip
    body = SocialNetworkOut.model_validate(_out(app)).model_dump(mode="json")
    return JsonResponse(body, status=201 if created else 200)


@router.delete("/{platform}", response={204: None, ERRORS: ProblemOut}, summary="Remove the app for a platform")
def delete_network(request: HttpRequest, platform: PlatformId) -> HttpResponse:
    services.oauth_app_delete(actor=principal_of(request).actor, app=_app(request, platform))
    return HttpResponse(status=204)
