"""The confirm dialog (static JS, no inline script) before cancel and disconnect, then undo."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership
from connections.models import SocialAccount
from publishing.models import Post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _demo_post(owner) -> tuple[Post, SocialAccount]:
    from connections.registry import get_provider
    from connections.services import account_save
    from publishing import services
    from publishing.inputs import PartInput, PostInput

    membership = Membership.objects.get(user=owner)
    connection = get_provider("demo").connect_with_form(data={"identifier": "ada", "display_name": "Ada"})
    account = account_save(workspace=membership.workspace, platform="demo", connection=connection, user=owner)
    data = PostInput(parts=[PartInput("Hello")], account_ids=[account.id])
    return services.post_create(actor=membership, data=data), account


def test_cancel_asks_in_a_dialog_then_restore_and_duplicate(live_server, page: Page, signed_in, shot):
    post, _account = _demo_post(signed_in)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/posts/{post.pk}/")
    page.get_by_role("button", name="Cancel post").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel this post?")
    expect(dialog.get_by_role("button", name="Go back")).to_be_focused()
    shot("confirm-dialog")
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT

    page.get_by_role("button", name="Cancel post").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel post").click()
    expect(page.get_by_text("Canceled. Nothing more will be published")).to_be_visible()
    post.refresh_from_db()
    assert post.status == Post.Status.CANCELED

    page.get_by_role("button", name="Restore as draft").click()
    expect(page.get_by_text("Restored as a draft.")).to_be_visible()
    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_text("Copied as a new draft")).to_be_visible()
    assert Post.objects.count() == 2


def test_disconnect_asks_first(live_server, page: Page, signed_in):
    _post, account = _demo_post(signed_in)
    page.goto(f"{live_server.url}/connections/")
    page.get_by_role("button", name="Disconnect").click()
    page.get_by_role("dialog").get_by_role("button", name="Disconnect").click()
    expect(page.get_by_text("Its published posts stay in your history.")).to_be_visible()
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.DISCONNECTED
