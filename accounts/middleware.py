from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.models import Membership
from accounts.timezones import UTC, zone_for


def current_membership(user) -> Membership | None:
    """The user's membership in their current workspace, falling back to any they have."""
    memberships = Membership.objects.select_related("workspace").filter(user=user)
    chosen = None
    for membership in memberships:
        if membership.workspace_id == user.current_workspace_id:
            return membership
        chosen = chosen or membership
    if chosen is not None:
        user.current_workspace = chosen.workspace
        user.save(update_fields=["current_workspace"])
    return chosen


class CurrentWorkspaceMiddleware:
    """Sets ``request.membership``, ``request.workspace`` (None when there is none) and
    ``request.zone``, and activates that zone: templates, forms and ``timezone.localtime`` then
    show and read times in it without each view converting by hand."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        request.workspace = None
        request.zone = UTC
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            if not request.path.startswith("/admin/"):
                request.membership = current_membership(request.user)
                request.workspace = request.membership.workspace if request.membership else None
            request.zone = zone_for(request.user, request.workspace or request.user.current_workspace)
        timezone.activate(request.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
