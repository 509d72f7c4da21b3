"""Connect Facebook Pages and a linked Instagram account through a fake Meta on loopback (the
same dialog redirect and Graph calls), then publish a carousel with a first comment to both."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from accounts.models import Membership
from connections.models import SocialAccount
from connections.providers.meta import login
from publishing.models import Post
from tests.browser import fake_meta

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def meta(settings, live_server, monkeypatch):
    fake, server = fake_meta.start()
    settings.META_GRAPH_URL = fake.url
    settings.META_DIALOG_URL = fake.url
    settings.SITE_URL = live_server.url  # where the dialog sends the browser back, and Meta fetches media
    settings.PLATFORM_CREDENTIALS = {
        **settings.PLATFORM_CREDENTIALS,
        "facebook": (fake_meta.APP_ID, fake_meta.APP_SECRET),
    }
    # Meta refuses to connect where it could not download media from SITE_URL; the fake Meta
    # lives on the same loopback as the site, so it can.
    monkeypatch.setattr(login, "require_public_site", lambda: None)
    yield fake
    server.shutdown()
    server.server_close()


def _jpeg(name: str, colour: tuple[int, int, int]) -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 640), colour).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_connect_pages_and_instagram_then_publish_a_carousel_to_both(
    live_server, page: Page, signed_in, meta, request, shot
):
    page.goto(f"{live_server.url}/connections/")
    page.get_by_role("button", name="Connect Facebook Pages").click()
    expect(page.get_by_role("heading", name="Postwright is asking to manage your Pages")).to_be_visible()
    page.get_by_role("link", name="Continue as Ada").click()

    # One consent, one selection step: Pages and the Instagram account linked to one of them.
    expect(page.get_by_role("heading", name=re.compile("Choose which"))).to_be_visible()
    cafe = page.get_by_role("checkbox", name=re.compile("Kitten Café Facebook Pages"))
    instagram = page.get_by_role("checkbox", name=re.compile("Kitten Café Instagram"))
    puppy = page.get_by_role("checkbox", name=re.compile("Puppy Club"))
    expect(cafe).to_be_checked()
    expect(instagram).to_be_checked()
    expect(puppy).to_be_disabled()
    why = "Cannot be connected: your role on this Page does not allow creating content"
    expect(page.get_by_text(why)).to_be_visible()
    shot("select")
    page.get_by_role("button", name="Connect selected").click()

    expect(page.locator("tr", has_text="@kittencafe").get_by_text("Active")).to_be_visible()
    expect(page.locator("tr", has_text="kittencafe").first).to_be_visible()
    assert sorted(SocialAccount.objects.values_list("platform", "external_id")) == [
        ("facebook", fake_meta.PAGE_ID),
        ("instagram", fake_meta.IG_ID),
    ]
    shot("accounts")

    from publishing.media import media_store

    membership = Membership.objects.get(user=signed_in)
    media_store(actor=membership, upload=_jpeg("latte.jpg", (190, 140, 90)))
    media_store(actor=membership, upload=_jpeg("cat.jpg", (60, 60, 70)))
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_label(re.compile("Facebook Pages · Kitten Café")).check()
    page.get_by_label(re.compile("Instagram · Kitten Café")).check()
    page.get_by_label("Post", exact=True).fill("Two new lattes this week #coffee")
    page.get_by_role("button", name="Choose from the library").click()
    dialog = page.get_by_role("dialog", name="Media library")
    dialog.get_by_role("button", name="Attach latte.jpg").click()
    dialog.get_by_role("button", name="Attach cat.jpg").click()
    dialog.get_by_role("button", name="Done").click()
    page.get_by_label(re.compile("First comment")).fill("Open 8 to 6, every day.")
    expect(page.locator("#checks")).to_contain_text("Ready")
    shot("composer")
    # Started only now: its claims beside the connect step's writes lock SQLite's shared memory.
    request.getfixturevalue("dispatcher")
    page.get_by_role("button", name="Publish now").click()

    expect(page.locator("#post-status")).to_have_text("Published", timeout=30_000)
    links = page.get_by_role("link", name="View the live post")
    expect(links).to_have_count(2)
    hrefs = sorted(links.nth(i).get_attribute("href") or "" for i in range(2))
    assert hrefs[0].startswith(f"https://www.facebook.com/{fake_meta.PAGE_ID}/posts/")
    assert re.match(r"https://www\.instagram\.com/p/Fk\d+/$", hrefs[1])
    shot("published")

    # Facebook: two unpublished photos, one post with both attached, the first comment on it.
    photos = meta.posted(f"{fake_meta.PAGE_ID}/photos")
    assert [fields["published"] for fields in photos] == ["false", "false"]
    (feed,) = meta.posted(f"{fake_meta.PAGE_ID}/feed")
    assert feed["message"] == "Two new lattes this week #coffee"
    assert {key for key in feed if key.startswith("attached_media")} == {"attached_media[0]", "attached_media[1]"}
    # Instagram: two carousel items, the parent, media_publish after a status check, the comment.
    media = meta.posted(f"{fake_meta.IG_ID}/media")
    assert [fields.get("is_carousel_item") for fields in media] == ["true", "true", None]
    assert media[2]["media_type"] == "CAROUSEL"
    assert len(meta.posted(f"{fake_meta.IG_ID}/media_publish")) == 1
    comments = [fields["message"] for method, path, fields in meta.calls if path.endswith("/comments")]
    assert comments == ["Open 8 to 6, every day."] * 2
    # Meta pulled every image from the app's signed URLs, as JPEG.
    assert len(meta.fetched) == 4
    assert all(status == 200 and kind == "image/jpeg" for _url, status, kind in meta.fetched)
    assert meta.unexpected == []
    target_urls = sorted(Post.objects.get().targets.values_list("url", flat=True))
    assert target_urls == hrefs


def test_cancelling_on_the_meta_dialog_connects_nothing_and_says_so(live_server, page: Page, signed_in, meta):
    page.goto(f"{live_server.url}/connections/")
    page.get_by_role("button", name="Connect Facebook Pages").click()
    expect(page.get_by_text("pages_manage_posts")).to_be_visible()  # the scopes publishing needs were asked for
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_text("You cancelled the connection on Facebook Pages; nothing was connected.")).to_be_visible()
    assert not SocialAccount.objects.exists()
    assert [path for _method, path, _fields in meta.calls] == ["dialog/oauth"], "no token was asked for"
