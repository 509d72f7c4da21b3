"""Deleting a workspace (grace period, undo, emails, nothing published meanwhile, revocation at
the platform, a purge that leaves none of its text, tokens or media in the raw database) and
deleting one's own account (re-authentication, the last-owner block)."""

import io
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.deletion import user_delete, workspace_delete_request, workspace_delete_undo, workspaces_purge_due
from accounts.models import AuditRecord, DataExport, Membership, User, Workspace
from api.keys import api_key_create
from connections.models import Grant, SocialAccount
from publishing import engine, services
from publishing.inputs import Attachment, PartInput, PostInput, When
from publishing.media import media_store
from tests.connections.example_provider import BASE
from tests.fixtures import PASSWORD, assert_role_gate
from webhooks.services import endpoint_create

WORDS = "Zanzibar-marmalade-launch"  # the post's text: unique, so a scan cannot mistake it
ACCESS, REFRESH = "at-purge-7781", "rt-purge-7781"


def _dump() -> str:
    """Every text value in every table, read raw (no ORM, no decryption)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names from the introspection
            chunks += [str(value) for row in cursor.fetchall() for value in row if value is not None]
    return "\n".join(chunks)


@pytest.fixture
def doomed(team, demo_accounts):
    """The team's workspace with something of everything in it."""
    owner = team.membership("owner")
    grant = Grant.objects.create(workspace=team.workspace, platform="oauth2-test",
                                 secrets={"access_token": ACCESS, "refresh_token": REFRESH})  # fmt: skip
    SocialAccount.objects.create(workspace=team.workspace, platform="oauth2-test", external_id="u1",
                                 username="ada-oauth", grant=grant)  # fmt: skip
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 200, 0)).save(buffer, "PNG")
    media = media_store(actor=owner, upload=SimpleUploadedFile("green-secret.png", buffer.getvalue(),
                                                               content_type="image/png"))  # fmt: skip
    parts = [PartInput(WORDS, attachments=(Attachment(media.id, "green square"),))]
    later = When.at(timezone.now() + timedelta(hours=2))
    post = services.post_create(actor=owner, data=PostInput(parts=parts, account_ids=[demo_accounts[0].id], when=later))
    _key, api_token = api_key_create(actor=owner, name="deploy-bot", scope="read")
    _endpoint, webhook_secret = endpoint_create(actor=owner, url="http://127.0.0.1:8999/zanzibar-hook")
    return {"post": post, "media": media, "secrets": [ACCESS, REFRESH, api_token, webhook_secret]}


def test_only_owners_delete_and_the_name_must_be_typed(team):
    with pytest.raises(PermissionDenied):
        workspace_delete_request(actor=team.membership("admin"), confirm_name="Acme")
    with pytest.raises(ValidationError):
        workspace_delete_request(actor=team.membership("owner"), confirm_name="acme?")
    assert Workspace.objects.get(pk=team.workspace.pk).deletion_requested_at is None
    assert_role_gate(team, reverse("workspace_delete"), lowest="owner", object_url=False)


def test_grace_period_publishes_nothing_emails_and_can_be_undone(team, doomed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        workspace = workspace_delete_request(actor=team.membership("owner"), confirm_name="Acme")
    assert workspace.purge_after - workspace.deletion_requested_at == timedelta(days=7)
    assert [m.to for m in mail.outbox][-1] == ["owner@example.com"]
    post = doomed["post"]
    post.targets.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert engine.targets_claim_due() == []
    assert workspaces_purge_due() == 0  # not yet
    workspace_delete_undo(actor=team.membership("owner"))
    assert len(engine.targets_claim_due()) == 1
    assert _dump().count(WORDS) >= 1
    actions = list(AuditRecord.objects.filter(workspace_id=team.workspace.pk).values_list("action", flat=True))
    assert "deletion.requested" in actions
    assert "deletion.undone" in actions


def test_the_purge_revokes_and_leaves_nothing_of_the_workspace(team, doomed, time_machine):
    responses.add(responses.POST, f"{BASE}/revoke", body="")
    name = doomed["media"].file.name
    workspace_id = team.workspace.pk
    client = team.client("owner")
    assert client.post(reverse("workspace_delete"), {"confirm_name": "Acme"}).status_code == 302
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1))
    assert workspaces_purge_due() == 1
    # The consent was revoked at the platform (its refresh token, which ends the whole grant).
    assert [parse_qs(c.request.body)["token"] for c in responses.calls] == [[REFRESH]]
    assert not Workspace.objects.filter(pk=workspace_id).exists()
    assert not default_storage.exists(name)
    raw = _dump()
    for text in ["Acme", WORDS, "green-secret", "green square", "ada-oauth", "@alpha", "deploy-bot", "zanzibar-hook",
                 *doomed["secrets"]]:  # fmt: skip
        assert text not in raw, text
    # What remains, as documented: the audit log's bare records, and that the deletion happened.
    kept = AuditRecord.objects.filter(workspace_id=workspace_id)
    assert kept.filter(action="workspace.purged").count() == 1
    assert set(kept.values_list("object_label", flat=True)) == {""}
    # The people stay (they may belong elsewhere); the other workspace is untouched.
    assert User.objects.filter(email="editor@example.com").exists()
    assert Workspace.objects.filter(pk=team.other_workspace.pk).exists()


def test_deleting_ones_account_needs_the_password_and_is_blocked_for_a_last_owner(team):
    with pytest.raises(ValidationError) as wrong:
        user_delete(user=team.users["owner"], password="not it")
    assert "password" in wrong.value.message_dict
    with pytest.raises(ValidationError, match="last owner of Acme"):
        user_delete(user=team.users["owner"], password=PASSWORD)
    assert User.objects.filter(email="owner@example.com").exists()


def test_deleting_ones_account_removes_it_and_workspaces_only_they_use(team, demo_accounts):
    services.post_create(actor=team.membership("editor"),
                         data=PostInput(parts=[PartInput(WORDS)], account_ids=[demo_accounts[0].id]))  # fmt: skip
    outsider = team.users["outsider"]
    client = team.client("outsider")
    assert client.post(reverse("account_delete"), {"password": "wrong"}).status_code == 400
    response = client.post(reverse("account_delete"), {"password": PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=outsider.pk).exists()
    assert not Workspace.objects.filter(pk=team.other_workspace.pk).exists()  # they were its only member
    assert "outsider@example.com" not in _dump()
    assert AuditRecord.objects.filter(action="user.deleted").count() == 1
    # An editor's account goes; their posts stay in the workspace others use, without their name.
    user_delete(user=team.users["editor"], password=PASSWORD)
    assert Membership.objects.filter(workspace=team.workspace).count() == 3
    assert WORDS in _dump()
    assert "editor@example.com" not in _dump()


def test_owners_are_reminded_once_a_day_before_the_purge(team, time_machine, django_capture_on_commit_callbacks):
    workspace_delete_request(actor=team.membership("owner"), confirm_name="Acme")
    time_machine.move_to(timezone.now() + timedelta(days=6, hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        workspaces_purge_due()
        workspaces_purge_due()
    reminders = [m for m in mail.outbox if "tomorrow" in m.subject]
    assert [m.to for m in reminders] == [["owner@example.com"]]
    assert Workspace.objects.filter(pk=team.workspace.pk).exists()


def test_deleting_ones_account_scrubs_their_address_from_other_workspaces_audit_log(team):
    """Invited, promoted and removed in Acme, the outsider deletes their account: Acme's log keeps
    that these things happened but no longer names them (nor do the invitations to them or the
    owner's "joined" notice)."""
    from accounts.services import (
        invitation_accept,
        invitation_create,
        invitation_revoke,
        membership_change_role,
        membership_remove,
    )

    owner = team.membership("owner")
    invitation, _token = invitation_create(actor=owner, email="outsider@example.com", role="editor")
    membership = invitation_accept(invitation=invitation, user=team.users["outsider"])
    membership_change_role(actor=owner, membership=membership, role="admin")
    membership_remove(actor=owner, membership=Membership.objects.get(pk=membership.pk))
    other, _t = invitation_create(actor=owner, email="outsider@example.com", role="viewer")
    invitation_revoke(actor=owner, invitation=other)
    acme = AuditRecord.objects.filter(workspace_id=team.workspace.pk)
    actions = set(acme.values_list("action", flat=True))
    assert {"invitation.created", "invitation.accepted", "member.role_changed", "member.removed",
            "invitation.revoked"} <= actions  # fmt: skip
    assert "outsider@example.com" in _dump()
    user_delete(user=team.users["outsider"], password=PASSWORD)
    assert "outsider@example.com" not in _dump()
    # The records stay (that a member was invited, promoted, removed), bare of the address.
    assert set(acme.values_list("action", flat=True)) == actions
    assert "owner@example.com" in _dump()  # only theirs goes


def test_the_purge_deletes_members_personal_exports_holding_the_workspace(team, doomed):
    """The owner's personal export holds the post they wrote in Acme: it goes with Acme. The
    outsider's (never a member of Acme) stays."""
    from accounts.exports import export_build, export_request_personal

    responses.add(responses.POST, f"{BASE}/revoke", body="")
    mine = export_request_personal(user=team.users["owner"])
    theirs = export_request_personal(user=team.users["outsider"])
    export_build(mine.pk)
    export_build(theirs.pk)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert default_storage.exists(mine.file.name)
    workspace = Workspace.objects.get(pk=team.workspace.pk)
    from accounts.deletion import workspace_purge

    workspace_purge(workspace=workspace)
    assert not default_storage.exists(mine.file.name)
    assert not DataExport.objects.filter(pk=mine.pk).exists()
    assert default_storage.exists(theirs.file.name)
    assert DataExport.objects.filter(pk=theirs.pk).exists()


def test_someone_without_a_password_deletes_their_account_by_typing_their_email(team):
    """A Google-only user has no usable password: they confirm with their address instead."""
    user = team.users["outsider"]
    user.set_unusable_password()
    user.save()
    client = team.client("outsider")
    page = client.get(reverse("account_delete")).content.decode()
    assert 'name="confirm_email"' in page
    assert 'name="password"' not in page
    assert client.post(reverse("account_delete"), {"password": ""}).status_code == 400
    assert client.post(reverse("account_delete"), {"confirm_email": "someone@else.com"}).status_code == 400
    assert User.objects.filter(pk=user.pk).exists()
    assert client.post(reverse("account_delete"), {"confirm_email": " Outsider@Example.com "}).status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    # With a password, typing the address is not enough.
    with pytest.raises(ValidationError) as refused:
        user_delete(user=team.users["editor"], confirm_email="editor@example.com")
    assert "password" in refused.value.message_dict


def test_a_platform_unreachable_at_purge_time_holds_the_purge_for_the_next_run(team, doomed, time_machine):
    """The consent must be revoked before its tokens are deleted: a platform that does not answer
    keeps the workspace (tokens and all) for the next hourly run, until it answers."""
    import requests

    from accounts.deletion import PURGE_REVOKE_ATTEMPTS

    responses.add(responses.POST, f"{BASE}/revoke", body=requests.ConnectionError("down"))
    workspace_delete_request(actor=team.membership("owner"), confirm_name="Acme")
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1))
    workspaces_purge_due()
    workspace = Workspace.objects.get(pk=team.workspace.pk)
    assert workspace.purge_revoke_attempts == 1
    account = SocialAccount.objects.get(username="ada-oauth")
    assert account.status != SocialAccount.Status.DISCONNECTED
    assert account.grant.secrets["refresh_token"] == REFRESH
    responses.replace(responses.POST, f"{BASE}/revoke", body="")
    time_machine.move_to(timezone.now() + timedelta(hours=1))
    workspaces_purge_due()
    assert not Workspace.objects.filter(pk=team.workspace.pk).exists()
    assert [parse_qs(c.request.body)["token"] for c in responses.calls][-1] == [REFRESH]
    assert REFRESH not in _dump()
    assert PURGE_REVOKE_ATTEMPTS > 1


def test_after_the_last_attempt_the_purge_goes_ahead_and_says_what_was_not_revoked(team, doomed, time_machine):
    import requests

    from accounts.deletion import PURGE_REVOKE_ATTEMPTS

    responses.add(responses.POST, f"{BASE}/revoke", body=requests.ConnectionError("down"))
    workspace_delete_request(actor=team.membership("owner"), confirm_name="Acme")
    Workspace.objects.filter(pk=team.workspace.pk).update(purge_revoke_attempts=PURGE_REVOKE_ATTEMPTS - 1)
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1))
    workspaces_purge_due()
    assert not Workspace.objects.filter(pk=team.workspace.pk).exists()
    assert REFRESH not in _dump()
    purged = AuditRecord.objects.get(action="workspace.purged", workspace_id=team.workspace.pk)
    assert purged.details == {"not_revoked": 1}
