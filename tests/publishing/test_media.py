"""Video and large files in the library, chunked uploads, clean and fitted images, media rules.

Videos are made with PyAV in the test (tiny: about 1 s at 64x64) rather than shipped as binaries.
"""

import io
import os
import uuid
from datetime import timedelta
from fractions import Fraction

import av
import pytest
import responses
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import ExifTags, Image

from connections.models import SocialAccount
from connections.providers.base import Connection, Profile
from connections.providers.media_rules import VIDEO, FormatRule, MediaFacts, MediaRules, media_problems
from connections.registry import get_provider
from connections.services import account_save
from publishing.media import media_item, media_store
from publishing.models import Media, MediaRendition, MediaUpload, Target
from publishing.uploads import part_path, uploads_expire
from tests.connections.publishing import publish_all
from tests.publishing.test_composer import COMPOSE, tiny_png, upload

CREATE = reverse("media_upload_create")


@pytest.fixture(autouse=True)
def _media_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    settings.MEDIA_UPLOAD_CHUNK_BYTES = 64 * 1024


def make_video(fmt: str = "mp4", *, width: int = 64, height: int = 64, seconds: float = 1, rotate: int = 0,
               audio: bool = True, fps: int = 10) -> bytes:  # fmt: skip
    """A real, decodable video: H.264 (VP9 for WebM) frames of changing shades, AAC or Opus audio."""
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        video = container.add_stream("libvpx-vp9" if fmt == "webm" else "libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if rotate:
            video.set_display_rotation(rotate)
        sound = container.add_stream("libopus" if fmt == "webm" else "aac", rate=48000) if audio else None
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 20 % 256]) * plane.buffer_size)
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if sound is not None:
            samples_per_frame = sound.codec_context.frame_size or 1024
            for index in range(round(seconds * 48000 / samples_per_frame)):
                samples = av.AudioFrame(format=sound.codec_context.format.name, layout="mono",
                                        samples=samples_per_frame)  # fmt: skip
                for plane in samples.planes:
                    plane.update(bytes(plane.buffer_size))
                samples.sample_rate, samples.pts = 48000, index * samples_per_frame
                samples.time_base = Fraction(1, 48000)
                container.mux(sound.encode(samples))
            container.mux(sound.encode())
    return out.getvalue()


def phone_photo(width: int = 120, height: int = 80, *, orientation: int = 6, noise: bool = False) -> bytes:
    """A JPEG the way phones write them: GPS position, camera data, XMP and a rotation tag."""
    pixels = os.urandom(width * height * 3) if noise else bytes([200, 30, 30]) * (width * height)
    image = Image.frombytes("RGB", (width, height), pixels)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F], exif[0x0110] = "Phone Maker", "Phone 15 Pro"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 24.0), "E", (2.0, 21.0, 7.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description exif:GPSLatitude="48,51.4N"/></x:xmpmeta>'
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif, xmp=xmp)
    return out.getvalue()


def assert_clean(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert dict(image.getexif()) == {}
    assert "xmp" not in image.info
    assert "exif" not in image.info
    assert b"48,51" not in data
    assert b"Phone 15" not in data
    return image


def chunk(client, url: str, data: bytes, first: int, total: int, *, body: bytes | None = None, **headers):
    last = first + len(data) - 1
    headers.setdefault("Content-Range", f"bytes {first}-{last}/{total}")
    return client.put(url, data=data if body is None else body, content_type="application/octet-stream",
                      headers=headers)  # fmt: skip


def create(client, name: str, data: bytes, mime_type: str = "video/mp4"):
    return client.post(CREATE, {"name": name, "size": len(data), "type": mime_type}, content_type="application/json")


# --- Video inspection ----------------------------------------------------------------------------


class TestVideo:
    def test_an_mp4_is_inspected_and_gets_a_cover(self, team):
        response = upload(team.client("editor"), make_video("mp4"), name="clip.mp4")
        assert response.status_code == 200, response.content
        media = Media.objects.get()
        assert (media.kind, media.mime_type, media.container) == ("video", "video/mp4", "mp4")
        assert (media.video_codec, media.audio_codec, media.has_audio) == ("h264", "aac", True)
        assert (media.width, media.height, media.fps) == (64, 64, 10)
        assert media.duration_s == pytest.approx(1, abs=0.1)
        cover = Image.open(media.cover.open("rb"))
        assert (cover.format, cover.size) == ("JPEG", (64, 64))
        assert response.json()["url"] == reverse("media_cover", args=[media.pk])
        assert response.json()["duration"] == "0:01"

    def test_a_mov_is_quicktime_and_rotation_turns_its_size(self, team):
        upload(team.client("editor"), make_video("mov", width=64, height=32, rotate=-90, audio=False), name="a.mov")
        media = Media.objects.get()
        assert (media.mime_type, media.container, media.has_audio, media.audio_codec) == (
            "video/quicktime", "mov", False, "")  # fmt: skip
        assert (media.rotation, media.width, media.height) == (90, 32, 64)
        assert Image.open(media.cover.open("rb")).size == (32, 64)  # the cover is upright too

    def test_a_webm_is_accepted(self, team):
        upload(team.client("editor"), make_video("webm", audio=False), name="loop.webm")
        assert Media.objects.values_list("mime_type", "video_codec").get() == ("video/webm", "vp9")

    def test_a_file_that_does_not_decode_is_refused_and_nothing_is_stored(self, team):
        broken = make_video("mp4")[:400] + os.urandom(2000)  # an MP4 header, then noise
        response = upload(team.client("editor"), broken, name="broken.mp4")
        assert response.status_code == 400
        assert "broken.mp4" in response.json()["error"]
        assert any(word in response.json()["error"] for word in ("does not decode", "not a video we can read"))
        assert not Media.objects.exists()
        assert not default_storage.exists("media") or not any(default_storage.listdir("media")[1])

    def test_a_file_that_is_neither_is_named_for_what_we_take(self, team):
        response = upload(team.client("editor"), b"PK\x03\x04 a zip file" * 10, name="notes.mov")
        assert "not an image, video or PDF we can read" in response.json()["error"]
        assert "MP4, MOV or WebM" in response.json()["error"]

    def test_the_library_shows_covers_and_durations(self, team):
        client = team.client("editor")
        upload(client, make_video("mp4", seconds=2), name="clip.mp4")
        upload(client, tiny_png(), name="dot.png")
        video = Media.objects.get(kind="video")
        page = client.get(reverse("media_library")).content.decode()
        assert reverse("media_cover", args=[video.pk]) in page
        assert "▶ 0:02" in page
        partial = client.get(reverse("media_library"), headers={"HX-Request": "true"}).content.decode()
        assert "<html" not in partial
        assert "clip.mp4" in partial
        cover = client.get(reverse("media_cover", args=[video.pk]))
        assert cover["Content-Type"] == "image/jpeg"
        assert team.client("outsider").get(reverse("media_cover", args=[video.pk])).status_code == 404


# --- Chunked, resumable uploads -------------------------------------------------------------------


class TestChunkedUpload:
    def test_three_chunks_a_dropped_one_and_a_resume_from_the_servers_offset(self, team):
        client = team.client("editor")
        data = make_video("mp4", seconds=2, width=128, height=128)
        data += b"\0" * max(0, 3 * 64 * 1024 - len(data) - 1000)  # padding after the moov: still a valid MP4
        started = create(client, "clip.mp4", data)
        assert started.status_code == 201
        info = started.json()
        size, step = len(data), info["chunk_size"]
        pieces = [(data[offset : offset + step], offset) for offset in range(0, size, step)]
        assert len(pieces) == 3
        assert chunk(client, info["url"], *pieces[0], size).json()["offset"] == step
        # The second chunk's connection drops half-way: the server keeps nothing of it.
        piece, offset = pieces[1]
        dropped = chunk(client, info["url"], piece, offset, size, body=piece[: len(piece) // 2])
        assert dropped.status_code == 400
        assert dropped.json()["offset"] == step
        # After a reload the browser asks where to continue.
        asked = client.get(info["url"])
        assert (asked.json()["offset"], asked["Upload-Offset"]) == (step, str(step))
        for piece, offset in pieces[1:]:
            assert chunk(client, info["url"], piece, offset, size).status_code == 200
        finished = client.post(info["finish_url"])
        assert finished.status_code == 200, finished.content
        media = Media.objects.get()
        assert (media.kind, media.size) == ("video", size)
        assert media.file.open("rb").read() == data
        assert not MediaUpload.objects.exists()
        assert not part_path(MediaUpload(id=uuid.UUID(info["id"]))).exists()

    def test_the_same_file_again_is_deduplicated(self, team):
        client = team.client("editor")
        data = make_video("mp4")
        ids = []
        for _ in range(2):
            info = create(client, "clip.mp4", data).json()
            chunk(client, info["url"], data, 0, len(data))
            ids.append(client.post(info["finish_url"]).json()["id"])
        assert ids[0] == ids[1]
        assert Media.objects.count() == 1

    def test_a_chunk_out_of_place_is_told_where_to_resume(self, team):
        client = team.client("editor")
        data = make_video("mp4")
        info = create(client, "clip.mp4", data).json()
        response = chunk(client, info["url"], data[100:200], 100, len(data))
        assert response.status_code == 409
        assert response.json() == {"error": "The server has the first 0 bytes: send from byte 0.", "offset": 0}

    @pytest.mark.parametrize(
        ("header", "message"),
        [
            ("", "Send Content-Range as 'bytes 0-"),
            ("bytes=0-99", "Send Content-Range as"),
            ("bytes 0-99/12", "This upload is"),
            ("bytes 50-10/{size}", "are not inside"),
            ("bytes 0-{size}/{size}", "are not inside"),
        ],
    )
    def test_a_wrong_content_range_is_refused_clearly(self, team, header, message):
        client = team.client("editor")
        data = make_video("mp4")
        info = create(client, "clip.mp4", data).json()
        wrong = {"Content-Range": header.format(size=len(data))}
        response = chunk(client, info["url"], data[:100], 0, len(data), **wrong)
        assert response.status_code == 400
        assert message in response.json()["error"]
        assert MediaUpload.objects.get().offset == 0

    def test_finishing_early_is_refused_and_a_broken_video_ends_failed(self, team, django_capture_on_commit_callbacks):
        client = team.client("editor")
        data = b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000)
        info = create(client, "fake.mp4", data).json()
        early = client.post(info["finish_url"])
        assert (early.status_code, early.json()["offset"]) == (409, 0)
        chunk(client, info["url"], data, 0, len(data))
        with django_capture_on_commit_callbacks(execute=False) as queued:
            finished = client.post(info["finish_url"])
        assert (finished.status_code, finished.json()["status"]) == (200, "processing")  # answered at once
        assert not MediaUpload.objects.exists()
        assert client.get(finished.json()["status_url"]).json()["status"] == "processing"
        for callback in queued:
            callback()  # the inspection task (inline in tests)
        failed = client.get(finished.json()["status_url"]).json()
        assert failed["status"] == "failed"
        assert failed["error"].startswith("fake.mp4 is not a video we can read")
        assert team.client("outsider").get(finished.json()["status_url"]).status_code == 404

    def test_a_processing_video_shows_in_the_library_but_not_in_the_picker(self, team):
        client = team.client("editor")
        data = make_video("mp4")
        info = create(client, "clip.mp4", data).json()
        chunk(client, info["url"], data, 0, len(data))
        media = client.post(info["finish_url"]).json()  # its task waits for a commit that never comes
        assert media["status"] == "processing"
        assert "Inspecting the video" in client.get("/media/").content.decode()
        assert f'data-id="{media["id"]}"' not in client.get("/media/?pick=1").content.decode()

    def test_sizes_and_types_are_checked_before_a_byte_is_sent(self, team, settings):
        client = team.client("editor")
        settings.MEDIA_MAX_UPLOAD_BYTES = 1000
        assert "the limit is 1 KB" in create(client, "big.mp4", b"x" * 2000).json()["error"]
        settings.MEDIA_MAX_UPLOAD_BYTES, settings.MEDIA_MAX_IMAGE_BYTES = 10_000, 100
        assert "images may be up to 100 bytes" in create(client, "big.jpg", b"x" * 200, "image/jpeg").json()["error"]
        assert "application/zip" in create(client, "a.zip", b"x" * 20, "application/zip").json()["error"]
        bad = client.post(CREATE, {"name": "a.mp4", "size": "lots"}, content_type="application/json")
        assert "size in bytes" in bad.json()["error"]
        assert not MediaUpload.objects.exists()

    def test_another_workspaces_upload_is_404_and_viewers_cannot_upload(self, team):
        data = make_video("mp4")
        info = create(team.client("editor"), "clip.mp4", data).json()
        outsider = team.client("outsider")
        assert outsider.get(info["url"]).status_code == 404
        assert chunk(outsider, info["url"], data, 0, len(data)).status_code == 404
        assert outsider.post(info["finish_url"]).status_code == 404
        assert outsider.delete(info["url"]).status_code == 404
        assert team.client("viewer").get(info["url"]).status_code == 403
        assert create(team.client("viewer"), "clip.mp4", data).status_code == 403
        assert MediaUpload.objects.get().offset == 0

    def test_chunks_need_the_csrf_token(self, team):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(team.users["editor"])
        data = make_video("mp4")
        assert create(client, "clip.mp4", data).status_code == 403
        info = create(team.client("editor"), "clip.mp4", data).json()
        assert chunk(client, info["url"], data, 0, len(data)).status_code == 403

    def test_abandoned_uploads_expire_with_their_part_files(self, team, time_machine, tmp_path):
        from django.core.management import call_command

        time_machine.move_to("2026-06-01T12:00:00Z", tick=False)
        client = team.client("editor")
        data = make_video("mp4")
        old = create(client, "old.mp4", data).json()
        chunk(client, old["url"], data[:1000], 0, len(data))
        stray = tmp_path / "uploads" / ("0" * 32 + ".part")
        stray.write_bytes(b"left by a crash")
        time_machine.shift(timedelta(hours=30))
        fresh = create(client, "fresh.mp4", data).json()
        os.utime(stray, (0, 0))
        assert uploads_expire(older_than=timedelta(hours=24)) == 1
        assert list(MediaUpload.objects.values_list("name", flat=True)) == ["fresh.mp4"]
        assert sorted(p.stem for p in (tmp_path / "uploads").glob("*.part")) == [fresh["id"].replace("-", "")]
        time_machine.shift(timedelta(hours=30))
        out = io.StringIO()
        call_command("media_uploads_expire", "--hours", "24", stdout=out)
        assert "Removed 1" in out.getvalue()
        assert not MediaUpload.objects.exists()


# --- Images made safe and fit ---------------------------------------------------------------------


def bluesky_account(team) -> SocialAccount:
    profile = Profile(external_id="did:plc:alice", username="alice.bsky.social")
    secrets = {"access_token": "access", "refresh_token": "refresh", "did": "did:plc:alice",
               "handle": "alice.bsky.social", "app_password": "k2pq-7xzt-m4ab-wd3e"}  # fmt: skip
    connection = Connection(profile=profile, secrets=secrets, instance_url="https://pds.example",
                            extra={"service_url": "https://bsky.social"})  # fmt: skip
    return account_save(workspace=team.workspace, platform="bluesky", connection=connection, user=team.users["admin"])


class TestImages:
    def test_stored_images_are_upright_and_carry_no_metadata(self, team):
        response = upload(team.client("editor"), phone_photo(120, 80, orientation=6), name="IMG_0001.jpg")
        media = Media.objects.get()
        assert (response.json()["width"], response.json()["height"]) == (80, 120)  # turned as the tag said
        stored = media.file.open("rb").read()
        image = assert_clean(stored)
        assert image.size == (80, 120)
        assert media.size == len(stored)

    def test_an_upright_jpeg_keeps_its_quality_settings(self, team):
        original = phone_photo(64, 64, orientation=1)
        upload(team.client("editor"), original, name="a.jpg")
        stored = Media.objects.get().file.open("rb").read()
        assert_clean(stored)
        assert Image.open(io.BytesIO(stored)).quantization == Image.open(io.BytesIO(original)).quantization

    def test_the_same_photo_uploaded_again_is_found_by_its_original_checksum(self, team):
        client = team.client("editor")
        first = upload(client, phone_photo(), name="a.jpg").json()["id"]
        assert upload(client, phone_photo(), name="b.jpg").json()["id"] == first

    def test_png_text_chunks_are_dropped_and_transparency_kept(self, team):
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Location", "48.8566 N, 2.3522 E")
        out = io.BytesIO()
        Image.new("RGBA", (8, 8), (255, 0, 0, 128)).save(out, "PNG", pnginfo=info)
        upload(team.client("editor"), out.getvalue(), name="dot.png")
        stored = Media.objects.get().file.open("rb").read()
        assert b"48.8566" not in stored
        assert Image.open(io.BytesIO(stored)).getpixel((0, 0)) == (255, 0, 0, 128)

    @responses.activate(assert_all_requests_are_fired=False)
    def test_a_heavy_phone_photo_is_fitted_for_bluesky_and_the_original_kept(self, team):
        photo = phone_photo(1800, 1500, noise=True)
        assert len(photo) > 3_000_000
        client = team.client("editor")
        media_id = upload(client, photo, name="IMG_2001.jpg").json()["id"]
        media = Media.objects.get()
        assert media.size > 1_000_000
        account = bluesky_account(team)
        response = client.post(COMPOSE, {"accounts": [account.id], "text": "view", "main_media": [media_id],
                                         "when": "draft"})  # fmt: skip
        assert response.status_code == 302, response.content.decode()[:2000]  # heavy is fine: it gets fitted
        target = Target.objects.get()
        from publishing.payload import build_request

        (item,) = build_request(target).main.media
        assert item.size <= 1_000_000
        assert item.mime_type == "image/jpeg"
        assert item.filename == "IMG_2001.jpg"
        rendition = MediaRendition.objects.get()
        assert rendition.size == item.size
        media.refresh_from_db()
        assert media.file.open("rb").read() == default_storage.open(media.file.name).read()  # original untouched
        assert media.size > 1_000_000
        build_request(target)
        assert MediaRendition.objects.count() == 1  # made once, reused

        pds = "https://pds.example/xrpc/"
        blob = {"blob": {"$type": "blob", "ref": {"$link": "bafkreiblob"}, "mimeType": "image/jpeg", "size": item.size}}
        uploaded = responses.add(responses.POST, pds + "com.atproto.repo.uploadBlob", json=blob)
        responses.add(responses.POST, pds + "com.atproto.repo.createRecord",
                      json={"uri": "at://did:plc:alice/app.bsky.feed.post/3k", "cid": "bafycid"})  # fmt: skip
        publish_all(get_provider("bluesky"), account=account.state(), request=build_request(target))
        sent = uploaded.calls[0].request.body
        assert len(sent) <= 1_000_000
        assert_clean(sent)

    def test_small_images_reach_providers_as_stored(self, team, demo_accounts):
        upload(team.client("editor"), phone_photo(), name="a.jpg")
        media = Media.objects.get()
        rule = get_provider("demo").media_rules().rule_for("image")
        item = media_item(media, rule=rule)
        assert item.size == media.size
        assert not MediaRendition.objects.exists()
        assert_clean(item.open().read())


# --- Ranged reads -------------------------------------------------------------------------------


class CountingFile(io.BytesIO):
    """A storage file that fails the test if anyone reads it whole."""

    reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None, "a whole-file read()"
        assert size >= 0, "a whole-file read()"
        CountingFile.reads.append(size)
        return super().read(size)


def test_ranged_reads_never_read_the_whole_file(team, monkeypatch):
    data = make_video("mp4", seconds=2)
    media = media_store(actor=team.membership("editor"), upload=ContentFile(data, name="clip.mp4"))
    item = media_item(media)
    CountingFile.reads = []
    monkeypatch.setattr(default_storage, "open", lambda name, mode="rb": CountingFile(data))
    assert item.read_range(100, 50) == data[100:150]
    pieces = list(item.chunks(chunk_size=1000))
    assert b"".join(piece for _offset, piece in pieces) == data
    assert [offset for offset, _piece in pieces] == list(range(0, len(data), 1000))
    assert max(CountingFile.reads) <= 1000


# --- Media rules --------------------------------------------------------------------------------

REELS = FormatRule(
    VIDEO, "Instagram Reels", ("video/mp4", "video/quicktime"), max_bytes=300_000_000, duration_range=(3, 900),
    aspect_range=(0.01, 10), recommended_aspect="9:16", video_codecs=("h264", "hevc"), max_fps=60,
)  # fmt: skip


def clip(**facts) -> MediaFacts:
    base = {"name": "clip.mp4", "kind": "video", "mime_type": "video/mp4", "size": 5_000_000, "width": 1080,
            "height": 1920, "duration_s": 30.0, "video_codec": "h264", "fps": 30.0}  # fmt: skip
    return MediaFacts(**{**base, **facts})


class TestMediaRules:
    rules = MediaRules(platform="Instagram", formats=(REELS,))

    def test_a_fitting_reel_passes_and_the_summary_reads_like_the_platform(self):
        assert media_problems(self.rules, [clip()]) == []
        assert REELS.summary() == "Instagram Reels: MP4 or MOV, 3 s to 15 min, up to 300 MB, 9:16 recommended"

    @pytest.mark.parametrize(
        ("facts", "message"),
        [
            ({"duration_s": 2.0}, "Instagram Reels: 3 s to 15 min, 9:16 recommended; clip.mp4 is 2 s."),
            ({"duration_s": 1000.0}, "Instagram Reels: 3 s to 15 min, 9:16 recommended; clip.mp4 is 16 min 40 s."),
            ({"size": 400_000_000}, "Instagram Reels: up to 300 MB; clip.mp4 is 400 MB."),
            ({"video_codec": "vp9"}, "Instagram Reels: H.264 or HEVC video; clip.mp4 is VP9."),
            ({"fps": 120.0}, "Instagram Reels: up to 60 fps; clip.mp4 is 120 fps."),
            ({"mime_type": "video/webm"}, "Instagram Reels: MP4 or MOV only; clip.mp4 is WebM."),
            ({"width": 2000, "height": 100}, "Instagram Reels: aspect ratio 0.01:1 to 10:1, 9:16 recommended; "
                                             "clip.mp4 is 2000x100 (20:1)."),
        ],
    )  # fmt: skip
    def test_each_limit_is_named_in_the_platforms_terms(self, facts, message):
        assert media_problems(self.rules, [clip(**facts)]) == [message]

    def test_counts_kinds_and_mixing(self):
        assert media_problems(self.rules, [clip(), clip(name="b.mp4")]) == [
            "Instagram Reels: at most 1 per post; this one has 2."
        ]
        photo = MediaFacts(name="a.jpg", kind="image", mime_type="image/jpeg", size=10)
        assert media_problems(self.rules, [clip(), photo]) == [
            "Instagram takes images or a video in one post, not both.",
            "Instagram does not take images; remove a.jpg.",
        ]

    def test_bluesky_fits_heavy_images_and_says_video_is_not_postable_yet(self):
        rules = get_provider("bluesky").media_rules()
        heavy = MediaFacts(name="a.jpg", kind="image", mime_type="image/jpeg", size=3_000_000, width=4000, height=3000)
        assert media_problems(rules, [heavy]) == []
        assert media_problems(rules, [heavy] * 5) == ["Bluesky images: at most 4 per post; this one has 5."]
        (problem,) = media_problems(rules, [clip()])
        assert problem.startswith("Bluesky video: Postwright does not post video to Bluesky yet")
        assert "up to 3 min and 100 MB" in problem

    def test_mastodon_reads_the_instances_limits_and_falls_back_to_documented_ones(self):
        from connections.providers.base import AccountState

        mastodon = get_provider("mastodon")
        defaults = mastodon.media_rules().rule_for("video")
        assert (defaults.max_bytes, defaults.max_pixels, defaults.max_fps) == (40 * 1024 * 1024, 2_304_000, 60)
        extra = {"video_size_limit": 103_809_024, "video_matrix_limit": 8_294_400, "video_frame_rate_limit": 120,
                 "supported_mime_types": ["image/png", "video/mp4"]}  # fmt: skip
        state = AccountState(external_id="1", username="alice", secrets={}, extra=extra)
        rules = mastodon.media_rules(account=state)
        assert rules.rule_for("video").max_fps == 120
        assert rules.rule_for("image").mime_types == ("image/png",)
        big = clip(width=3840, height=2160, fps=30.0, size=50_000_000)
        assert media_problems(rules, [big]) == []
        assert media_problems(mastodon.media_rules(), [big]) == [
            "Mastodon video: up to 41.9 MB; clip.mp4 is 50 MB.",
            "Mastodon video: up to 2.3 megapixels; clip.mp4 is 3840x2160.",
        ]

    def test_the_composer_checks_media_live_and_on_save(self, team):
        client = team.client("editor")
        account = bluesky_account(team)
        media_id = upload(client, make_video("mp4"), name="clip.mp4").json()["id"]
        data = {"accounts": [account.id], "text": "watch", "main_media": [media_id], "when": "draft"}
        live = client.post(reverse("compose_check"), data).content.decode()
        assert "Bluesky video: Postwright does not post video to Bluesky yet" in live
        saved = client.post(COMPOSE, data)
        assert saved.status_code == 400
        assert "Bluesky (alice.bsky.social): Bluesky video:" in saved.content.decode()

    def test_the_composer_shows_the_rule_for_what_is_attached(self, team, demo_accounts):
        client = team.client("editor")
        media_id = upload(client, make_video("mp4"), name="clip.mp4").json()["id"]
        data = {"accounts": [demo_accounts[0].id], "text": "watch", "main_media": [media_id], "when": "draft"}
        live = client.post(reverse("compose_check"), data).content.decode()
        assert "Demo video: MP4, MOV or WebM, up to 10 min, up to 1 GB, 9:16 recommended" in live
        assert "Fix before posting" not in live
