from django.urls import reverse

from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from tests.fixtures import assert_role_gate, login, make_user


def test_create_second_workspace_and_switch(team):
    owner = team.users["owner"]
    client = login(owner)
    response = client.post(reverse("workspace_create"), {"name": "  Side project ", "timezone": "America/New_York"})
    assert response.status_code == 302
    created = Workspace.objects.get(name="Side project")
    owner.refresh_from_db()
    assert owner.current_workspace == created
    assert Membership.objects.get(workspace=created, user=owner).role == Role.OWNER
    client.post(reverse("workspace_switch", args=[team.workspace.pk]))
    owner.refresh_from_db()
    assert owner.current_workspace == team.workspace
    page = client.get(reverse("dashboard"))
    assert b"Acme" in page.content


def test_workspace_form_rejects_unknown_timezone_and_blank_name(team):
    client = team.client("owner")
    response = client.post(reverse("workspace_create"), {"name": " ", "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert b"Give the workspace a name" in response.content
    assert b"Mars/Olympus is not a time zone we know" in response.content
    assert Workspace.objects.count() == 2


def test_cannot_switch_to_a_workspace_you_are_not_in(team):
    client = team.client("editor")
    response = client.post(reverse("workspace_switch", args=[team.other_workspace.pk]))
    assert response.status_code == 404
    team.users["editor"].refresh_from_db()
    assert team.users["editor"].current_workspace == team.workspace


def test_settings_are_for_admins_and_owners(team):
    url = reverse("workspace_settings")
    assert_role_gate(team, url, lowest="admin", object_url=False)
    response = team.client("admin").post(url, {"name": "Acme Corp", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    team.workspace.refresh_from_db()
    assert (team.workspace.name, team.workspace.timezone) == ("Acme Corp", "Asia/Tokyo")


def test_viewer_cannot_post_settings_by_url(team):
    response = team.client("viewer").post(reverse("workspace_settings"), {"name": "Hacked", "timezone": "UTC"})
    assert response.status_code == 403
    team.workspace.refresh_from_db()
    assert team.workspace.name == "Acme"


def test_user_without_workspace_is_asked_to_create_one(db):
    user = User.objects.create_user(email="lonely@example.com", password="x")
    client = login(user)
    assert b"You are not in any workspace" in client.get(reverse("dashboard")).content
    response = client.get(reverse("calendar"))
    assert response.status_code == 302
    assert response.url == reverse("workspace_create")


def test_current_workspace_falls_back_when_membership_is_gone(team):
    editor = team.users["editor"]
    backup = workspace_of(make_user("x@example.com"))
    Membership.objects.create(workspace=backup, user=editor, role=Role.VIEWER)
    Membership.objects.filter(workspace=team.workspace, user=editor).delete()
    response = login(editor).get(reverse("dashboard"))
    assert response.status_code == 200
    editor.refresh_from_db()
    assert editor.current_workspace == backup


def workspace_of(user: User) -> Workspace:
    from accounts.services import workspace_create

    return workspace_create(owner=user, name=f"{user.email} space")


def test_pages_of_every_section_render(team):
    client = team.client("viewer")
    for name in ("dashboard", "calendar", "posts", "connections", "analytics", "members", "workspace_list"):
        assert client.get(reverse(name)).status_code == 200, name
