"""Composing a TikTok video post in a browser: the creator's own choices read live from TikTok's
creator_info (its recorded answer), the privacy level with no default, an interaction the
creator has off offered only as off, TikTok's required notices, and a post refused until the
author chooses who can see it; a vertical video previewed as its cover frame in a 9:16 frame, and
the creator's avatar through this site's proxy."""

import json
import re

import pytest
import responses
from django.core.files.base import ContentFile
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import Membership
from tests.browser.test_pages import _axe, _overflow, axe_source  # noqa: F401 (a fixture)
from tests.connections.tiktok_api import ACCESS, OPEN, OPEN_ID, creator_info, ok

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _tiktok_account(owner) -> None:
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    membership = Membership.objects.get(user=owner)
    profile = Profile(external_id=OPEN_ID, username="@jane", display_name="Jane")
    account_save(workspace=membership.workspace, platform="tiktok", user=owner,
                 connection=Connection(profile=profile, secrets={"access_token": ACCESS}))  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path):
    """Each test its own media folders, and TikTok's answers asked again: the provider keeps
    creator_info a minute by token, and every test here uses the same token."""
    from django.core.cache import cache

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_tiktok_video_post_shows_the_privacy_choice_with_no_default(
    live_server,
    page: Page,
    signed_in,
    axe_source,  # noqa: F811
    width,
    shot,
):
    from publishing.media import media_store
    from publishing.models import Post
    from tests.publishing.test_media import make_video

    info = creator_info(privacy_level_options=["FOLLOWER_OF_CREATOR", "SELF_ONLY"], stitch_disabled=True)
    responses.add(responses.POST, f"{OPEN}/post/publish/creator_info/query/", body=json.dumps(ok(info)))
    _tiktok_account(signed_in)
    membership = Membership.objects.get(user=signed_in)
    media_store(actor=membership, upload=ContentFile(make_video(seconds=1, width=90, height=160), name="clip.mp4"))

    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_label("TikTok · Jane").check()
    page.get_by_label("Post", exact=True).fill("Behind the scenes #studio")
    page.get_by_role("button", name="Choose from the library").click()
    dialog = page.get_by_role("dialog", name="Media library")
    dialog.get_by_role("button", name="Attach clip.mp4").click()
    dialog.get_by_role("button", name="Done").click()

    page.get_by_text("Customize for TikTok").click()
    panel = page.locator("[data-platform-panel=tiktok]")
    expect(panel.get_by_text("Posting to TikTok as Jane (@jane).")).to_be_visible()
    expect(panel.get_by_text("Jane's TikTok videos can be at most 600 seconds long.")).to_be_visible()
    expect(panel.get_by_text("TikTok has not audited this app yet", exact=False)).to_be_visible()
    expect(panel.get_by_text("Music Usage Confirmation", exact=False)).to_be_visible()
    privacy = panel.get_by_label("Who can see this post")
    expect(privacy).to_have_value("")  # no default: the author chooses
    expect(privacy.locator("option")).to_have_text(["Choose...", "Followers", "Only me"])
    expect(panel.get_by_label("Allow stitches").locator("option")).to_have_text(
        ["Off (Jane has turned this off on TikTok)"]
    )
    expect(panel.get_by_label("Allow comments")).to_have_value("no")
    shot("tiktok-options")
    assert _overflow(page) <= 0
    assert _axe(page, axe_source) == []

    page.get_by_label("Schedule", exact=True).check()
    page.get_by_label("Date").fill("2031-05-06")
    page.get_by_label("Time (Europe/Paris)").fill("10:30")
    page.get_by_role("button", name="Schedule for", exact=False).click()
    expect(page.get_by_text("Choose Who can see this post for TikTok: there is no default.")).to_be_visible()
    assert not Post.objects.exists()

    if not privacy.is_visible():  # the page came back with the problem: open the panel again
        page.get_by_text("Customize for TikTok").click()
    expect(privacy).to_have_value("")
    privacy.select_option("FOLLOWER_OF_CREATOR")
    page.get_by_role("button", name="Schedule for", exact=False).click()
    expect(page.get_by_text("Scheduled", exact=False).first).to_be_visible()
    post = Post.objects.get()
    assert post.overrides["tiktok"]["options"]["privacy_level"] == "FOLLOWER_OF_CREATOR"


def _jpeg(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (220, 60, 90)).save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_vertical_video_previews_as_its_cover_frame_in_a_9_16_frame(
    live_server,
    page: Page,
    signed_in,
    width,
    shot,
):
    from publishing.media import media_store
    from publishing.models import Media
    from tests.publishing.test_media import make_video

    info = creator_info(privacy_level_options=["SELF_ONLY"])
    responses.add(responses.POST, f"{OPEN}/post/publish/creator_info/query/", body=json.dumps(ok(info)))
    # The creator's avatar, fetched by this site's proxy (the CSP allows no other host's image).
    responses.add(responses.GET, info["creator_avatar_url"], body=_jpeg(100, 100), content_type="image/jpeg")
    _tiktok_account(signed_in)
    membership = Membership.objects.get(user=signed_in)
    upload = ContentFile(make_video(seconds=2, width=90, height=160), name="vertical.mp4")
    video = media_store(actor=membership, upload=upload)
    assert Media.objects.get(pk=video.pk).cover, "PyAV made the cover frame"

    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{live_server.url}/posts/new/")
    page.get_by_label("TikTok · Jane").check()
    page.get_by_label("Post", exact=True).fill("Behind the scenes #studio")
    page.get_by_role("button", name="Choose from the library").click()
    dialog = page.get_by_role("dialog", name="Media library")
    dialog.get_by_role("button", name="Attach vertical.mp4").click()
    dialog.get_by_role("button", name="Done").click()

    frame = page.locator("#checks [data-video-frame=portrait]")
    expect(frame).to_be_visible()
    cover = frame.get_by_role("img", name="Cover frame of vertical.mp4")
    expect(cover).to_have_attribute("src", reverse("media_cover", args=[video.pk]))
    expect(frame.get_by_text("0:02")).to_be_visible()  # the duration badge
    cover.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=cover.element_handle())
    box = cover.bounding_box()
    assert box is not None
    assert abs(box["width"] / box["height"] - 9 / 16) < 0.02, box
    assert box["width"] <= width, "the frame fits the phone's width"
    play = frame.locator(".pv-play").bounding_box()
    assert play is not None
    assert box["x"] < play["x"], "the play badge is on the cover"
    assert play["x"] + play["width"] < box["x"] + box["width"]
    shot("video-preview")
    assert _overflow(page) <= 0

    page.get_by_text("Customize for TikTok").click()
    avatar = page.locator("[data-platform-panel=tiktok] img.note-avatar")
    expect(avatar).to_have_attribute("src", re.compile(r"^/connections/\d+/avatar/[0-9a-f]{32}/$"))
    avatar.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=avatar.element_handle())
