"""Workspace, member and invitation services called directly (as the REST API will): each checks
the actor's role itself, on fresh rows, and stays inside the actor's workspace."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.actors import Actor
from accounts.models import Invitation, Membership, Workspace
from accounts.roles import Role
from tests.fixtures import make_user


def api_key(team, role: str) -> Actor:
    return Actor(workspace=team.workspace, role=role, user=None, api_key_id=3, label="API key hr-sync")


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_members_below_admin_are_refused_every_management_service(team, who):
    actor = team.membership(who)
    target = team.membership("viewer" if who == "editor" else "editor")
    invitation, _token = services.invitation_create(
        actor=team.membership("owner"), email="x@example.com", role="viewer"
    )
    calls = [
        lambda: services.invitation_create(actor=actor, email="new@example.com", role="viewer"),
        lambda: services.invitation_revoke(actor=actor, invitation=invitation),
        lambda: services.membership_change_role(actor=actor, membership=target, role=Role.VIEWER),
        lambda: services.membership_remove(actor=actor, membership=target),
        lambda: services.workspace_update(actor=actor, name="Renamed", timezone_name="UTC"),
    ]
    role = target.role
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    target.refresh_from_db()
    invitation.refresh_from_db()
    assert (target.role, invitation.status, Invitation.objects.count()) == (role, "pending", 1)
    assert Membership.objects.filter(pk=target.pk).exists()
    assert Workspace.objects.get(pk=team.workspace.pk).name == "Acme"


def test_admins_manage_members_below_owner(team):
    admin = team.membership("admin")
    editor = team.membership("editor")
    services.membership_change_role(actor=admin, membership=editor, role=Role.VIEWER)
    editor.refresh_from_db()
    assert editor.role == Role.VIEWER
    with pytest.raises(PermissionDenied, match="Only an owner"):
        services.membership_change_role(actor=admin, membership=editor, role=Role.OWNER)
    with pytest.raises(PermissionDenied, match="Only an owner can remove an owner"):
        services.membership_remove(actor=admin, membership=team.membership("owner"))
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=admin, email="boss@example.com", role=Role.OWNER)
    services.membership_remove(actor=admin, membership=editor)
    assert not Membership.objects.filter(pk=editor.pk).exists()


def test_a_role_is_judged_as_it_is_now_not_as_it_was_fetched(team):
    stale = Actor.of(team.membership("admin"))  # fetched while still an admin...
    Membership.objects.filter(pk=team.membership("admin").pk).update(role=Role.VIEWER)  # ...demoted since
    editor = team.membership("editor")
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=stale, membership=editor, role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.membership_remove(actor=stale, membership=editor)
    editor.refresh_from_db()
    assert editor.role == Role.EDITOR


def test_services_do_not_reach_into_another_workspace(team):
    stranger = make_user()
    foreign = Membership.objects.create(workspace=team.other_workspace, user=stranger, role=Role.EDITOR)
    foreign_invite, _ = services.invitation_create(
        actor=Membership.objects.get(workspace=team.other_workspace, role=Role.OWNER),
        email="y@example.com",
        role="viewer",
    )
    owner = team.membership("owner")
    with pytest.raises(Membership.DoesNotExist):
        services.membership_change_role(actor=owner, membership=foreign, role=Role.VIEWER)
    with pytest.raises(Membership.DoesNotExist):
        services.membership_remove(actor=owner, membership=foreign)
    with pytest.raises(Invitation.DoesNotExist):
        services.invitation_revoke(actor=owner, invitation=foreign_invite)
    foreign.refresh_from_db()
    assert foreign.role == Role.EDITOR
    assert foreign_invite.status == "pending"


def test_invitation_input_is_checked_in_the_service(team):
    owner = team.membership("owner")
    with pytest.raises(ValidationError) as caught:
        services.invitation_create(actor=owner, email="not an address", role="viewer")
    assert list(caught.value.message_dict) == ["email"]
    with pytest.raises(ValidationError) as caught:
        services.invitation_create(actor=owner, email="ok@example.com", role="superuser")
    assert caught.value.message_dict == {"role": ["'superuser' is not a role."]}
    with pytest.raises(ValidationError) as caught:
        services.invitation_create(actor=owner, email="Editor@Example.com", role="viewer")
    assert caught.value.message_dict == {"email": ["editor@example.com is already a member of Acme."]}
    assert not Invitation.objects.exists()


def test_an_admin_key_invites_and_manages_but_cannot_leave(team, mailoutbox, django_capture_on_commit_callbacks):
    key = api_key(team, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _token = services.invitation_create(actor=key, email="new@example.com", role="editor")
    assert invitation.invited_by is None
    assert mailoutbox[0].subject == "[Postwright] API key hr-sync invited you to Acme"
    assert mailoutbox[0].body.startswith('Acme invited you to join the workspace "Acme"')
    services.membership_change_role(actor=key, membership=team.membership("editor"), role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.membership_leave(actor=key)
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=api_key(team, Role.EDITOR), membership=team.membership("viewer"),
                                        role=Role.EDITOR)  # fmt: skip


def test_leaving(team):
    services.membership_leave(actor=team.membership("viewer"))
    assert not Membership.objects.filter(workspace=team.workspace, user=team.users["viewer"]).exists()
    with pytest.raises(ValidationError, match="last owner cannot leave"):
        services.membership_leave(actor=team.membership("owner"))
    assert team.membership("owner").role == Role.OWNER


def test_workspace_settings_are_for_admins_and_a_refused_change_changes_nothing(team):
    admin = team.membership("admin")
    with pytest.raises(ValidationError) as caught:
        services.workspace_update(actor=admin, name="Acme", timezone_name="Mars/Olympus")
    assert list(caught.value.message_dict) == ["timezone"]
    assert admin.workspace.timezone == "Europe/Paris"  # the caller's copy is untouched too
    assert Workspace.objects.get(pk=team.workspace.pk).timezone == "Europe/Paris"
    updated = services.workspace_update(actor=admin, name=" Acme EU ", timezone_name="Europe/Berlin")
    assert (updated.name, updated.timezone) == ("Acme EU", "Europe/Berlin")


def test_the_settings_page_shows_a_service_refusal_next_to_the_field(team, monkeypatch):
    from django.urls import reverse

    def refuse(**kwargs):
        raise ValidationError({"name": "That name is taken by a sister workspace."})

    monkeypatch.setattr(services, "workspace_update", refuse)
    response = team.client("admin").post(reverse("workspace_settings"), {"name": "X", "timezone": "UTC"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["That name is taken by a sister workspace."]
