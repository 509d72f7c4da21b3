"""/media: direct upload, resumable upload, import by URL through the guard, status, delete."""

import pytest
import responses
from django.core.files.storage import default_storage

from publishing.models import Media, MediaUpload
from tests.api.conftest import assert_problem
from tests.publishing.test_media import make_video, phone_photo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    settings.MEDIA_UPLOAD_CHUNK_BYTES = 64 * 1024


def _upload(api, key, data: bytes, name: str = "photo.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api.client.post("/api/v1/media", {"file": SimpleUploadedFile(name, data)},
                           HTTP_AUTHORIZATION=f"Bearer {key}")  # fmt: skip


def test_direct_upload_is_inspected_and_ready(api, keys):
    response = _upload(api, keys.write, phone_photo())
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["kind"], data["mime_type"], data["name"]) == ("ready", "image", "image/jpeg",
                                                                               "photo.jpg")  # fmt: skip
    assert (data["width"], data["height"]) == (80, 120)  # the phone's rotation applied
    assert response["Location"] == f"/api/v1/media/{data['id']}"
    assert api.get(f"/media/{data['id']}", keys.read).json()["sha256"] == data["sha256"]
    again = _upload(api, keys.write, phone_photo())
    assert again.json()["id"] == data["id"]  # the same file is stored once
    assert Media.objects.get().uploaded_by is None


def test_a_file_that_is_not_media_is_refused_with_the_reason(api, keys):
    problem = assert_problem(_upload(api, keys.write, b"PK\x03\x04 a zip, not a picture", "doc.zip"), 422)
    assert problem["errors"][0]["field"] == "file"
    assert "not an image, video or PDF we can read" in problem["detail"]
    assert not Media.objects.exists()


def test_roles_and_workspaces(api, keys):
    assert_problem(_upload(api, keys.read, phone_photo()), 403)
    assert_problem(_upload(api, keys.expired, phone_photo()), 401)
    media = _upload(api, keys.write, phone_photo()).json()
    assert_problem(api.get(f"/media/{media['id']}", keys.outsider), 404)
    assert api.get("/media", keys.outsider).json()["data"] == []
    assert_problem(api.delete(f"/media/{media['id']}", keys.outsider), 404)
    assert_problem(api.delete(f"/media/{media['id']}", keys.read), 403)


def test_list_filters_by_kind_and_pages(api, keys):
    photo = _upload(api, keys.write, phone_photo()).json()
    video = _upload(api, keys.write, make_video(), "clip.mp4").json()
    assert video["kind"] == "video"
    assert video["duration_s"] == pytest.approx(1, abs=0.2)
    assert [m["id"] for m in api.get("/media?kind=video", keys.read).json()["data"]] == [video["id"]]
    first = api.get("/media?limit=1", keys.read).json()
    assert [m["id"] for m in first["data"]] == [video["id"]]
    rest = api.get(f"/media?limit=1&cursor={first['next_cursor']}", keys.read).json()
    assert [m["id"] for m in rest["data"]] == [photo["id"]]


def _send_resumable(api, keys, data: bytes, name: str, mime_type: str = "video/mp4") -> str:
    """Create a resumable upload and send every chunk; returns the upload's id."""
    start = api.post("/media/uploads", keys.write, {"name": name, "size": len(data), "mime_type": mime_type})
    assert start.status_code == 201, start.content
    upload = start.json()
    path, auth, step = (
        f"/api/v1/media/uploads/{upload['id']}",
        {"HTTP_AUTHORIZATION": f"Bearer {keys.write}"},
        64 * 1024,
    )
    for first in range(0, len(data), step):
        piece = data[first : first + step]
        where = f"bytes {first}-{first + len(piece) - 1}/{len(data)}"
        sent = api.client.put(path, piece, content_type="application/octet-stream", HTTP_CONTENT_RANGE=where, **auth)
        assert sent.status_code == 200, sent.content
    return upload["id"]


def test_resumable_upload_of_a_video(api, keys):
    video = make_video(seconds=2)
    start = api.post("/media/uploads", keys.write, {"name": "clip.mp4", "size": len(video), "mime_type": "video/mp4"})
    assert start.status_code == 201, start.content
    upload = start.json()
    assert (upload["status"], upload["offset"], upload["chunk_bytes"]) == ("uploading", 0, 64 * 1024)
    path = f"/api/v1/media/uploads/{upload['id']}"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {keys.write}"}
    step = upload["chunk_bytes"]
    # A chunk out of place is told where to resume.
    wrong = api.client.put(path, video[100:200], content_type="application/octet-stream",
                           HTTP_CONTENT_RANGE=f"bytes 100-199/{len(video)}", **auth)  # fmt: skip
    assert_problem(wrong, 409)
    assert wrong["Upload-Offset"] == "0"
    for first in range(0, len(video), step):
        piece = video[first : first + step]
        where = f"bytes {first}-{first + len(piece) - 1}/{len(video)}"
        sent = api.client.put(path, piece, content_type="application/octet-stream", HTTP_CONTENT_RANGE=where, **auth)
        assert sent.status_code == 200, sent.content
        assert sent["Upload-Offset"] == str(first + len(piece))
    assert api.get(f"/media/uploads/{upload['id']}", keys.read).json()["status"] == "uploaded"
    assert not MediaUpload.objects.filter(offset__lt=len(video)).exists()


def test_finishing_a_video_answers_at_once_then_it_is_inspected(api, keys, django_capture_on_commit_callbacks):
    from events.models import Event

    video = make_video(seconds=2)
    upload_id = _send_resumable(api, keys, video, "clip.mp4")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        done = api.post(f"/media/uploads/{upload_id}/finish", keys.write)
    assert done.status_code == 202, done.content
    first = done.json()
    assert (first["kind"], first["status"], first["size"], first["duration_s"]) == ("video", "processing",
                                                                                    len(video), None)  # fmt: skip
    assert not MediaUpload.objects.exists()
    assert_problem(api.get(f"/media/uploads/{upload_id}", keys.read), 404)
    location = done["Location"].removeprefix("/api/v1")
    assert api.get(location, keys.read).json()["status"] == "processing"  # until the task has run
    assert not Event.objects.filter(type="media.ready").exists()
    for callback in queued:
        callback()  # django-q2 runs the task inline in tests
    ready = api.get(location, keys.read).json()
    assert (ready["status"], ready["error"], ready["width"], ready["height"]) == ("ready", "", 64, 64)
    assert ready["duration_s"] == pytest.approx(2, abs=0.2)
    media = Media.objects.get()
    assert (media.video_codec, bool(media.cover)) == ("h264", True)
    event = Event.objects.get(type="media.ready")
    assert (event.subject_id, event.payload) == (media.pk, {"kind": "video", "mime_type": "video/mp4"})
    assert [m["id"] for m in api.get("/media?status=ready", keys.read).json()["data"]] == [media.pk]
    assert_problem(api.get(location, keys.outsider), 404)


def test_a_video_that_does_not_decode_ends_failed_with_the_reason(api, keys, django_capture_on_commit_callbacks):
    from events.models import Event

    broken = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400  # an MP4's first bytes, then noise
    upload_id = _send_resumable(api, keys, broken, "broken.mp4")
    with django_capture_on_commit_callbacks(execute=True):
        done = api.post(f"/media/uploads/{upload_id}/finish", keys.write)
    assert (done.status_code, done.json()["status"]) == (202, "processing")
    failed = api.get(done["Location"].removeprefix("/api/v1"), keys.read).json()
    assert failed["status"] == "failed"
    assert failed["error"].startswith("broken.mp4 is not a video we can read")
    assert not default_storage.exists(Media.objects.get().file.name)  # its bytes are not kept
    assert not Event.objects.filter(type="media.ready").exists()


def test_a_post_cannot_use_a_video_until_it_is_ready(api, keys, demo_accounts, django_capture_on_commit_callbacks):
    upload_id = _send_resumable(api, keys, make_video(), "clip.mp4")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        media = api.post(f"/media/uploads/{upload_id}/finish", keys.write).json()
    post = {"containers": [{"text": "hi", "media": [{"media_id": media["id"]}]}], "accounts": [demo_accounts[0].id]}
    problem = assert_problem(api.post("/posts", keys.write, post), 422)
    assert "clip.mp4 is still being processed" in str(problem)
    for callback in queued:
        callback()
    assert api.post("/posts", keys.write, post).status_code == 201


def test_a_failed_video_cannot_be_attached(api, keys, demo_accounts, django_capture_on_commit_callbacks):
    upload_id = _send_resumable(api, keys, b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 5000, "bad.mp4")
    with django_capture_on_commit_callbacks(execute=True):
        media = api.post(f"/media/uploads/{upload_id}/finish", keys.write).json()
    post = {"containers": [{"text": "hi", "media": [{"media_id": media["id"]}]}], "accounts": [demo_accounts[0].id]}
    problem = assert_problem(api.post("/posts", keys.write, post), 422)
    assert "bad.mp4 could not be processed (bad.mp4 is not a video we can read" in str(problem)


def test_finishing_an_image_stays_synchronous(api, keys):
    upload_id = _send_resumable(api, keys, phone_photo(), "photo.jpg", "image/jpeg")
    done = api.post(f"/media/uploads/{upload_id}/finish", keys.write)
    assert done.status_code == 201, done.content
    assert (done.json()["status"], done.json()["kind"], done.json()["width"]) == ("ready", "image", 80)


def test_resumable_upload_refusals(api, keys):
    assert_problem(api.post("/media/uploads", keys.write, {"name": "x.exe", "size": 10, "mime_type": "app/x"}), 422)
    assert_problem(api.post("/media/uploads", keys.write, {"name": "x.mp4", "size": 10**12}), 422)
    assert_problem(api.post("/media/uploads", keys.read, {"name": "x.mp4", "size": 10}), 403)
    upload = api.post("/media/uploads", keys.write, {"name": "x.mp4", "size": 10}).json()
    assert_problem(api.post(f"/media/uploads/{upload['id']}/finish", keys.write), 409)
    assert_problem(api.get(f"/media/uploads/{upload['id']}", keys.outsider), 404)
    path = f"/api/v1/media/uploads/{upload['id']}"
    bad = api.client.put(path, b"0123456789", content_type="application/octet-stream",
                         HTTP_CONTENT_RANGE="bytes 0-9", HTTP_AUTHORIZATION=f"Bearer {keys.write}")  # fmt: skip
    assert "Content-Range" in assert_problem(bad, 422)["detail"]
    assert api.delete(f"/media/uploads/{upload['id']}", keys.write).status_code == 204
    assert not MediaUpload.objects.exists()


def _import(api, key, url: str, capture):
    with capture(execute=True):  # the task runs once the request commits (inline in tests)
        return api.post("/media/import", key, {"url": url})


def test_import_by_url_runs_in_the_background(api, keys, team, django_capture_on_commit_callbacks):
    from events.models import Event

    photo = phone_photo()
    responses.add(responses.GET, "https://cdn.example/shots/launch.jpg", body=photo, content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = api.post("/media/import", keys.write, {"url": "https://cdn.example/shots/launch.jpg"})
    assert started.status_code == 202, started.content
    assert (started.json()["status"], started.json()["media"]) == ("processing", None)
    location = started["Location"].removeprefix("/api/v1")
    assert api.get(location, keys.read).json()["status"] == "processing"  # until the task has run
    for callback in queued:
        callback()
    done = api.get(location, keys.read).json()
    assert (done["status"], done["error"], done["media"]["name"], done["media"]["kind"]) == (
        "ready", "", "launch.jpg", "image")  # fmt: skip
    assert done["finished_at"] is not None
    event = Event.objects.get(type="media.ready")
    assert (event.subject_id, event.payload) == (done["media"]["id"], {"kind": "image", "mime_type": "image/jpeg"})
    assert_problem(api.get(location, keys.outsider), 404)


def test_a_failed_import_says_why(api, keys, django_capture_on_commit_callbacks):
    responses.add(responses.GET, "https://cdn.example/gone.jpg", status=404)
    gone = _import(api, keys.write, "https://cdn.example/gone.jpg", django_capture_on_commit_callbacks)
    failed = api.get(gone["Location"].removeprefix("/api/v1"), keys.read).json()
    assert (failed["status"], failed["error"], failed["media"]) == ("failed", "Fetching it answered HTTP 404.", None)
    responses.add(responses.GET, "https://cdn.example/notes.txt", body=b"just words")
    text = _import(api, keys.write, "https://cdn.example/notes.txt", django_capture_on_commit_callbacks)
    assert "not an image, video or PDF" in api.get(text["Location"].removeprefix("/api/v1"), keys.read).json()["error"]
    assert not Media.objects.exists()
    assert_problem(api.post("/media/import", keys.write, {"url": "ftp://cdn.example/x.jpg"}), 422)
    assert_problem(api.post("/media/import", keys.read, {"url": "https://cdn.example/shots/launch.jpg"}), 403)


def test_import_refuses_private_addresses_in_production(api, keys, settings):
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    for url in ("https://127.0.0.1/x.jpg", "https://169.254.169.254/latest/meta-data", "http://cdn.example/x.jpg"):
        problem = assert_problem(api.post("/media/import", keys.write, {"url": url}), 422)
        assert problem["errors"][0]["field"] == "url"
    assert not responses.calls  # refused before anything was sent


def test_a_redirect_into_the_private_network_is_refused_when_it_runs(keys, settings, team):
    from publishing.media import media_import_run
    from publishing.models import MediaImport

    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    responses.add(responses.GET, "https://cdn.example/r.jpg", status=302, headers={"Location": "https://10.0.0.8/x"})
    job = MediaImport.objects.create(workspace=team.workspace, url="https://cdn.example/r.jpg")
    media_import_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert "cannot be fetched" in job.error


def test_import_stops_past_the_size_limit(api, keys, settings, django_capture_on_commit_callbacks):
    settings.MEDIA_MAX_UPLOAD_BYTES = 1000
    responses.add(responses.GET, "https://cdn.example/big.mp4", body=b"x" * 5000)
    started = _import(api, keys.write, "https://cdn.example/big.mp4", django_capture_on_commit_callbacks)
    assert "larger than" in api.get(started["Location"].removeprefix("/api/v1"), keys.read).json()["error"]


def test_delete_an_unused_file_and_keep_a_used_one(api, keys, demo_accounts, django_capture_on_commit_callbacks):
    media = _upload(api, keys.write, phone_photo()).json()
    stored = Media.objects.get().file.name
    in_use = _upload(api, keys.write, phone_photo(orientation=1)).json()
    post = {"containers": [{"text": "hi", "media": [{"media_id": in_use["id"]}]}], "accounts": [demo_accounts[0].id]}
    assert api.post("/posts", keys.write, post).status_code == 201
    assert_problem(api.delete(f"/media/{in_use['id']}", keys.write), 409, "POSTWRIGHT/CONFLICT")
    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the row is gone for good
        assert api.delete(f"/media/{media['id']}", keys.write).status_code == 204
    assert not default_storage.exists(stored)
    assert list(Media.objects.values_list("pk", flat=True)) == [in_use["id"]]


def test_direct_upload_with_an_idempotency_key_replays(api, keys):
    from django.core.files.uploadedfile import SimpleUploadedFile

    def send(photo: bytes):
        return api.client.post("/api/v1/media", {"file": SimpleUploadedFile("p.jpg", photo)},
                               HTTP_AUTHORIZATION=f"Bearer {keys.write}", HTTP_IDEMPOTENCY_KEY="upload-1")  # fmt: skip

    first, again = send(phone_photo()), send(phone_photo())
    assert first.status_code == 201, first.content
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert_problem(send(phone_photo(orientation=1)), 422, "POSTWRIGHT/IDEMPOTENCY_KEY_REUSED")  # another file
    assert Media.objects.count() == 1
