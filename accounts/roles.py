"""Workspace roles and what each may do. The server checks these; templates only mirror them."""

from enum import Enum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Capability(Enum):
    """An action a member may take; MINIMUM_ROLE says who may take it."""

    VIEW = "view"
    EDIT_CONTENT = "edit_content"  # compose, schedule, edit and cancel posts; upload media
    MANAGE_CONNECTIONS = "manage_connections"  # connect, reconnect and disconnect social accounts
    MANAGE_MEMBERS = "manage_members"  # invite, remove, change roles below owner
    MANAGE_SETTINGS = "manage_settings"  # rename, time zone, API keys, webhooks
    MANAGE_OWNERS = "manage_owners"  # grant or take away the owner role
    APPROVE_POSTS = "approve_posts"  # approve a submitted post, or send it back with changes requested


MINIMUM_ROLE = {
    Capability.VIEW: Role.VIEWER,
    Capability.EDIT_CONTENT: Role.EDITOR,
    Capability.MANAGE_CONNECTIONS: Role.ADMIN,
    Capability.MANAGE_MEMBERS: Role.ADMIN,
    Capability.MANAGE_SETTINGS: Role.ADMIN,
    Capability.MANAGE_OWNERS: Role.OWNER,
    Capability.APPROVE_POSTS: Role.ADMIN,
}


def role_allows(role: str, capability: Capability) -> bool:
    return RANK[Role(role)] >= RANK[MINIMUM_ROLE[capability]]


def assignable_roles(actor_role: str) -> list[Role]:
    """Roles an actor may hand out: admins cannot create owners (or promote past themselves)."""
    if role_allows(actor_role, Capability.MANAGE_OWNERS):
        return list(Role)
    if role_allows(actor_role, Capability.MANAGE_MEMBERS):
        return [Role.ADMIN, Role.EDITOR, Role.VIEWER]
    return []
