"""The audit log: a record for every listed action (with who, where, from which address and
browser), append-only everywhere (models, querysets, Django admin), the workspace page with its
filters and CSV export, and the email for a sign-in from a browser never seen before."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AppendOnly, AuditRecord, Invitation, KnownDevice, Membership, Plan
from api.keys import api_key_create, api_key_revoke
from connections.services import account_disconnect
from publishing import approvals
from publishing import services as posts
from publishing.inputs import PartInput, PostInput, When
from tests.fixtures import PASSWORD, assert_role_gate
from webhooks import services as webhooks

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"


def _actions(**filters) -> list[str]:
    return list(AuditRecord.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def _sign_in(email: str, password: str = PASSWORD, agent: str = FIREFOX):
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR="203.0.113.7")
    return client.post(reverse("account_login"), {"login": email, "password": password})


# --- Sign-in --------------------------------------------------------------------------------------


def test_sign_in_and_failed_sign_in_are_recorded_with_address_and_browser(team):
    assert _sign_in("editor@example.com").status_code == 302
    record = AuditRecord.objects.get(action="auth.login")
    assert (record.actor_user, record.ip, record.user_agent) == (team.users["editor"], "203.0.113.7", FIREFOX)
    assert _sign_in("editor@example.com", password="wrong").status_code == 200
    failed = AuditRecord.objects.get(action="auth.login_failed")
    assert failed.actor_user is None
    assert failed.object_label == "editor@example.com"
    assert failed.ip == "203.0.113.7"
    assert "wrong" not in str(failed.details)


def test_a_sign_in_from_an_unseen_browser_emails_the_user(team):
    _sign_in("admin@example.com")  # the first browser: nothing to compare with, no email
    _sign_in("admin@example.com")
    assert mail.outbox == []
    _sign_in("admin@example.com", agent=SAFARI)
    assert [m.to for m in mail.outbox] == [["admin@example.com"]]
    assert "203.0.113.7" in mail.outbox[0].body
    assert SAFARI in mail.outbox[0].body
    assert KnownDevice.objects.filter(user=team.users["admin"]).count() == 2
    assert _actions(action="auth.new_device") == ["auth.new_device"]


def test_password_change_is_recorded(team):
    client = Client(HTTP_USER_AGENT=FIREFOX)
    client.force_login(team.users["viewer"])
    new = "another-long-passphrase-77"
    response = client.post(
        reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": new, "password2": new}
    )
    assert response.status_code == 302
    record = AuditRecord.objects.get(action="auth.password_changed")
    assert (record.actor_user, record.user_agent) == (team.users["viewer"], FIREFOX)


def test_two_factor_changes_are_recorded(team):
    user = team.users["owner"]
    authenticator = Authenticator(user=user, type=Authenticator.Type.TOTP)
    authenticator_added.send(sender=Authenticator, request=None, user=user, authenticator=authenticator)
    record = AuditRecord.objects.get(action="mfa.added")
    assert (record.actor_user, record.details) == (user, {"type": "totp"})


# --- Workspace actions ----------------------------------------------------------------------------


def test_members_invitations_and_roles_are_recorded(team):
    owner = team.membership("owner")
    invitation, _token = services.invitation_create(actor=owner, email="new@example.com", role="editor")
    services.invitation_revoke(actor=owner, invitation=Invitation.objects.get(pk=invitation.pk))
    services.membership_change_role(actor=owner, membership=team.membership("viewer"), role="editor")
    services.membership_remove(actor=owner, membership=team.membership("editor"))
    services.membership_leave(actor=team.membership("admin"))
    ws = team.workspace.pk
    assert _actions(workspace_id=ws) == [
        "invitation.created", "invitation.revoked", "member.role_changed", "member.removed", "member.left",
    ]  # fmt: skip
    role = AuditRecord.objects.get(action="member.role_changed")
    assert (role.actor_label, role.object_label, role.details) == (
        "owner@example.com", "viewer@example.com", {"from": "viewer", "to": "editor"})  # fmt: skip
    # A refused change leaves no record: nothing happened.
    with pytest.raises(Exception):  # noqa: B017, PT011 - PermissionDenied from the services
        services.membership_remove(actor=team.membership("viewer"), membership=owner)
    assert AuditRecord.objects.filter(workspace_id=ws).count() == 5


def test_settings_and_plan_changes_are_recorded(team):
    services.workspace_update(actor=team.membership("admin"), name="Acme Ltd", timezone_name="Europe/Paris",
                              approval_policy="editors")  # fmt: skip
    record = AuditRecord.objects.get(action="workspace.updated")
    assert record.details == {"name": ["Acme", "Acme Ltd"], "approval_policy": ["off", "editors"]}
    team.workspace.refresh_from_db()
    team.workspace.plan = Plan.objects.create(name="Audit test plan")
    team.workspace.save()
    assert AuditRecord.objects.get(action="workspace.plan_changed").workspace_id == team.workspace.pk


def test_connections_keys_webhooks_and_approvals_are_recorded(team, demo_accounts):
    admin = team.membership("admin")
    account_disconnect(actor=admin, account=demo_accounts[0])
    key, _token = api_key_create(actor=admin, name="ci-bot", scope="read")
    api_key_revoke(actor=admin, key=key)
    endpoint, _secret = webhooks.endpoint_create(actor=admin, url="http://127.0.0.1:8999/hook")
    webhooks.endpoint_update(actor=admin, endpoint=endpoint, description="ops")
    webhooks.endpoint_rotate_secret(actor=admin, endpoint=endpoint)
    webhooks.endpoint_delete(actor=admin, endpoint=endpoint)
    team.workspace.approval_policy = "editors"
    team.workspace.save(update_fields=["approval_policy"])
    data = PostInput(parts=[PartInput("Hi")], account_ids=[demo_accounts[1].id],
                     when=When.at(timezone.now() + timedelta(hours=2)))  # fmt: skip
    post = posts.post_create(actor=team.membership("editor"), data=data)
    approvals.post_approve(actor=admin, post=post)
    assert _actions(workspace_id=team.workspace.pk) == [
        "account.connected", "account.connected", "account.disconnected", "api_key.created", "api_key.revoked",
        "webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.deleted", "approval.approved",
    ]  # fmt: skip
    secrets = AuditRecord.objects.filter(action__startswith="api_key")
    assert all(_token not in str(r.details) for r in secrets)
    assert AuditRecord.objects.get(action="account.disconnected").object_label == "demo @alpha"


def test_api_key_use_is_recorded_on_first_use_and_from_a_new_address(team):
    from api.keys import api_key_authenticate

    key, token = api_key_create(actor=team.membership("owner"), name="ci-bot", scope="read")
    for ip in ("192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.9"):
        api_key_authenticate(token=token, ip=ip)
    used = AuditRecord.objects.filter(action="api_key.used").order_by("id")
    assert [r.details["ip"] for r in used] == ["192.0.2.1", "192.0.2.9"]
    assert {(r.actor_label, r.workspace_id, r.object_id) for r in used} == {
        ("API key ci-bot", team.workspace.pk, str(key.pk))}  # fmt: skip


def test_own_app_keys_are_recorded_without_the_secret(team):
    client = team.client("admin")
    url = reverse("connection_app", args=["oauth2-test"])
    saved = client.post(url, {"client_id": "our-client", "client_secret": "s3cret-value-991", "scopes": ""})
    assert saved.status_code == 302, saved.content
    assert client.post(url, {"delete": "1"}).status_code == 302
    records = list(AuditRecord.objects.filter(action__startswith="oauth_app").order_by("id"))
    assert [r.action for r in records] == ["oauth_app.saved", "oauth_app.removed"]
    assert all("s3cret-value-991" not in f"{r.object_label}{r.details}" for r in records)
    assert records[0].actor_label == "admin@example.com"


# --- Append-only ----------------------------------------------------------------------------------


def test_records_cannot_be_changed_or_deleted(team):
    services.invitation_create(actor=team.membership("owner"), email="x@example.com", role="viewer")
    record = AuditRecord.objects.get()
    record.action = "auth.login"
    with pytest.raises(AppendOnly):
        record.save()
    with pytest.raises(AppendOnly):
        record.delete()
    with pytest.raises(AppendOnly):
        AuditRecord.objects.filter(pk=record.pk).update(action="auth.login")
    with pytest.raises(AppendOnly):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().action == "invitation.created"
    assert AuditRecord.objects.expire(before=timezone.now() - timedelta(days=1)) == 0
    assert AuditRecord.objects.expire(before=timezone.now() + timedelta(seconds=1)) == 1


def test_django_admin_reads_but_cannot_edit(team):
    services.invitation_create(actor=team.membership("owner"), email="x@example.com", role="viewer")
    record = AuditRecord.objects.get()
    staff = team.users["owner"]
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = team.client("owner")
    assert client.get(reverse("admin:accounts_auditrecord_changelist")).status_code == 200
    assert client.get(reverse("admin:accounts_auditrecord_add")).status_code == 403
    change = reverse("admin:accounts_auditrecord_change", args=[record.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert b'name="action"' not in page.content  # shown, not editable
    client.post(change, {"action": "auth.login", "actor_label": "someone else"})
    assert client.get(reverse("admin:accounts_auditrecord_delete", args=[record.pk])).status_code == 403
    assert AuditRecord.objects.get().actor_label == "owner@example.com"


# --- The dashboard page ---------------------------------------------------------------------------


def test_the_audit_page_is_for_admins_and_shows_only_this_workspace(team):
    url = reverse("audit_log")
    assert_role_gate(team, url, lowest="admin", object_url=False)
    services.invitation_create(actor=team.membership("owner"), email="mine@example.com", role="viewer")
    other = Membership.objects.get(workspace=team.other_workspace)
    services.invitation_create(actor=other, email="theirs@example.com", role="viewer")
    page = team.client("admin").get(url)
    assert b"mine@example.com" in page.content
    assert b"theirs@example.com" not in page.content


def test_filters_and_csv_export(team, client):
    owner = team.membership("owner")
    services.invitation_create(actor=owner, email="a@example.com", role="viewer")
    services.membership_change_role(actor=team.membership("admin"), membership=team.membership("viewer"),
                                    role="editor")  # fmt: skip
    client = team.client("owner")
    url = reverse("audit_log")
    by_action = client.get(url, {"action": "member.role_changed"})
    assert by_action.content.count(b'data-action="') == 1
    by_actor = client.get(url, {"actor": "owner@"})
    assert by_actor.content.count(b'data-action="invitation.created"') == 1
    assert b'data-action="member.role_changed"' not in by_actor.content
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    assert b"Nothing recorded" in client.get(url, {"since": tomorrow}).content
    assert client.get(url, {"since": "not-a-date"}).status_code == 200
    export = client.get(url, {"format": "csv", "action": "member.role_changed"})
    assert export["Content-Type"] == "text/csv"
    lines = b"".join(export.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("time,action,actor")
    assert len(lines) == 2
    assert "member.role_changed,admin@example.com" in lines[1]


def test_ip_and_browser_reach_records_written_by_services(team):
    client = Client(HTTP_USER_AGENT=SAFARI, REMOTE_ADDR="198.51.100.4")
    client.force_login(team.users["owner"])
    viewer = team.membership("viewer")
    response = client.post(reverse("member_role", args=[viewer.pk]), {"role": "editor"})
    assert response.status_code == 302
    record = AuditRecord.objects.get(action="member.role_changed")
    assert (record.ip, record.user_agent) == ("198.51.100.4", SAFARI)
