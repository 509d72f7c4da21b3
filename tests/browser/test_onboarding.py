"""The first journey of a new user, in a real browser against a live server."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Invitation, Membership, User, Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-and-unusual-passphrase-9"


def test_signup_verify_create_switch_and_invite(live_server, page: Page, shot):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"^Password \(again\)")).fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mail.outbox[-1].body).group(0)
    page.goto(live_server.url + urlsplit(link).path)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="ada's workspace")).to_be_visible()
    shot("dashboard")

    page.locator("details.switcher summary").click()
    page.get_by_role("link", name="+ New workspace").click()
    page.get_by_label("Name").fill("Launch team")
    page.get_by_label("Time zone").fill("europe/berlin")  # searchable; case is forgiven
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", name="Launch team")).to_be_visible()
    expect(page.get_by_text("Times in this workspace are shown in Europe/Berlin.")).to_be_visible()

    # Switch back and forth through the switcher in the top bar.
    page.locator("details.switcher summary").click()
    page.locator("details.switcher").get_by_role("button", name=re.compile("ada's workspace")).click()
    expect(page.get_by_role("heading", name="ada's workspace")).to_be_visible()
    page.locator("details.switcher summary").click()
    page.locator("details.switcher").get_by_role("button", name=re.compile("Launch team")).click()
    expect(page.get_by_role("heading", name="Launch team")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Send invitation").click()
    panel = page.locator("#invitations-panel")
    expect(panel.get_by_text("Invitation sent to grace@example.com.")).to_be_visible()
    expect(panel.get_by_role("cell", name="grace@example.com")).to_be_visible()
    shot("members")

    user = User.objects.get(email="ada@example.com")
    launch = Workspace.objects.get(name="Launch team")
    assert user.current_workspace == launch
    assert Membership.objects.get(user=user, workspace=launch).role == "owner"
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.workspace) == ("grace@example.com", "viewer", launch)
    assert any("grace@example.com" in m.to for m in mail.outbox)


def test_invite_form_shows_inline_error_without_reload(live_server, page: Page, shot):
    from accounts.services import workspace_create
    from tests.fixtures import make_user

    owner = make_user("owner@example.com", password=PASSWORD)
    workspace_create(owner=owner, name="Acme")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.goto(f"{live_server.url}/settings/members/")
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#invitations-panel .errorlist")).to_contain_text("already a member")
    assert not Invitation.objects.exists()
