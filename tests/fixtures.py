"""Factories and the owner / member / outsider pattern every permission test uses."""

import itertools
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from accounts.services import workspace_create

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery-staple-42"


def make_user(email: str | None = None, *, verified: bool = True, password: str = PASSWORD) -> User:
    email = email or f"user{next(_counter)}@example.com"
    user = User.objects.create_user(email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Team:
    """One workspace with a member of every role, plus an outsider with a workspace of their own."""

    workspace: Workspace
    other_workspace: Workspace
    users: dict[str, User]

    def client(self, who: str) -> Client:
        return login(self.users[who])

    def membership(self, who: str) -> Membership:
        return Membership.objects.get(workspace=self.workspace, user=self.users[who])


@pytest.fixture
def team(db) -> Team:
    owner = make_user("owner@example.com")
    workspace = workspace_create(owner=owner, name="Acme", timezone_name="Europe/Paris")
    users = {"owner": owner}
    for role in (Role.ADMIN, Role.EDITOR, Role.VIEWER):
        user = make_user(f"{role.value}@example.com")
        Membership.objects.create(workspace=workspace, user=user, role=role)
        user.current_workspace = workspace
        user.save()
        users[role.value] = user
    outsider = make_user("outsider@example.com")
    other = workspace_create(owner=outsider, name="Elsewhere")
    users["outsider"] = outsider
    return Team(workspace=workspace, other_workspace=other, users=users)


ROLE_ORDER = ["viewer", "editor", "admin", "owner"]


def assert_role_gate(
    team: Team, url: str, *, lowest: str, method: str = "get", data: dict | None = None, object_url: bool = True
) -> None:
    """Outsiders get 404 (for URLs naming an object), roles below ``lowest`` get 403, ``lowest`` gets through.

    Runs the allowed role last so a state-changing request is rejected before it succeeds.
    """
    if object_url:
        status = getattr(team.client("outsider"), method)(url, data or {}).status_code
        assert status == 404, f"outsider must get 404, got {status}"
    for who in ROLE_ORDER[: ROLE_ORDER.index(lowest)]:
        status = getattr(team.client(who), method)(url, data or {}).status_code
        assert status == 403, f"{who} must get 403, got {status}"
    status = getattr(team.client(lowest), method)(url, data or {}).status_code
    assert status not in (403, 404), f"{lowest} must be let through, got {status}"


@pytest.fixture
def demo_accounts(team):
    """Two Demo network accounts connected in the team's workspace."""
    from connections.registry import get_provider
    from connections.services import account_save

    provider = get_provider("demo")
    return [
        account_save(
            workspace=team.workspace,
            platform="demo",
            connection=provider.connect_with_form(data={"identifier": handle, "display_name": handle}),
            user=team.users["admin"],
        )
        for handle in ("alpha", "beta")
    ]
