"""The agency journey in a real browser, on a laptop and on a phone: an editor submits a post, an
admin asks for a change, the editor fixes it, the admin approves, and it publishes — all of it in
the post's history and the audit log."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import AuditRecord, Membership
from accounts.roles import Role
from connections.providers.demo.models import DemoPost
from publishing.models import Post
from tests.fixtures import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{url}/")


def _team(owner) -> None:
    from connections.registry import get_provider
    from connections.services import account_save

    workspace = owner.memberships.get().workspace
    workspace.approval_policy = "editors"
    workspace.save(update_fields=["approval_policy"])
    editor = make_user("editor@example.com")
    Membership.objects.create(workspace=workspace, user=editor, role=Role.EDITOR)
    editor.current_workspace = workspace
    editor.save(update_fields=["current_workspace"])
    connection = get_provider("demo").connect_with_form(data={"identifier": "ada-demo", "display_name": "Ada Demo"})
    account_save(workspace=workspace, platform="demo", connection=connection, user=owner)


@pytest.mark.parametrize("width", [1280, 390])
def test_submit_request_changes_fix_approve_publish(
    live_server, page: Page, browser: Browser, signed_in, dispatcher, shot, width
):
    _team(signed_in)
    size = {"width": width, "height": 900 if width > 800 else 844}
    page.set_viewport_size(size)
    editor = browser.new_page(viewport=size)
    _sign_in(editor, live_server.url, "editor@example.com")

    # The editor writes a post: the button says what will happen.
    editor.goto(f"{live_server.url}/posts/new/")
    editor.get_by_label(re.compile("Demo network · Ada Demo")).check()
    editor.get_by_label("Post", exact=True).fill("Summer sale starts now")
    editor.get_by_label("Publish now").check()
    editor.get_by_role("button", name="Submit for approval").click()
    expect(editor.locator("#post-status")).to_have_text("Awaiting approval")
    post = Post.objects.get()

    # The admin (here the owner) reviews it from the queue and asks for a change.
    page.goto(f"{live_server.url}/posts/approvals/")
    expect(page.locator(".review-item")).to_contain_text("Summer sale starts now")
    page.locator(".review-item").get_by_role("link", name="Review").click()
    page.get_by_label("What should change?").fill("It is a spring sale.")
    shot(f"review-{width}")
    page.get_by_role("button", name="Request changes").click()
    expect(page.get_by_text("Sent back to the author")).to_be_visible()

    # The editor sees why, fixes it and submits again (the form kept "publish now").
    editor.goto(f"{live_server.url}/posts/{post.pk}/")
    expect(editor.locator("#comments")).to_contain_text("It is a spring sale.")
    expect(editor.locator("#post-status")).to_have_text("Changes requested")
    editor.get_by_role("link", name="Edit").click()
    editor.get_by_label("Post", exact=True).fill("Spring sale starts now")
    editor.get_by_label("Publish now").check()
    editor.get_by_role("button", name="Submit for approval").click()
    expect(editor.locator("#post-status")).to_have_text("Awaiting approval")
    assert DemoPost.objects.count() == 0  # nothing went out while it waited

    # The admin approves; the dispatcher publishes it.
    page.goto(f"{live_server.url}/posts/{post.pk}/")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved: the post is scheduled.")).to_be_visible()
    expect(page.locator("#post-status")).to_have_text("Published", timeout=30_000)
    history = page.locator("#history")
    for words in ("submitted for approval", "changes requested", "approved", "published to"):
        expect(history).to_contain_text(words)
    shot(f"published-{width}")
    assert DemoPost.objects.get().text == "Spring sale starts now"

    page.goto(f"{live_server.url}/settings/audit/?action=approval.approved")
    expect(page.locator("tbody tr[data-action='approval.approved']")).to_have_count(1)
    assert set(AuditRecord.objects.filter(workspace_id=post.workspace_id).values_list("action", flat=True)) >= {
        "approval.changes_requested", "approval.approved"}  # fmt: skip
    editor.close()
