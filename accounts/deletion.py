"""Deleting a workspace (after a grace period with undo) and deleting one's own account.

What a purge leaves behind, on purpose: the audit log's records of the workspace, scrubbed to
their action, time and ids (no names, addresses, labels or details), and one more saying that the
workspace was deleted. Everything else goes: every connected account's consent is revoked at the
platform where the platform supports it, then secrets, media files, posts, results, comments,
queue slots, API keys, webhooks, exports, invitations and memberships.

A deleted account is scrubbed from every workspace's audit log (records by them, and records
about them, their memberships and invitations, found by id or by their address), and the
invitations and other members' notices that name their address are deleted.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.actors import Actor, as_actor
from accounts.audit import audit
from accounts.models import AuditRecord, DataExport, Invitation, Membership, Notification, User, Workspace
from accounts.roles import Capability, Role

log = logging.getLogger(__name__)


# --- Workspaces -----------------------------------------------------------------------------


def _owner(who: Actor | Membership) -> Actor:
    actor = as_actor(who)
    actor.require(Capability.MANAGE_OWNERS, "Only an owner can delete the workspace.")
    return actor


def _tell_owners(workspace: Workspace, subject: str, message: str) -> None:
    owners = Membership.objects.filter(workspace=workspace, role=Role.OWNER).select_related("user")
    emails = [m.user.email for m in owners]
    transaction.on_commit(lambda: send_mail(subject, message, None, emails, fail_silently=True))


@transaction.atomic
def workspace_delete_request(*, actor: Actor | Membership, confirm_name: str) -> Workspace:
    """Start the grace period; nothing is published meanwhile and an owner may undo it."""
    actor = _owner(actor)
    workspace = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    if confirm_name.strip() != workspace.name:
        raise ValidationError({"confirm_name": "Type the workspace's name exactly to confirm."})
    now = timezone.now()
    workspace.deletion_requested_at = now
    workspace.purge_after = now + timedelta(days=settings.WORKSPACE_DELETION_GRACE_DAYS)
    workspace.save(update_fields=["deletion_requested_at", "purge_after"])
    audit("deletion.requested", actor=actor, obj=workspace, details={"purge_after": workspace.purge_after.isoformat()})
    _tell_owners(workspace, f"[Postwright] {workspace.name} will be deleted",
                 f"{actor.label or 'An owner'} asked to delete the workspace {workspace.name}. Nothing is published "
                 f"from it meanwhile. It will be deleted for good on {workspace.purge_after:%Y-%m-%d %H:%M} UTC; "
                 f"until then an owner can undo this under Settings: {settings.SITE_URL}/settings/delete/")  # fmt: skip
    return workspace


@transaction.atomic
def workspace_delete_undo(*, actor: Actor | Membership) -> Workspace:
    actor = _owner(actor)
    workspace = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    if workspace.deletion_requested_at is None:
        raise ValidationError("This workspace is not being deleted.")
    workspace.deletion_requested_at = workspace.purge_after = workspace.purge_reminded_at = None
    workspace.save(update_fields=["deletion_requested_at", "purge_after", "purge_reminded_at"])
    audit("deletion.undone", actor=actor, obj=workspace)
    _tell_owners(workspace, f"[Postwright] {workspace.name} will not be deleted",
                 f"{actor.label or 'An owner'} undid the deletion of {workspace.name}.")  # fmt: skip
    return workspace


# An unreachable platform holds the purge for the next hourly run, this many runs at most (a
# day): then the workspace goes anyway, and the audit record of its purge counts what was not revoked.
PURGE_REVOKE_ATTEMPTS = 24


def _revoke_accounts(workspace: Workspace) -> list[str]:
    """Revoke every consent at the platform (once per grant), then disconnect its accounts.
    Returns the accounts whose platform could not be reached; they stay connected, tokens and
    all, so the next run can try again. A permanent refusal (a token already dead) counts as done."""
    from connections.errors import ProviderError
    from connections.models import SocialAccount
    from connections.services import account_disconnect, account_revoke

    system = Actor(workspace=workspace, role=Role.OWNER, label="Workspace deletion")
    connected = SocialAccount.objects.filter(workspace=workspace).exclude(status=SocialAccount.Status.DISCONNECTED)
    by_consent: dict[str, list[SocialAccount]] = {}
    for account in connected.order_by("id"):
        by_consent.setdefault(f"g{account.grant_id}" if account.grant_id else f"a{account.pk}", []).append(account)
    unreachable = []
    for accounts in by_consent.values():
        try:
            account_revoke(account=accounts[0])
        except ProviderError as exc:
            if exc.retryable:
                log.warning("purge of workspace %s: revoking account %s failed: %s", workspace.pk, accounts[0].pk, exc)
                unreachable += [f"account {a.pk}" for a in accounts]
                continue
        for account in accounts:
            account_disconnect(actor=system, account=account, revoke=False)
    return unreachable


def _exports_holding(workspace: Workspace) -> QuerySet[DataExport]:
    """The workspace's exports, and the personal exports of its members and of its posts' authors:
    theirs list the workspace and hold the posts they wrote in it, so they go with it."""
    from publishing.models import Post

    members = Membership.objects.filter(workspace=workspace).values("user_id")
    authors = Post.objects.filter(workspace=workspace, author__isnull=False).values("author_id")
    personal = Q(kind=DataExport.Kind.PERSONAL) & (Q(requested_by__in=members) | Q(requested_by__in=authors))
    return DataExport.objects.filter(Q(workspace=workspace) | personal)


def _delete_files(workspace: Workspace) -> None:
    from publishing.models import Media, MediaRendition, MediaUpload
    from publishing.uploads import upload_discard

    names = [n for pair in Media.objects.filter(workspace=workspace).values_list("file", "cover") for n in pair if n]
    names += list(MediaRendition.objects.filter(media__workspace=workspace).values_list("file", flat=True))
    exports = _exports_holding(workspace)
    names += [n for n in exports.values_list("file", flat=True) if n]
    for name in names:
        default_storage.delete(name)
    exports.delete()
    for upload in MediaUpload.objects.filter(workspace=workspace):
        upload_discard(upload=upload)


def workspace_purge(*, workspace: Workspace) -> bool:
    """Delete a workspace and everything it holds, for good (see the module's docstring). False
    when a platform could not be reached to revoke a consent: nothing is deleted yet, and the
    attempt is counted; the next run tries again (see PURGE_REVOKE_ATTEMPTS)."""
    workspace_id = workspace.pk
    unreachable = _revoke_accounts(workspace)
    attempts = workspace.purge_revoke_attempts + 1
    if unreachable and attempts < PURGE_REVOKE_ATTEMPTS:
        Workspace.objects.filter(pk=workspace_id).update(purge_revoke_attempts=attempts)
        workspace.purge_revoke_attempts = attempts
        return False
    if unreachable:
        log.error("purging workspace %s without revoking %s: unreachable %s times", workspace_id, unreachable, attempts)
    _delete_files(workspace)
    with transaction.atomic():
        from events.models import Event
        from publishing.models import Post

        Event.objects.filter(workspace_id=workspace_id).delete()
        # Posts first: their targets and attachments protect the accounts and media they name.
        Post.objects.filter(workspace_id=workspace_id).delete()
        User.objects.filter(current_workspace_id=workspace_id).update(current_workspace=None)
        workspace.delete()  # cascades through every workspace-owned row
        AuditRecord.objects.filter(workspace_id=workspace_id).scrub()
        audit("workspace.purged", workspace_id=workspace_id, details={"not_revoked": len(unreachable)})
    return True


REMIND_BEFORE = timedelta(hours=24)


def _remind(now: datetime) -> None:
    """Owners hear once more, a day before the end: the last chance to undo."""
    soon = Workspace.objects.filter(purge_after__gt=now, purge_after__lte=now + REMIND_BEFORE, purge_reminded_at=None)
    for workspace in soon:
        with transaction.atomic():
            if Workspace.objects.filter(pk=workspace.pk, purge_reminded_at=None).update(purge_reminded_at=now):
                _tell_owners(workspace, f"[Postwright] {workspace.name} will be deleted tomorrow",
                             f"The workspace {workspace.name} will be deleted for good on "
                             f"{workspace.purge_after:%Y-%m-%d %H:%M} UTC. To keep it, an owner can undo the "
                             f"deletion under Settings: {settings.SITE_URL}/settings/delete/")  # fmt: skip


def workspaces_purge_due() -> int:
    """The hourly job: remind owners a day before, and purge every workspace whose grace period is over."""
    now = timezone.now()
    _remind(now)
    due = list(Workspace.objects.filter(purge_after__lte=now))
    for workspace in due:
        try:
            workspace_purge(workspace=workspace)
        except Exception:  # one workspace failing must not keep the others
            log.exception("purging workspace %s failed; the next run tries again", workspace.pk)
    return len(due)


# --- One's own account ----------------------------------------------------------------------


def _blocking(user: User) -> list[Workspace]:
    """Workspaces the user is the last owner of while others are members: they must hand over."""
    # By id: filtering on the user's membership first would make the counts below count only it.
    owned = Workspace.objects.filter(
        pk__in=Membership.objects.filter(user=user, role=Role.OWNER).values("workspace_id")
    )
    counted = owned.annotate(
        n_owners=Count("memberships", filter=Q(memberships__role=Role.OWNER), distinct=True),
        n_members=Count("memberships", distinct=True),
    )
    return list(counted.filter(n_owners=1, n_members__gt=1))


def _addresses(user: User) -> set[str]:
    from allauth.account.models import EmailAddress

    emails = {user.email, *EmailAddress.objects.filter(user=user).values_list("email", flat=True)}
    return {e.lower() for e in emails if e}


def _scrub_audit_of(user: User) -> None:
    """Every record that names the user, in any workspace: what they did, what was done to them
    or their memberships and invitations (role changes, removals, invitations sent to them,
    failed sign-ins as them), by id or by their address in a label."""
    emails = _addresses(user)
    invitations = Invitation.objects.filter(email__in=emails).values_list("pk", flat=True)
    names_them = (
        Q(actor_user=user)
        | Q(object_type="user", object_id=str(user.pk))
        | Q(object_type="membership", object_id__in=[str(pk) for pk in user.memberships.values_list("pk", flat=True)])
        | Q(object_type="invitation", object_id__in=[str(pk) for pk in invitations])
    )
    for email in emails:  # labels and details are free text: match the address itself
        names_them |= Q(object_label__iexact=email) | Q(actor_label__iexact=email) | Q(details__tried__iexact=email)
    AuditRecord.objects.filter(names_them).scrub()


def _forget_address(user: User) -> None:
    """Invitations sent to the user, and others' notices that name them ("ana@… joined Acme")."""
    emails = _addresses(user)
    Invitation.objects.filter(email__in=emails).delete()
    naming = Q()
    for email in emails:
        naming |= Q(title__icontains=email) | Q(body__icontains=email)
    Notification.objects.exclude(user=user).filter(naming).delete()


def _reauthenticate(user: User, password: str, confirm_email: str) -> None:
    """The password again; someone who signs in only with Google has none, and types their
    email address instead (they are signed in already: this guards against a slip, as the
    workspace's name does for deleting a workspace)."""
    if user.has_usable_password():
        if not user.check_password(password):
            raise ValidationError({"password": "That is not your password."})
    elif confirm_email.strip().lower() != user.email.lower():
        raise ValidationError({"confirm_email": f"Type your email address, {user.email}, exactly to confirm."})


def user_delete(*, user: User, password: str = "", confirm_email: str = "") -> None:
    """Delete one's own account, after typing the password again (or, without a password, one's
    email address). Workspaces where the user is the only member go with it; being the last
    owner of a workspace with others blocks it."""
    _reauthenticate(user, password, confirm_email)
    if blocking := _blocking(user):
        names = ", ".join(w.name for w in blocking)
        raise ValidationError(f"You are the last owner of {names}, which others still use: make one of them an "
                              "owner (Settings → Members), or remove them, then delete your account.")  # fmt: skip
    mine = Workspace.objects.filter(pk__in=Membership.objects.filter(user=user).values("workspace_id"))
    alone = mine.annotate(n=Count("memberships")).filter(n=1)
    for workspace in list(alone):
        if not workspace_purge(workspace=workspace):
            # Memberless once the user is gone: the hourly job finishes it when the platform answers.
            Workspace.objects.filter(pk=workspace.pk).update(deletion_requested_at=timezone.now(),
                                                             purge_after=timezone.now())  # fmt: skip
    user_id = user.pk
    with transaction.atomic():
        _scrub_audit_of(user)
        _forget_address(user)
        user.delete()
        audit("user.deleted", details={"user_id": user_id})
