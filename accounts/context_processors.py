from django.http import HttpRequest

from accounts.health import process_health
from accounts.models import Notification
from accounts.roles import Capability, role_allows


def shell(request: HttpRequest) -> dict:
    """What every dashboard page needs: workspaces for the switcher, role flags, health."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    role = membership.role if membership else None
    return {
        "current_membership": membership,
        "current_workspace": membership.workspace if membership else None,
        "user_memberships": user.memberships.select_related("workspace").order_by("workspace__name"),
        "unread_notifications": Notification.objects.visible_to(user).filter(read_at=None).count(),
        "can": {capability.value: bool(role) and role_allows(role, capability) for capability in Capability},
        "stalled_processes": [p for p in process_health() if p.missing],
        "display_zone": getattr(request, "zone", None),
    }
