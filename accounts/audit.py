"""The audit log: one call, ``audit()``, from every service that does something security-relevant.

Services do not see the request, so the middleware below keeps the requester's IP address and
user agent in a context variable for the length of the request; a record written by a task or a
command has neither. Records are written in the caller's transaction: a change that rolls back
leaves no record of having happened.
"""

import hashlib
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest, HttpResponse

from accounts.models import AuditRecord, Membership, User

# Every action the log records, and how the dashboard's filter names it.
ACTIONS: dict[str, str] = {
    "auth.login": "Signed in",
    "auth.login_failed": "Sign-in failed",
    "auth.new_device": "Signed in from a new device",
    "auth.password_changed": "Password changed",
    "auth.password_set": "Password set",
    "auth.password_reset": "Password reset",
    "auth.email_added": "Email address added",
    "auth.email_removed": "Email address removed",
    "auth.email_changed": "Primary email changed",
    "auth.email_confirmed": "Email address confirmed",
    "mfa.added": "Two-factor method added",
    "mfa.removed": "Two-factor method removed",
    "mfa.reset": "Recovery codes regenerated",
    "workspace.updated": "Workspace settings changed",
    "workspace.plan_changed": "Plan changed",
    "invitation.created": "Invitation sent",
    "invitation.revoked": "Invitation revoked",
    "invitation.accepted": "Invitation accepted",
    "member.role_changed": "Member's role changed",
    "member.removed": "Member removed",
    "member.left": "Member left",
    "account.connected": "Social account connected",
    "account.reconnected": "Social account reconnected",
    "account.disconnected": "Social account disconnected",
    "oauth_app.saved": "Own app keys saved",
    "oauth_app.removed": "Own app keys removed",
    "api_key.created": "API key created",
    "api_key.used": "API key used (first time, or from a new address)",
    "api_key.revoked": "API key revoked",
    "webhook.created": "Webhook endpoint added",
    "webhook.updated": "Webhook endpoint changed",
    "webhook.deleted": "Webhook endpoint deleted",
    "webhook.secret_rotated": "Webhook secret rotated",
    "approval.approved": "Post approved",
    "approval.changes_requested": "Changes requested on a post",
    "export.created": "Data export requested",
    "deletion.requested": "Workspace deletion requested",
    "deletion.undone": "Workspace deletion undone",
    "workspace.purged": "Workspace deleted for good",
    "user.deleted": "Account deleted",
}
USER_AGENT_MAX = 300


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None
    user_agent: str


_current: ContextVar[RequestInfo | None] = ContextVar("audit_request", default=None)


def request_info(request: HttpRequest) -> RequestInfo:
    # REMOTE_ADDR only: X-Forwarded-For is the client's to forge unless a proxy we trust sets it.
    return RequestInfo(request.META.get("REMOTE_ADDR") or None, request.headers.get("User-Agent", "")[:USER_AGENT_MAX])


class AuditContextMiddleware:
    """Keeps the request's IP address and user agent where audit() finds them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(request_info(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def _actor_fields(actor: Any) -> dict[str, Any]:
    """An Actor, a Membership, a User or None (the system)."""
    if actor is None:
        return {"actor_user": None, "actor_label": ""}
    if isinstance(actor, Membership):
        actor = actor.user
    if isinstance(actor, User):
        return {"actor_user": actor, "actor_label": actor.email}
    user = getattr(actor, "user", None)
    return {"actor_user": user, "actor_label": user.email if user is not None else getattr(actor, "label", "")}


def audit(
    action: str,
    *,
    actor: Any = None,
    workspace_id: int | None = None,
    obj: models.Model | None = None,
    label: str = "",
    details: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditRecord:
    """Record ``action`` (a key of ACTIONS). The workspace defaults to the actor's."""
    if action not in ACTIONS:
        raise ValueError(f"not an audit action: {action!r}")
    where = request_info(request) if request is not None else _current.get()
    if workspace_id is None and getattr(actor, "workspace", None) is not None:
        workspace_id = actor.workspace.pk
    return AuditRecord.objects.create(
        action=action,
        workspace_id=workspace_id,
        object_type=(obj._meta.model_name or "") if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=(label or (str(obj) if obj is not None else ""))[:200],
        ip=where.ip if where else None,
        user_agent=where.user_agent if where else "",
        details=dict(details or {}),
        **_actor_fields(actor),
    )


def device_fingerprint(user_agent: str) -> str:
    return hashlib.sha256(user_agent.encode()).hexdigest()
