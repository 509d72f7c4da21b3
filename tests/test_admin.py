from django.urls import reverse

from accounts import services
from accounts.models import Heartbeat, Invitation, Membership, Notification, User, Workspace
from tests.fixtures import login


def test_every_model_has_a_working_admin(team):
    admin_user = User.objects.create_superuser(email="root@example.com", password="x")
    client = login(admin_user)
    invitation, _ = services.invitation_create(actor=team.membership("owner"), email="a@example.com", role="viewer")
    services.notify(user=team.users["owner"], title="Hello")
    Heartbeat.objects.create(name="worker", last_seen="2026-01-01T00:00:00Z")
    for model in (User, Workspace, Membership, Invitation, Notification, Heartbeat):
        opts = model._meta
        changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "a"})
        assert changelist.status_code == 200, opts.model_name
        obj = model.objects.first()
        change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200, opts.model_name
    page = client.get(reverse("admin:accounts_invitation_change", args=[invitation.pk])).content.decode()
    assert invitation.token_hash not in page


def test_admin_is_closed_to_non_staff(team):
    response = team.client("owner").get(reverse("admin:index"))
    assert response.status_code == 302
