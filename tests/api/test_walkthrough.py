"""The README's backend-integration walkthrough, step by step, through the test client: an API
key, a webhook endpoint on a real loopback receiver, a Demo consent for a tenant with a pending
selection, a resumable video upload, a post with a first comment and a thread published now, and
signed post.published webhooks verified with the standardwebhooks package."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from standardwebhooks import Webhook

from publishing import engine
from publishing.models import Post
from tests.api.conftest import make_key
from tests.publishing.test_media import make_video
from tests.webhooks.conftest import run_pass
from tests.webhooks.receiver import start_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path, db):
    from webhooks import sender

    settings.DEBUG = True  # as under make run: loopback redirect_uri and webhook URLs are allowed
    settings.MEDIA_ROOT, settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "media", tmp_path / "uploads"
    settings.MEDIA_UPLOAD_CHUNK_BYTES = 64 * 1024
    sender._cursor()


def _consent(auth_url: str) -> dict[str, str]:
    """The end user's browser: the Demo consent page, Allow with the brand pages, back to us, then on."""
    browser = Client()
    parts = urlsplit(auth_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    form = {**query, "identifier": "demo-creator", "display_name": "Demo Creator", "pages": "on", "answer": "allow"}
    callback = urlsplit(browser.post(parts.path, form)["Location"])
    landed = urlsplit(browser.get(callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()})["Location"])
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == "http://localhost:3000/connected"
    return {k: v[0] for k, v in parse_qs(landed.query).items()}


def test_the_readme_walkthrough(api, team, receiver, django_capture_on_commit_callbacks):
    key = make_key(team.workspace, name="backend")  # 1. register your app
    assert api.get("/social-networks", key).json() == []

    hook = api.post("/webhooks", key, {"url": receiver.url, "event_types": ["post.published", "account.connected"]})
    assert hook.status_code == 201, hook.content  # 2. the endpoint, its secret shown once
    secret = hook.json()["signing_secret"]

    started = api.post("/connect/demo/auth-url", key,  # 3. an auth URL for user 42
                       {"redirect_uri": "http://localhost:3000/connected", "tenant_id": "user-42"})  # fmt: skip
    assert started.status_code == 200, started.content
    answer = _consent(started.json()["auth_url"])
    assert answer["status"] == "pending"

    pending = api.get(f"/social-accounts/pending/{answer['session']}", key).json()  # 4. the choice
    assert [c["id"] for c in pending["choices"]] == ["demo-creator", "demo-creator-news", "demo-creator-shop"]
    chosen = api.post(f"/social-accounts/pending/{answer['session']}/finalize", key,
                      {"selectedPageIds": ["demo-creator", "demo-creator-news"]})  # fmt: skip
    assert chosen.status_code == 201, chosen.content
    account_ids = [a["id"] for a in chosen.json()["data"]]
    listed = api.get("/social-accounts?tenant_id=user-42", key).json()["data"]
    assert sorted(a["id"] for a in listed) == sorted(account_ids)

    video = make_video(seconds=2)  # 5. a resumable upload, chunk by chunk
    upload = api.post("/media/uploads", key, {"name": "clip.mp4", "size": len(video), "mime_type": "video/mp4"}).json()
    step = upload["chunk_bytes"]
    for first in range(0, len(video), step):
        last = min(first + step, len(video)) - 1
        sent = api.client.put(f"/api/v1/media/uploads/{upload['id']}", video[first : last + 1],
                              content_type="application/octet-stream", HTTP_AUTHORIZATION=f"Bearer {key}",
                              HTTP_CONTENT_RANGE=f"bytes {first}-{last}/{len(video)}")  # fmt: skip
        assert sent.status_code == 200, sent.content
    with django_capture_on_commit_callbacks(execute=True):  # the video's inspection task (inline in tests)
        finished = api.post(f"/media/uploads/{upload['id']}/finish", key)
    assert (finished.status_code, finished.json()["status"]) == (202, "processing")
    media = api.get(finished["Location"].removeprefix("/api/v1"), key).json()  # poll until it is ready
    assert (media["kind"], media["status"]) == ("video", "ready")

    video_part = {"text": "Our launch video", "media": [{"media_id": media["id"], "alt_text": "The app in use"}]}
    containers = [video_part, {"text": "Sign up: https://example.com"}, {"text": "1/ How it works"},
                  {"text": "2/ What is next"}]  # fmt: skip
    body = {"containers": containers, "accounts": account_ids, "publish_now": True, "tenant_id": "user-42"}
    created = api.post("/posts", key, body, **{"Idempotency-Key": "launch-user-42"})  # 6. post it now
    assert created.status_code == 201, created.content
    post_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()  # what the dispatcher does under make run
    post = api.get(f"/posts/{post_id}?expand=targets.account", key).json()
    assert post["status"] == Post.Status.PUBLISHED, post
    assert {t["account"]["tenant_id"] for t in post["targets"]} == {"user-42"}
    assert all([p["kind"] for p in t["parts"]] == ["main", "reply", "reply", "first_comment"] for t in post["targets"])

    run_pass()  # the webhook sender
    verified = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    assert [e["type"] for e in verified].count("account.connected") == 2
    assert {"type": "post.published", "data": {"post_id": post_id, "status": "published"}}.items() <= next(
        e for e in verified if e["type"] == "post.published"
    ).items()
