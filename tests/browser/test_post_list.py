"""The Posts list in a browser: tabs, select all, the bulk bar's day and time only when moving,
the confirmation page, at a phone's width and a desktop's, without sideways scroll or axe faults."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Membership
from publishing.models import Post
from tests.browser.test_pages import _axe, _overflow, axe_source  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _scheduled_posts(owner, n: int) -> list[Post]:
    from connections.registry import get_provider
    from connections.services import account_save
    from publishing import services
    from publishing.inputs import PartInput, PostInput, When

    membership = Membership.objects.get(user=owner)
    connection = get_provider("demo").connect_with_form(data={"identifier": "ada", "display_name": "Ada"})
    account = account_save(workspace=membership.workspace, platform="demo", connection=connection, user=owner)
    soon = timezone.now() + timedelta(days=2)
    return [
        services.post_create(actor=membership, data=PostInput(parts=[PartInput(f"Plan {i} #launch")],
                             account_ids=[account.id], when=When.at(soon + timedelta(hours=i))))
        for i in range(n)
    ]  # fmt: skip


def _fits(page: Page, axe_source: str) -> None:  # noqa: F811
    assert _overflow(page) <= 0
    assert _axe(page, axe_source) == []


@pytest.mark.parametrize("width", [390, 1280])
def test_select_all_cancel_after_confirming_then_delete(live_server, page: Page, signed_in, axe_source, width, shot):  # noqa: F811
    posts = _scheduled_posts(signed_in, 3)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/")
    expect(page.get_by_role("link", name="Scheduled 3")).to_have_attribute("aria-current", "page")
    _fits(page, axe_source)

    bar = page.get_by_role("form", name="Change the selected posts")
    expect(bar.get_by_label("Day")).to_be_visible()  # "Move to…" is the first choice
    bar.get_by_label("All on this page").check()
    expect(page.locator("#bulk-count")).to_have_text("3 posts selected")
    shot("selected")
    bar.get_by_label("With the selected").select_option("cancel")
    expect(bar.get_by_label("Day")).to_be_hidden()
    bar.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Cancel 3 posts?")).to_be_visible()
    _fits(page, axe_source)
    assert Post.objects.filter(status="canceled").count() == 0  # nothing happens before the answer
    page.get_by_role("button", name="Cancel them").click()
    expect(page.get_by_text("3 posts canceled.")).to_be_visible()
    assert Post.objects.filter(status="canceled").count() == 3

    page.get_by_role("link", name="Canceled 3").click()
    page.get_by_label("Select post 1").check()
    expect(page.locator("#bulk-count")).to_have_text("1 post selected")
    page.get_by_label("With the selected").select_option("delete")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Delete them").click()
    expect(page.get_by_text("1 post deleted.")).to_be_visible()
    expect(page.get_by_role("link", name="Canceled 2")).to_be_visible()
    assert Post.objects.filter(pk__in=[p.pk for p in posts]).count() == 2
