"""Chunked uploads straight into an S3 bucket as a multipart upload (S3_BUCKET set).

moto's ``mock_aws`` stands in for S3 inside the process: boto3, through django-storages'
S3Storage, talks to it with no socket at all, and moto enforces S3's rules that matter here
(parts but the last at least 5 MiB, ETags checked at completion, ranged GETs).
"""

import hashlib
import uuid
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from publishing import s3_uploads
from publishing.models import Media, MediaUpload
from publishing.uploads import part_path, uploads_expire
from tests.publishing.test_composer import tiny_png
from tests.publishing.test_media import chunk, create, make_video

BUCKET = "postwright-media"
STEP = 5 * 1024 * 1024  # S3's smallest part


@pytest.fixture
def s3(settings, monkeypatch, tmp_path):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        settings.S3_BUCKET = BUCKET
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": BUCKET, "region_name": "us-east-1", "file_overwrite": False},
            },
        }
        settings.MEDIA_UPLOAD_CHUNK_BYTES = STEP
        settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"
        yield client


def in_progress(client) -> list[str]:
    return [item["Key"] for item in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


def objects(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def three_part_video() -> bytes:
    data = make_video("mp4", seconds=2, width=128, height=128)
    return data + b"\0" * (2 * STEP + 1000 - len(data))  # padding after the moov: still a valid MP4


class TestS3Multipart:
    def test_three_chunks_become_one_object_with_the_right_bytes_and_checksum(
        self, team, s3, monkeypatch, django_capture_on_commit_callbacks
    ):
        client = team.client("editor")
        ranges = []
        fetch = s3_uploads.RangeReader._fetch
        monkeypatch.setattr(s3_uploads.RangeReader, "_fetch", lambda self: ranges.append(self.tell()) or fetch(self))
        data = three_part_video()
        info = create(client, "clip.mp4", data).json()
        upload = MediaUpload.objects.get()
        assert in_progress(s3) == [upload.s3_key]
        assert info["chunk_size"] == STEP
        for offset in range(0, len(data), STEP):
            assert chunk(client, info["url"], data[offset : offset + STEP], offset, len(data)).status_code == 200
        upload.refresh_from_db()
        assert sorted(upload.s3_parts) == ["1", "2", "3"]
        assert not part_path(upload).exists()  # nothing went through the local disk
        with django_capture_on_commit_callbacks(execute=True):  # the inspection task, inline in tests
            finished = client.post(info["finish_url"])
        assert (finished.status_code, finished.json()["status"]) == (200, "processing"), finished.content
        media = Media.objects.get()
        assert media.status == "ready"
        assert (media.kind, media.size, media.width, media.height) == ("video", len(data), 128, 128)
        assert (media.video_codec, media.duration_s) == ("h264", pytest.approx(2, abs=0.2))
        assert media.sha256 == hashlib.sha256(data).hexdigest()
        # Read in ranges (up to 8 MiB in order for the checksum, then small ones while PyAV seeks in the task).
        assert 3 < len(ranges) <= 10
        # The multipart object is the Media's file, where it landed: no second copy was written.
        assert media.file.name == upload.s3_key
        assert s3.get_object(Bucket=BUCKET, Key=upload.s3_key)["Body"].read() == data
        assert objects(s3) == sorted([upload.s3_key, media.cover.name])
        assert in_progress(s3) == []
        assert not MediaUpload.objects.exists()

    def test_a_dropped_chunk_and_a_part_sent_twice_leave_no_duplicate_bytes(self, team, s3):
        client = team.client("editor")
        data = three_part_video()
        info = create(client, "clip.mp4", data).json()
        size = len(data)
        assert chunk(client, info["url"], data[:STEP], 0, size).json()["offset"] == STEP
        second = data[STEP : 2 * STEP]
        dropped = chunk(client, info["url"], second, STEP, size, body=second[: STEP // 2])
        assert (dropped.status_code, dropped.json()["offset"]) == (400, STEP)
        # A part 2 reached S3 but its reply was lost (the server died before saving the offset);
        # different bytes here show that the resent chunk replaces it rather than adding a part.
        upload = MediaUpload.objects.get()
        s3_uploads.multipart_put_part(key=upload.s3_key, upload_id=upload.s3_upload_id, number=2, data=b"\xff" * STEP)
        again = chunk(client, info["url"], data[:STEP], 0, size)  # the browser retries an old chunk
        assert (again.status_code, again.json()["offset"]) == (409, STEP)
        # Resumed from the server's offset: part 2 is replaced, not added.
        assert chunk(client, info["url"], second, STEP, size).json()["offset"] == 2 * STEP
        assert chunk(client, info["url"], data[2 * STEP :], 2 * STEP, size).json()["offset"] == size
        assert client.post(info["finish_url"]).status_code == 200
        assert s3.get_object(Bucket=BUCKET, Key=upload.s3_key)["Body"].read() == data
        assert Media.objects.get().sha256 == hashlib.sha256(data).hexdigest()

    def test_a_short_chunk_that_is_not_the_last_is_refused(self, team, s3):
        client = team.client("editor")
        data = three_part_video()
        info = create(client, "clip.mp4", data).json()
        response = chunk(client, info["url"], data[: 1024 * 1024], 0, len(data))
        assert response.status_code == 400
        assert response.json() == {"error": f"Every chunk but the last must be {STEP} bytes; this one is 1048576.",
                                   "offset": 0}  # fmt: skip
        assert MediaUpload.objects.get().s3_parts == {}

    def test_an_image_is_stored_cleaned_and_the_raw_object_removed(self, team, s3):
        client = team.client("editor")
        data = tiny_png(40, 30)
        info = create(client, "dot.png", data, "image/png").json()
        key = MediaUpload.objects.get().s3_key
        chunk(client, info["url"], data, 0, len(data))
        assert client.post(info["finish_url"]).status_code == 200
        media = Media.objects.get()
        assert (media.kind, media.width, media.height) == ("image", 40, 30)
        assert objects(s3) == [media.file.name]
        assert key not in objects(s3)

    def test_a_video_that_does_not_decode_fails_and_leaves_nothing_in_the_bucket(
        self, team, s3, django_capture_on_commit_callbacks
    ):
        client = team.client("editor")
        data = b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 5000
        info = create(client, "fake.mp4", data).json()
        chunk(client, info["url"], data, 0, len(data))
        with django_capture_on_commit_callbacks(execute=True):  # the inspection task, inline in tests
            finished = client.post(info["finish_url"])
        assert finished.json()["status"] == "processing"
        media = Media.objects.get()
        assert (media.status, media.error[:37]) == ("failed", "fake.mp4 is not a video we can read (")
        assert (objects(s3), in_progress(s3)) == ([], [])

    def test_discarding_aborts_the_multipart_upload(self, team, s3):
        client = team.client("editor")
        data = three_part_video()
        info = create(client, "clip.mp4", data).json()
        chunk(client, info["url"], data[:STEP], 0, len(data))
        assert len(in_progress(s3)) == 1
        assert client.delete(info["url"]).status_code == 204
        assert (in_progress(s3), objects(s3)) == ([], [])
        assert not MediaUpload.objects.exists()

    def test_expiring_aborts_abandoned_and_stray_multipart_uploads(self, team, s3, time_machine):
        time_machine.move_to("2026-06-01T12:00:00Z", tick=False)
        client = team.client("editor")
        data = three_part_video()
        old = create(client, "old.mp4", data).json()
        chunk(client, old["url"], data[:STEP], 0, len(data))
        s3.create_multipart_upload(Bucket=BUCKET, Key="media/2026/06/left-by-a-crash.mp4")
        time_machine.shift(timedelta(hours=30))
        create(client, "fresh.mp4", data)
        fresh_key = MediaUpload.objects.get(name="fresh.mp4").s3_key
        assert uploads_expire(older_than=timedelta(hours=24)) == 1
        assert in_progress(s3) == [fresh_key]
        assert list(MediaUpload.objects.values_list("name", flat=True)) == ["fresh.mp4"]

    def test_another_workspaces_upload_is_still_404(self, team, s3):
        data = three_part_video()
        info = create(team.client("editor"), "clip.mp4", data).json()
        outsider = team.client("outsider")
        assert outsider.get(info["url"]).status_code == 404
        assert chunk(outsider, info["url"], data[:STEP], 0, len(data)).status_code == 404
        assert outsider.post(info["finish_url"]).status_code == 404
        assert outsider.delete(info["url"]).status_code == 404
        upload = MediaUpload.objects.get(pk=uuid.UUID(info["id"]))
        assert (upload.offset, upload.s3_parts, len(in_progress(s3))) == (0, {}, 1)
