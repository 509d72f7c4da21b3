"""Who is acting: the one argument every service takes and checks.

Today an actor is a member of a workspace (the dashboard); the REST API adds API keys, which act
with a role of their own and no user. Services check ``actor.require(...)`` themselves, so no
view, form or API endpoint can skip a rule by forgetting to check it.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from accounts.models import Membership, User, Workspace
from accounts.roles import Capability, role_allows


@dataclass(frozen=True)
class Actor:
    workspace: Workspace
    role: str
    user: User | None = None  # None for an API key
    api_key_id: int | None = None
    label: str = ""  # shown in histories: "Ana", "API key ci-bot"

    @classmethod
    def of(cls, membership: Membership) -> "Actor":
        user = membership.user
        return cls(workspace=membership.workspace, role=membership.role, user=user, label=user.display_name)

    def can(self, capability: Capability) -> bool:
        return role_allows(self.role, capability)

    def require(self, capability: Capability, message: str) -> None:
        if not self.can(capability):
            raise PermissionDenied(message)


def as_actor(who: "Actor | Membership") -> Actor:
    """Accept a Membership where callers have not moved to Actor yet."""
    return who if isinstance(who, Actor) else Actor.of(who)
