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


def test_an_operator_cannot_change_a_posts_approval_status_or_words_nor_a_targets_post(team, demo_accounts):
    """Approval is enforced in the services: Django admin must not be a way round it."""
    from datetime import timedelta

    from django.utils import timezone

    from publishing import services as publishing
    from publishing.inputs import PartInput, PostInput, When

    data = PostInput(parts=[PartInput("Approved words")], account_ids=[demo_accounts[0].id],
                     when=When.at(timezone.now() + timedelta(hours=2)))  # fmt: skip
    post = publishing.post_create(actor=team.membership("owner"), data=data)
    target = post.targets.get()
    client = login(User.objects.create_superuser(email="root@example.com", password="x"))
    page = client.get(reverse("admin:publishing_post_change", args=[post.pk])).content.decode()
    for field in ('name="approval"', 'name="status"', 'name="contents-0-text"', 'name="content_edited_by"'):
        assert field not in page, field
    assert "Approved words" in page  # shown, not editable
    page = client.get(reverse("admin:publishing_target_change", args=[target.pk])).content.decode()
    for field in ('name="post"', 'name="account"'):
        assert field not in page, field
