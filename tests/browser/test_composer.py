"""The composer in a browser: network previews updated as one types, the main button's words,
the date and time only when scheduling, thread replies reordered and removed; at a phone's width
and a desktop's, without sideways scroll or axe faults."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Membership
from tests.browser.test_pages import _axe, _overflow, axe_source  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _account(owner) -> None:
    from connections.registry import get_provider
    from connections.services import account_save

    membership = Membership.objects.get(user=owner)
    connection = get_provider("demo").connect_with_form(data={"identifier": "ada", "display_name": "Ada"})
    account_save(workspace=membership.workspace, platform="demo", connection=connection, user=owner)


@pytest.mark.parametrize("width", [390, 1280])
def test_previews_button_words_and_replies(live_server, page: Page, signed_in, axe_source, width, shot):  # noqa: F811
    _account(signed_in)
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_label("Demo network · Ada").check()
    page.get_by_label("Post", exact=True).fill("Launch #news at https://example.com with @ada")
    preview = page.get_by_role("region", name="Preview on Demo network as @ada")
    expect(preview.locator(".pv-tag")).to_have_text("#news")
    expect(preview.locator(".pv-link")).to_have_text("https://example.com")
    expect(preview.locator(".pv-mention")).to_have_text("@ada")
    expect(page.locator("#submit-label")).to_have_text("Publish now")
    expect(page.get_by_label("Date")).to_be_disabled()

    page.get_by_label("Schedule", exact=True).check()
    expect(page.get_by_label("Date")).to_be_enabled()
    page.get_by_label("Date").fill("2031-05-06")
    page.get_by_label("Time (Europe/Paris)").fill("10:30")
    expect(page.locator("#submit-label")).to_have_text("Schedule for Tue 6 May 2031, 10:30")
    page.get_by_label("Save draft").check()
    expect(page.locator("#submit-label")).to_have_text("Save draft")
    expect(page.get_by_label("Time (Europe/Paris)")).to_be_disabled()

    for text in ("one", "two", "three"):
        page.get_by_role("button", name="+ Add a thread reply").click()
        page.keyboard.type(text)
    page.get_by_role("button", name="Move thread reply 3 up").click()
    expect(page.get_by_role("textbox", name="Thread reply 2", exact=True)).to_have_value("three")
    expect(page.get_by_role("button", name="Move thread reply 2 up")).to_be_focused()
    page.get_by_role("button", name="Remove thread reply 1").click()
    expect(page.get_by_role("textbox", name="Thread reply 1", exact=True)).to_have_value("three")
    expect(page.get_by_role("textbox", name="Thread reply 2", exact=True)).to_have_value("two")
    expect(preview.locator(".pv-reply")).to_have_count(2)
    expect(preview.locator(".pv-reply").first).to_contain_text("three")
    shot("composer")
    assert _overflow(page) <= 0
    assert _axe(page, axe_source) == []

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()


def test_the_media_library_is_a_picker(live_server, page: Page, signed_in, axe_source):  # noqa: F811
    from publishing.media import media_store
    from publishing.models import Post
    from tests.browser.test_pages import _png

    _account(signed_in)
    media_store(actor=Membership.objects.get(user=signed_in), upload=_png())
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_label("Demo network · Ada").check()
    page.get_by_label("Post", exact=True).fill("From the library")
    page.get_by_role("button", name="Choose from the library").click()
    dialog = page.get_by_role("dialog", name="Media library")
    pick = dialog.get_by_role("button", name="Attach sky.png")
    expect(pick).to_be_focused()
    assert _axe(page, axe_source) == []
    pick.click()
    expect(dialog.get_by_role("status")).to_have_text("sky.png attached.")
    dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_label("Alt text for sky.png")).to_be_visible()
    expect(page.locator("#checks .pv-media img")).to_have_count(1)
    page.get_by_label("Save draft").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    assert Post.objects.get().contents.get(kind="main").attachments.count() == 1
