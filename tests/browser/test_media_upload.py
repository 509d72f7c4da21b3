"""A video goes up in chunks; the connection drops, the page reloads, and it finishes from the server's offset."""

import pytest
from playwright.sync_api import Page, expect

from publishing.models import Media, MediaUpload
from tests.publishing.test_media import make_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHUNK = 64 * 1024


def test_a_video_upload_survives_a_dropped_connection_and_a_reload(
    live_server, page: Page, signed_in, settings, tmp_path, shot
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    settings.MEDIA_UPLOAD_CHUNK_BYTES = CHUNK
    data = make_video("mp4", seconds=2, width=128, height=128)
    data += b"\0" * (6 * CHUNK - len(data))  # six chunks; padding after the last box is ignored by players
    video = tmp_path / "clip.mp4"
    video.write_bytes(data)

    sent: list[str] = []

    def drop_after_two(route) -> None:
        if route.request.method == "PUT":
            sent.append(route.request.headers.get("content-range", ""))
            if len(sent) > 2:
                route.abort("connectionreset")  # the network goes away mid-upload
                return
        route.continue_()

    page.route("**/media/uploads/*/", drop_after_two)
    page.goto(f"{live_server.url}/media/")
    page.get_by_label("Add images, video or PDFs").set_input_files(video)
    item = page.locator("[data-upload-item='clip.mp4']")
    expect(item.locator("[data-upload-stats]")).to_contain_text("Connection lost — retrying")
    expect(item.locator("progress")).to_have_attribute("value", "33")
    shot("dropped")
    assert MediaUpload.objects.get().offset == 2 * CHUNK

    def record(route) -> None:
        if route.request.method == "PUT":
            sent.append(route.request.headers.get("content-range", ""))
        route.continue_()

    page.unroute("**/media/uploads/*/")
    sent.clear()
    page.route("**/media/uploads/*/", record)  # the network is back
    page.reload()
    expect(page.get_by_text("clip.mp4 was interrupted; choose it again to continue")).to_be_visible()
    page.get_by_label("Add images, video or PDFs").set_input_files(video)
    item = page.locator("[data-upload-item='clip.mp4']")
    expect(item.locator("[data-upload-stats]")).to_contain_text("Uploaded clip.mp4 (0:02)", timeout=20_000)
    expect(item.locator("progress")).to_have_attribute("value", "100")
    assert sent[0].startswith(f"bytes {2 * CHUNK}-")  # resumed from the server's offset, not from zero
    # The library grid refreshes itself (htmx) with the video's cover and duration.
    expect(page.locator("#media-grid [data-kind='video']")).to_contain_text("0:02")
    expect(page.locator("#media-grid [data-kind='video'] img")).to_have_js_property("naturalWidth", 128)
    shot("finished")
    media = Media.objects.get()
    assert (media.kind, media.size, media.status) == ("video", len(data), "ready")  # inspected by its task
    assert not MediaUpload.objects.exists()
