"""The one way to reach workspace-owned objects from a request.

Anything outside the requester's workspaces is a 404 (we do not confirm it exists);
inside them, a role too low for the action is a 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django_htmx.middleware import HtmxDetails

from accounts.models import Membership, User, Workspace
from accounts.roles import Capability, role_allows

M = TypeVar("M", bound=models.Model)


class AuthedRequest(HttpRequest):
    """A request as a view behind ``login_required`` sees it, with what the middleware sets on it
    (CurrentWorkspaceMiddleware, django-htmx's). For annotations only: Django builds the request."""

    user: User
    membership: Membership | None
    workspace: Workspace | None
    zone: ZoneInfo
    htmx: HtmxDetails


class MemberRequest(AuthedRequest):
    """Behind ``workspace_required``: the requester is a member of the current workspace."""

    membership: Membership
    workspace: Workspace


def get_workspace_object_and_membership_or_404(
    request: HttpRequest,
    model: type[M] | models.QuerySet[M],
    *,
    capability: Capability = Capability.VIEW,
    workspace_path: str = "workspace",
    **lookup: Any,
) -> tuple[M, Membership]:
    """Fetch an object whose workspace is one the requester belongs to, then check the role.

    ``workspace_path`` names the relation leading to the workspace for models that reach it
    through a parent (``"account__workspace"``). Returns the requester's membership in the
    object's workspace too: services take it as the actor.
    """
    queryset = model._default_manager.all() if isinstance(model, type) else model
    if not request.user.is_authenticated:
        raise Http404
    try:
        obj = queryset.get(**{f"{workspace_path}__memberships__user": request.user}, **lookup)
    except (ObjectDoesNotExist, ValueError, TypeError, OverflowError, ValidationError):
        raise Http404 from None
    owner: Any = obj  # the object, then each step of workspace_path
    for step in workspace_path.split("__")[:-1]:
        owner = getattr(owner, step)
    membership = Membership.objects.select_related("workspace", "user").get(
        workspace_id=owner.workspace_id, user=request.user
    )
    if not role_allows(membership.role, capability):
        raise PermissionDenied
    return obj, membership


def get_workspace_object_or_404(
    request: HttpRequest,
    model: type[M] | models.QuerySet[M],
    *,
    capability: Capability = Capability.VIEW,
    workspace_path: str = "workspace",
    **lookup: Any,
) -> M:
    return get_workspace_object_and_membership_or_404(
        request, model, capability=capability, workspace_path=workspace_path, **lookup
    )[0]


_View = Callable[..., HttpResponseBase]  # streamed answers (exports) too


def workspace_required(capability: Capability = Capability.VIEW) -> Callable[[_View], _View]:
    """Decorate a view that works on the current workspace: login, a workspace, a role."""

    def decorator(view: _View) -> _View:
        @login_required
        @wraps(view)
        def wrapper(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.membership is None:
                messages.info(request, "Create a workspace to get started.")
                return redirect("workspace_create")
            if not role_allows(request.membership.role, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
