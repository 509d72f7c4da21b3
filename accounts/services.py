"""Business rules for workspaces, memberships and invitations.

Views, tasks and the API call these with the actor (a member, or an API key): each checks the
actor's capability itself, raises PermissionDenied when the role does not allow the change and
ValidationError (keyed by field where there is one) when a rule forbids it, and then changes nothing.
"""

import logging
from dataclasses import replace

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.audit import audit
from accounts.models import ApprovalPolicy, Invitation, Membership, Notification, User, Workspace
from accounts.plans import plan_require_room
from accounts.roles import Capability, Role, assignable_roles

log = logging.getLogger(__name__)


def require(who: Actor | Membership, capability: Capability) -> Actor:
    actor = as_actor(who)
    actor.require(capability, f"Your role ({Role(actor.role).label}) cannot do this.")
    return actor


def _in_workspace(actor: Actor, obj: Membership | Invitation) -> None:
    # Views fetch through the requester's workspaces; the API and tasks must not reach past them.
    if obj.workspace_id != actor.workspace.pk:
        raise type(obj).DoesNotExist("Not in this workspace.")


def _fresh(actor: Actor) -> Actor:
    """The actor's role as stored now (call under _lock_memberships): a member demoted a moment ago
    acts as demoted. An API key's role is its own."""
    if actor.user is None:
        return actor
    role = Membership.objects.filter(workspace=actor.workspace, user=actor.user).values_list("role", flat=True).first()
    if role is None:
        raise PermissionDenied("You are no longer a member of this workspace.")
    return replace(actor, role=role)


@transaction.atomic
def workspace_create(*, owner: User, name: str, timezone_name: str = "UTC") -> Workspace:
    workspace = Workspace(name=name.strip(), timezone=timezone_name)
    workspace.full_clean()
    workspace.save()
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    owner.current_workspace = workspace
    owner.save(update_fields=["current_workspace"])
    return workspace


def workspace_create_personal(*, user: User, timezone_name: str = "UTC") -> Workspace:
    return workspace_create(owner=user, name=f"{user.display_name}'s workspace", timezone_name=timezone_name)


def user_update_preferences(*, user: User, name: str, timezone_name: str) -> User:
    user.name = name.strip()
    user.timezone = timezone_name
    user.full_clean(validate_unique=False)
    user.save(update_fields=["name", "timezone"])
    return user


def workspace_switch(*, user: User, workspace_id: int) -> Workspace:
    membership = Membership.objects.select_related("workspace").filter(user=user, workspace_id=workspace_id).first()
    if membership is None:
        raise Workspace.DoesNotExist
    user.current_workspace = membership.workspace
    user.save(update_fields=["current_workspace"])
    return membership.workspace


@transaction.atomic
def workspace_update(
    *, actor: Actor | Membership, name: str, timezone_name: str, approval_policy: str | None = None
) -> Workspace:
    """Rename the workspace, change its time zone (scheduled posts keep their instant) or its
    approval policy (None keeps it; posts already waiting keep waiting when it is switched off;
    switched on, posts already scheduled by those who now need approval wait for it too)."""
    actor = require(actor, Capability.MANAGE_SETTINGS)
    # A fresh copy: a refused change must not linger on the caller's workspace object.
    workspace = Workspace.objects.get(pk=actor.workspace.pk)
    before = {"name": workspace.name, "timezone": workspace.timezone, "approval_policy": workspace.approval_policy}
    workspace.name = name.strip()
    workspace.timezone = timezone_name
    if approval_policy is not None:
        workspace.approval_policy = approval_policy
    workspace.full_clean()
    workspace.save(update_fields=["name", "timezone", "approval_policy"])
    changed = {key: [was, getattr(workspace, key)] for key, was in before.items() if getattr(workspace, key) != was}
    if changed:
        audit("workspace.updated", actor=actor, obj=workspace, details=changed)
    if "approval_policy" in changed and workspace.approval_policy != ApprovalPolicy.OFF:
        from publishing.approvals import posts_hold_for_policy  # publishing builds on accounts

        posts_hold_for_policy(actor=replace(actor, workspace=workspace))
    return workspace


def _owner_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER).count()


def _lock_memberships(workspace: Workspace) -> None:
    """Serialise role changes in one workspace so two demotions cannot remove the last owner."""
    list(Membership.objects.select_for_update().filter(workspace=workspace).values_list("id", flat=True))


@transaction.atomic
def membership_change_role(*, actor: Actor | Membership, membership: Membership, role: str) -> Membership:
    actor = require(actor, Capability.MANAGE_MEMBERS)
    _in_workspace(actor, membership)
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role."})
    # Lock first and judge on fresh rows: a concurrent change must not slip between check and write.
    _lock_memberships(actor.workspace)
    actor = require(_fresh(actor), Capability.MANAGE_MEMBERS)
    membership.refresh_from_db()
    touches_owner = membership.role == Role.OWNER or role == Role.OWNER
    if touches_owner and not actor.can(Capability.MANAGE_OWNERS):
        raise PermissionDenied("Only an owner can grant or take away the owner role.")
    if role not in assignable_roles(actor.role):
        raise PermissionDenied("You cannot give that role.")
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.workspace) == 1:
        raise ValidationError("A workspace needs at least one owner: make someone else owner first.")
    previous, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    if previous != role:
        audit("member.role_changed", actor=actor, obj=membership, label=membership.user.email,
              details={"from": previous, "to": role})  # fmt: skip
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor | Membership, membership: Membership) -> None:
    """Remove a member, or leave when the actor is that member."""
    actor = as_actor(actor)
    _in_workspace(actor, membership)
    if actor.user is not None and actor.user.pk == membership.user_id:
        return membership_leave(actor=actor)
    require(actor, Capability.MANAGE_MEMBERS)
    _lock_memberships(actor.workspace)
    actor = require(_fresh(actor), Capability.MANAGE_MEMBERS)
    membership.refresh_from_db()
    if membership.role == Role.OWNER and not actor.can(Capability.MANAGE_OWNERS):
        raise PermissionDenied("Only an owner can remove an owner.")
    _delete_membership(membership, leaving=False)
    audit("member.removed", actor=actor, label=membership.user.email, details={"role": membership.role})


@transaction.atomic
def membership_leave(*, actor: Actor | Membership) -> None:
    """Leave the workspace: any member may, except its last owner."""
    actor = as_actor(actor)
    if actor.user is None:
        raise PermissionDenied("An API key is not a member and cannot leave.")
    _lock_memberships(actor.workspace)
    membership = Membership.objects.filter(workspace=actor.workspace, user=actor.user).select_related("user").first()
    if membership is None:
        raise PermissionDenied("You are no longer a member of this workspace.")
    _delete_membership(membership, leaving=True)
    audit("member.left", actor=actor, label=membership.user.email, details={"role": membership.role})


def _delete_membership(membership: Membership, *, leaving: bool) -> None:
    if membership.role == Role.OWNER and _owner_count(membership.workspace) == 1:
        what = "leave" if leaving else "be removed"
        raise ValidationError(f"The last owner cannot {what}: make someone else owner first.")
    user = membership.user
    membership.delete()
    if user.current_workspace_id == membership.workspace_id:
        user.current_workspace = None
        user.save(update_fields=["current_workspace"])


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("invitation_detail", args=[token])


@transaction.atomic
def invitation_create(*, actor: Actor | Membership, email: str, role: str) -> tuple[Invitation, str]:
    """Create (or renew) an invitation and email its link. Returns the invitation and its token."""
    actor = require(actor, Capability.MANAGE_MEMBERS)
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"{email or 'That'} is not an email address we can send to."}) from None
    if role not in Role.values:
        raise ValidationError({"role": f"{role!r} is not a role."})
    if role not in assignable_roles(actor.role):
        raise PermissionDenied("You cannot invite someone with that role.")
    workspace = actor.workspace
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {workspace.name}."})
    # Pending invitations count: each may become a member. Renewing one for this address does not.
    others = Invitation.objects.pending().filter(workspace=workspace).exclude(email__iexact=email).count()
    plan_require_room(workspace=workspace, limit="members", used=workspace.memberships.count() + others, field="email")
    # Inviting again replaces the earlier link rather than piling up live tokens.
    Invitation.objects.pending().filter(workspace=workspace, email__iexact=email).update(revoked_at=timezone.now())
    token, token_hash = Invitation.new_token()
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        invited_by=actor.user,
        token_hash=token_hash,
        expires_at=Invitation.default_expiry(),
    )
    audit("invitation.created", actor=actor, obj=invitation, label=email, details={"role": role})
    context = {"invitation": invitation, "url": invitation_url(token), "inviter": actor.user}
    inviter = actor.label or workspace.name  # an API key invites in the workspace's name
    transaction.on_commit(
        lambda: send_mail(
            subject=f"[Postwright] {inviter} invited you to {workspace.name}",
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, token


def invitation_revoke(*, actor: Actor | Membership, invitation: Invitation) -> None:
    actor = require(actor, Capability.MANAGE_MEMBERS)
    _in_workspace(actor, invitation)
    if invitation.status != "pending":
        raise ValidationError("Only a pending invitation can be revoked.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit("invitation.revoked", actor=actor, obj=invitation, label=invitation.email)


def _check_invitee(invitation: Invitation, user: User) -> None:
    if invitation.status != "pending":
        raise ValidationError(f"This invitation is {invitation.status}. Ask for a new one.")
    verified = EmailAddress.objects.filter(user=user, email__iexact=invitation.email, verified=True).exists()
    if not verified:
        raise ValidationError(
            f"This invitation was sent to {invitation.email}. Sign in with that address "
            "(or add and verify it in your email settings) to answer it."
        )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _check_invitee(invitation, user)
    membership, _created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit("invitation.accepted", actor=user, workspace_id=invitation.workspace_id, obj=invitation,
          label=invitation.email, details={"role": membership.role})  # fmt: skip
    user.current_workspace = invitation.workspace
    user.save(update_fields=["current_workspace"])
    inviter = invitation.invited_by  # None once the inviter's user is deleted
    if inviter is not None and Membership.objects.filter(workspace=invitation.workspace, user=inviter).exists():
        notify(
            user=inviter,
            workspace=invitation.workspace,
            title=f"{user.email} joined {invitation.workspace.name}",
            level=Notification.Level.SUCCESS,
            url=reverse("members"),
        )
    return membership


@transaction.atomic
def invitation_decline(*, invitation: Invitation, user: User) -> None:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _check_invitee(invitation, user)
    invitation.declined_at = timezone.now()
    invitation.save(update_fields=["declined_at"])


def invitations_for_user(user: User) -> list[Invitation]:
    emails = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    return list(
        Invitation.objects.pending()
        .filter(email__in=[e.lower() for e in emails])
        .exclude(workspace__memberships__user=user)
        .select_related("workspace", "invited_by")
    )


def notify(
    *,
    user: User,
    title: str,
    body: str = "",
    url: str = "",
    level: str = Notification.Level.INFO,
    workspace: Workspace | None = None,
) -> Notification:
    return Notification.objects.create(user=user, workspace=workspace, title=title, body=body, url=url, level=level)
