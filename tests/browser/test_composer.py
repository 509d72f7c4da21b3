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


def _picture(name: str, width: int, height: int):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 90)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.mark.parametrize("width", [390, 1280])
def test_image_shapes_are_judged_and_framed(live_server, page: Page, signed_in, axe_source, width, shot):  # noqa: F811
    from publishing.media import media_store

    _account(signed_in)
    membership = Membership.objects.get(user=signed_in)
    media_store(actor=membership, upload=_picture("tall.png", 90, 160))
    media_store(actor=membership, upload=_picture("wide.png", 160, 120))
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_label("Demo network · Ada").check()
    page.get_by_label("Post", exact=True).fill("Shapes")
    page.get_by_role("button", name="Choose from the library").click()
    dialog = page.get_by_role("dialog", name="Media library")
    dialog.get_by_role("button", name="Attach tall.png").click()
    dialog.get_by_role("button", name="Attach wide.png").click()
    dialog.get_by_role("button", name="Done").click()

    preview = page.get_by_role("region", name="Preview on Demo network as @ada")
    expect(preview.locator("[data-aspect-fit=cut]")).to_have_text(
        "Demo images: the feed shows 4:5 to 1.91:1 whole; tall.png (9:16) will be cut to 4:5 at the top and bottom."
    )
    expect(preview.locator("[data-aspect-fit=fits]")).to_have_text("Demo images: 4:5 to 1.91:1; wide.png (4:3) fits.")
    frame = preview.locator(".pv-frame")
    expect(frame).to_have_count(1)
    image = preview.locator(".pv-shot-cut img")
    expect(image).to_be_visible()
    kept, whole = frame.bounding_box(), image.bounding_box()
    assert kept
    assert whole
    assert kept["width"] == pytest.approx(whole["width"], abs=2)  # full width, a 4:5 window
    assert kept["height"] == pytest.approx(whole["height"] * 0.703, abs=3)
    assert kept["y"] > whole["y"] + 5  # centred: the top and the bottom are the parts cut
    shot("composer-aspect")
    assert _overflow(page) <= 0
    assert _axe(page, axe_source) == []


def test_options_that_depend_on_another_show_only_for_its_choices(live_server, page: Page, signed_in, axe_source):  # noqa: F811
    """Google Business Profile's event fields show for events and offers, its offer fields for
    offers, and its button for everything but offers."""
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    membership = Membership.objects.get(user=signed_in)
    connection = Connection(profile=Profile(external_id="9876543210", username="Acme Downtown"),
                            secrets={"access_token": "ya29.test"},
                            extra={"parent": "accounts/1/locations/9876543210"})  # fmt: skip
    account_save(workspace=membership.workspace, platform="google_business", connection=connection, user=signed_in)
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_text("Customize for Google Business Profile").click()
    start, code = page.get_by_label("Starts (the business's local time)"), page.get_by_label("Offer coupon code")
    button = page.get_by_label("Button", exact=True)
    expect(start).to_be_hidden()
    expect(code).to_be_hidden()
    expect(button).to_be_visible()
    page.get_by_label("Post type").select_option("EVENT")
    expect(start).to_be_visible()
    expect(code).to_be_hidden()
    page.get_by_label("Post type").select_option("OFFER")
    expect(code).to_be_visible()
    expect(start).to_be_visible()
    expect(button).to_be_hidden()
    assert _axe(page, axe_source) == []
