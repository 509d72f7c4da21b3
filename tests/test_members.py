"""Invitations, roles and removal: the rules the server enforces, whatever the page shows."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership
from accounts.roles import Role
from tests.fixtures import assert_role_gate, login, make_user

CONFIRM = {"confirm": "1"}  # the confirm step every remove and leave passes (accounts/confirm.py)


@pytest.fixture(autouse=True)
def _send_on_commit(django_capture_on_commit_callbacks, monkeypatch):
    """Invitation emails go out on commit; run those callbacks as each request finishes."""
    real_post = Client.post

    def post(self, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return real_post(self, *args, **kwargs)

    monkeypatch.setattr(Client, "post", post)


def _invite(client, email: str, role: str = "editor", **headers):
    return client.post(reverse("invitation_create"), {"email": email, "role": role}, **headers)


def _token_from_outbox() -> str:
    body = mail.outbox[-1].body
    return body.split("/invitations/")[1].split("/")[0]


def test_only_admins_and_owners_invite(team):
    assert_role_gate(
        team, reverse("invitation_create"), lowest="admin", method="post",
        data={"email": "new@example.com", "role": "viewer"}, object_url=False,
    )  # fmt: skip
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.workspace) == ("new@example.com", "viewer", team.workspace)
    assert len(mail.outbox) == 1
    assert "/invitations/" in mail.outbox[0].body
    assert invitation.token_hash not in mail.outbox[0].body  # the email carries the token, the DB only its hash


def test_admin_cannot_invite_an_owner(team):
    response = _invite(team.client("admin"), "boss@example.com", role="owner")
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_inviting_a_member_again_is_a_clear_error(team):
    response = _invite(team.client("owner"), "EDITOR@example.com")
    assert response.status_code == 400
    assert b"already a member" in response.content


def test_invite_over_htmx_returns_the_panel_with_inline_errors(team):
    response = _invite(team.client("owner"), "not an email", HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert b'id="invitations-panel"' in response.content
    assert b"Enter a valid email address" in response.content
    assert b"<html" not in response.content


def test_reinviting_replaces_the_old_link(team):
    client = team.client("owner")
    _invite(client, "twice@example.com")
    first_token = _token_from_outbox()
    _invite(client, "twice@example.com", role="viewer")
    assert Invitation.objects.pending().count() == 1
    invitee = make_user("twice@example.com")
    response = login(invitee).post(reverse("invitation_detail", args=[first_token]), {"answer": "accept"})
    assert response.status_code == 404  # the replaced link was revoked
    assert not Membership.objects.filter(user=invitee, workspace=team.workspace).exists()


def test_accept_joins_with_the_invited_role(team):
    _invite(team.client("admin"), "joiner@example.com", role="viewer")
    token = _token_from_outbox()
    joiner = make_user("joiner@example.com")
    client = login(joiner)
    assert b"Join Acme" in client.get(reverse("invitation_detail", args=[token])).content
    response = client.post(reverse("invitation_detail", args=[token]), {"answer": "accept"})
    assert response.status_code == 302
    assert Membership.objects.get(user=joiner, workspace=team.workspace).role == Role.VIEWER
    joiner.refresh_from_db()
    assert joiner.current_workspace == team.workspace
    assert team.users["admin"].notifications.filter(title__contains="joined").exists()
    # A used link cannot be used again.
    again = client.post(reverse("invitation_detail", args=[token]), {"answer": "decline"})
    assert b"This invitation is accepted" in again.content


def test_only_the_invited_verified_address_can_answer(team):
    _invite(team.client("owner"), "right@example.com")
    token = _token_from_outbox()
    wrong = login(make_user("wrong@example.com"))
    wrong.post(reverse("invitation_detail", args=[token]), {"answer": "accept"})
    unverified = login(make_user("right@example.com", verified=False))
    unverified.post(reverse("invitation_detail", args=[token]), {"answer": "accept"})
    assert Membership.objects.filter(workspace=team.workspace).count() == 4
    assert Invitation.objects.get().status == "pending"


def test_decline_and_dashboard_answer(team):
    _invite(team.client("owner"), "maybe@example.com")
    invitee = make_user("maybe@example.com")
    client = login(invitee)
    invitation = Invitation.objects.get()
    assert b"invited you to" in client.get(reverse("dashboard")).content
    response = client.post(reverse("invitation_answer", args=[invitation.pk]), {"answer": "decline"})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "declined"
    assert not Membership.objects.filter(user=invitee, workspace=team.workspace).exists()


def test_someone_else_cannot_answer_by_id(team):
    _invite(team.client("owner"), "target@example.com")
    invitation = Invitation.objects.get()
    response = team.client("outsider").post(reverse("invitation_answer", args=[invitation.pk]), {"answer": "accept"})
    assert response.status_code == 404


def test_expired_invitation_cannot_be_accepted(team):
    _invite(team.client("owner"), "late@example.com")
    token = _token_from_outbox()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client = login(make_user("late@example.com"))
    response = client.post(reverse("invitation_detail", args=[token]), {"answer": "accept"})
    assert b"This invitation is expired" in response.content
    assert Membership.objects.filter(workspace=team.workspace).count() == 4


def test_unknown_token_is_404(client, db):
    assert client.get(reverse("invitation_detail", args=["nope"])).status_code == 404


def test_revoke_is_gated_and_scoped(team):
    _invite(team.client("owner"), "revoke@example.com")
    invitation = Invitation.objects.get()
    url = reverse("invitation_revoke", args=[invitation.pk])
    assert_role_gate(team, url, lowest="admin", method="post")
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_role_change_gate_and_effect(team):
    editor = team.membership("editor")
    url = reverse("member_role", args=[editor.pk])
    assert_role_gate(team, url, lowest="admin", method="post", data={"role": "viewer"})
    editor.refresh_from_db()
    assert editor.role == Role.VIEWER


def test_role_change_over_htmx_returns_the_row(team):
    editor = team.membership("editor")
    response = team.client("owner").post(
        reverse("member_role", args=[editor.pk]), {"role": "admin"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f'id="member-{editor.pk}"'.encode() in response.content
    editor.refresh_from_db()
    assert editor.role == Role.ADMIN


def test_admin_cannot_promote_to_owner_or_demote_an_owner(team):
    admin = team.client("admin")
    editor = team.membership("editor")
    owner = team.membership("owner")
    refused = admin.post(reverse("member_role", args=[editor.pk]), {"role": "owner"})
    assert refused.status_code == 403
    assert b"Only an owner can grant or take away the owner role." in refused.content
    assert admin.post(reverse("member_role", args=[owner.pk]), {"role": "viewer"}).status_code == 403
    editor.refresh_from_db()
    owner.refresh_from_db()
    assert (editor.role, owner.role) == (Role.EDITOR, Role.OWNER)


def test_last_owner_cannot_be_demoted_or_leave(team):
    owner = team.membership("owner")
    with pytest.raises(services.ValidationError, match="at least one owner"):
        services.membership_change_role(actor=owner, membership=owner, role=Role.ADMIN)
    with pytest.raises(services.ValidationError, match="last owner cannot leave"):
        services.membership_remove(actor=owner, membership=owner)
    client = team.client("owner")
    refused = client.post(reverse("member_remove", args=[owner.pk]), CONFIRM)
    assert refused.status_code == 400
    assert b"last owner cannot leave" in refused.content
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_with_a_second_owner_the_first_can_leave(team):
    owner = team.membership("owner")
    admin = team.membership("admin")
    services.membership_change_role(actor=owner, membership=admin, role=Role.OWNER)
    response = team.client("owner").post(reverse("member_remove", args=[owner.pk]), CONFIRM)
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=owner.pk).exists()
    team.users["owner"].refresh_from_db()
    assert team.users["owner"].current_workspace != team.workspace


def test_remove_member_gate(team):
    viewer = team.membership("viewer")
    url = reverse("member_remove", args=[viewer.pk])
    assert team.client("editor").post(url).status_code == 403
    assert Membership.objects.filter(pk=viewer.pk).exists()
    assert team.client("outsider").post(url).status_code == 404
    team.client("admin").post(url, CONFIRM)
    assert not Membership.objects.filter(pk=viewer.pk).exists()


def test_viewer_can_leave(team):
    viewer = team.membership("viewer")
    team.client("viewer").post(reverse("member_remove", args=[viewer.pk]), CONFIRM)
    assert not Membership.objects.filter(pk=viewer.pk).exists()


def test_admin_cannot_remove_an_owner(team):
    owner = team.membership("owner")
    services.membership_change_role(actor=owner, membership=team.membership("editor"), role=Role.OWNER)
    assert team.client("admin").post(reverse("member_remove", args=[owner.pk]), CONFIRM).status_code == 403
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_members_page_hides_controls_from_viewers(team):
    page = team.client("viewer").get(reverse("members")).content
    assert b"Send invitation" not in page
    assert b"Remove" not in page
    page = team.client("admin").get(reverse("members")).content
    assert b"Send invitation" in page


def test_a_dead_invitation_does_not_open_signup(team, client, settings):
    from accounts.adapters import INVITATION_SESSION_KEY

    settings.SIGNUPS_OPEN = False
    _invite(team.client("owner"), "late2@example.com")
    token = _token_from_outbox()
    Invitation.objects.update(revoked_at=timezone.now())
    client.get(reverse("invitation_detail", args=[token]))
    assert INVITATION_SESSION_KEY not in client.session


def test_a_revoked_invitation_link_reveals_nothing(team):
    _invite(team.client("owner"), "gone@example.com")
    token = _token_from_outbox()
    invitation = Invitation.objects.get()
    team.client("owner").post(reverse("invitation_revoke", args=[invitation.pk]))
    url = reverse("invitation_detail", args=[token])
    invitee = login(make_user("gone@example.com"))
    for response in (Client().get(url), invitee.get(url), invitee.post(url, {"answer": "accept"})):
        assert response.status_code == 404
        page = response.content.decode()
        assert "not valid" in page
        for secret in ("Acme", "gone@example.com", team.users["owner"].email, "Editor", "editor"):
            assert secret not in page
    assert not Membership.objects.filter(workspace=team.workspace, user__email="gone@example.com").exists()


def test_a_removed_member_no_longer_reads_the_workspace_notifications(team):
    editor = team.membership("editor")
    services.notify(user=editor.user, workspace=team.workspace, title="Post failed: launch plan")
    services.notify(user=editor.user, title="Welcome to Postwright")  # not tied to a workspace
    client = team.client("editor")
    assert "launch plan" in client.get(reverse("notifications")).content.decode()
    services.membership_remove(actor=team.membership("owner"), membership=editor)
    page = client.get(reverse("notifications")).content.decode()
    assert "launch plan" not in page
    assert "Welcome to Postwright" in page
    assert client.get(reverse("dashboard")).context["unread_notifications"] == 1
    client.post(reverse("notifications_read"))
    assert editor.user.notifications.get(title__contains="launch").read_at is None  # not touched either
