"""Importing past posts from the Accounts page in a browser, at a phone's width and a desktop's:
the button right after connecting, the progress in place, the imported posts in the list."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership
from tests.browser.test_pages import _axe, _overflow, axe_source  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1280])
def test_import_past_posts_after_connecting(live_server, page: Page, signed_in, axe_source, width, settings, shot):  # noqa: F811
    from connections.registry import get_provider
    from connections.services import account_save

    settings.DEMO_PAST_POSTS = 12
    membership = Membership.objects.get(user=signed_in)
    connection = get_provider("demo").connect_with_form(data={"identifier": "ada", "display_name": "Ada"})
    account_save(workspace=membership.workspace, platform="demo", connection=connection, user=signed_in)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/connections/")
    expect(page.get_by_text("Just connected: bring in what it posted before?")).to_be_visible()
    assert _overflow(page) <= 0
    assert _axe(page, axe_source) == []
    page.get_by_role("button", name="Import past posts").click()
    # Tasks run inline in tests: the run has finished by the time the partial comes back.
    expect(page.get_by_text("Imported 12 past posts")).to_be_visible()
    shot(f"imported-{width}")
    assert _overflow(page) <= 0
    page.goto(f"{live_server.url}/posts/?tab=published")
    expect(page.locator(".badge", has_text="Imported")).to_have_count(12)
