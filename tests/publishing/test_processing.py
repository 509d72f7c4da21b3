"""Multi-step publishing through the engine: waiting at the platform holds no worker and spends no
attempt; uploads resume where they stopped; the post page tells the story."""

from datetime import timedelta

import pytest
import responses
from django.core.files.base import ContentFile
from django.utils import timezone

from connections.providers.demo import provider as demo_module
from connections.providers.demo.models import DemoPost
from events.models import Event
from publishing import engine
from publishing.media import media_store
from publishing.models import Target, TargetPart, UploadSession
from publishing.services import Attachment, PartInput, PostInput, When, post_create
from tests.publishing.test_media import make_video

S = Target.Status


@pytest.fixture(autouse=True)
def _media_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def run(function, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def _video_post(team, account, *, text="Watch this"):
    editor = team.membership("editor")
    video = media_store(actor=editor, upload=ContentFile(make_video(seconds=1), name="clip.mp4"))
    data = PostInput(parts=[PartInput(text=text, attachments=(Attachment(media_id=video.id),))],
                     account_ids=[account.id], when=When.now())  # fmt: skip
    return post_create(actor=editor, data=data), video


def _due_now(target: Target) -> None:
    Target.objects.filter(pk=target.pk).update(next_attempt_at=timezone.now())


def test_a_video_waits_at_the_demo_network_without_a_worker_and_publishes_once(
    team, demo_accounts, run, settings, time_machine
):
    settings.DEMO_VIDEO_PROCESSING_SECONDS = 30
    time_machine.move_to(timezone.now(), tick=False)
    post, _ = _video_post(team, demo_accounts[0])
    target = post.targets.get()
    assert target.lane == "media", "video goes to the media workers"
    run(engine.targets_claim_due)
    target.refresh_from_db()
    assert (target.status, target.status_reason) == (S.PROCESSING, "Demo network is processing the video")
    assert target.lease_expires_at is None, "no worker holds it while the platform works"
    assert timezone.now() < target.next_attempt_at <= timezone.now() + timedelta(seconds=5)
    assert not DemoPost.objects.exists()
    for _ in range(3):  # looked at again while still processing: no attempt spent
        time_machine.shift(5)
        run(engine.targets_claim_due)
        target.refresh_from_db()
        assert (target.status, target.attempts) == (S.PROCESSING, 1)
    time_machine.shift(20)
    run(engine.targets_claim_due)
    target.refresh_from_db()
    assert (target.status, target.attempts) == (S.PUBLISHED, 1)
    assert DemoPost.objects.count() == 1
    types = list(Event.objects.filter(post_id=post.id).values_list("type", flat=True))
    assert types.count("target.processing") == 4
    assert types[-2:] == ["target.published", "post.published"]


def test_an_upload_cut_off_resumes_at_its_stored_offset(team, demo_accounts, run, settings, monkeypatch):
    settings.DEMO_VIDEO_PROCESSING_SECONDS = 0
    monkeypatch.setattr(demo_module, "DEMO_CHUNK_BYTES", 512)
    post, video = _video_post(team, demo_accounts[0])
    assert video.size > 2048
    reads: list[int] = []
    real_save = engine.PartUploads.save

    def save_then_die(self, key, state):
        real_save(self, key, state)
        if state["offset"] >= 1536 and not reads:
            reads.append(state["offset"])
            raise ConnectionResetError("the worker's connection dropped mid-upload")

    monkeypatch.setattr(engine.PartUploads, "save", save_then_die)
    run(engine.targets_claim_due)
    target = post.targets.get()
    assert target.status == S.UNKNOWN  # a crash mid-part is reconciled, never blindly resent
    assert UploadSession.objects.get().state["offset"] == 1536
    run(engine.targets_claim_reconcile)  # not on the platform: safe to send the rest
    offsets: list[int] = []
    monkeypatch.setattr(engine.PartUploads, "save", lambda self, key, state: offsets.append(state["offset"]))
    run(engine.targets_claim_due)
    target.refresh_from_db()
    assert target.status == S.PUBLISHED
    assert offsets[0] == 2048, "the next chunk after the stored offset, not the first byte again"
    assert offsets[-1] == video.size


@responses.activate(assert_all_requests_are_fired=False)
def test_mastodon_media_processing_frees_the_worker_between_looks(team, run, time_machine):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from tests.connections.test_mastodon import INSTANCE, MEDIA, MEDIA_ID, STATUSES, alice, payload

    state = alice()
    account = account_save(
        workspace=team.workspace, platform="mastodon", user=None,
        connection=Connection(profile=Profile(external_id=state.external_id, username=state.username),
                              secrets=dict(state.secrets), instance_url=state.instance_url, extra=dict(state.extra)),
    )  # fmt: skip
    time_machine.move_to(timezone.now(), tick=False)
    post, _ = _video_post(team, account)
    target = post.targets.get()
    responses.add(responses.POST, MEDIA, json=payload("media_202"), status=202)
    run(engine.targets_claim_due)
    target.refresh_from_db()
    assert target.status == S.PROCESSING
    assert "processing the media" in target.status_reason
    part = TargetPart.objects.get(target=target)
    assert (part.status, part.state["media_ids"]) == (TargetPart.Status.PROCESSING, [MEDIA_ID])
    responses.add(responses.GET, f"{INSTANCE}/api/v1/media/{MEDIA_ID}", json=payload("media_202"), status=206)
    time_machine.shift(1)
    run(engine.targets_claim_due)
    target.refresh_from_db()
    assert target.status == S.PROCESSING
    responses.replace(responses.GET, f"{INSTANCE}/api/v1/media/{MEDIA_ID}", json=payload("media_200"))
    responses.add(responses.POST, STATUSES, json=payload("status"))
    time_machine.shift(2)
    run(engine.targets_claim_due)
    target.refresh_from_db()
    assert (target.status, target.attempts, target.platform_post_id) == (S.PUBLISHED, 1, "109876543210")
    uploads = [c for c in responses.calls if c.request.url == MEDIA]
    assert len(uploads) == 1, "the media is uploaded once, then only looked at"


def test_the_post_page_tells_the_history_and_the_parts(team, demo_accounts, run):
    editor = team.membership("editor")
    data = PostInput(parts=[PartInput(text="One"), PartInput(text="Two #fail-content", kind="reply")],
                     account_ids=[demo_accounts[0].id], when=When.now())  # fmt: skip
    post = post_create(actor=editor, data=data)
    run(engine.targets_claim_due)
    page = team.client("editor").get(f"/posts/{post.id}/").content.decode()
    assert "scheduled by" in page
    assert "queued for @alpha" in page
    assert "@alpha: reply 1 refused" in page
    assert "Posted; reply 1 refused: Demo network: this post breaks the demo rules." in page
    assert "Reply 1:" in page
    assert "The post:" in page


def test_a_run_that_lost_its_part_meanwhile_stops_and_sends_no_reply(team, demo_accounts, run, monkeypatch):
    """A worker whose lease lapsed mid-call (recovery moved its part on) must not record the
    part, nor send the next part without the post it answers."""
    from connections.providers.demo.provider import DemoProvider

    real = DemoProvider.publish_part

    def slow_then_answer(self, *, account, request, part):
        answer = real(self, account=account, request=request, part=part)
        if part.index == 0:  # meanwhile the dispatcher took the lapsed lease for a dead worker
            TargetPart.objects.filter(position=0).update(status=TargetPart.Status.UNKNOWN)
        return answer

    monkeypatch.setattr(DemoProvider, "publish_part", slow_then_answer)
    data = PostInput(parts=[PartInput(text="Main"), PartInput(text="Reply", kind="reply")],
                     account_ids=[demo_accounts[0].id], when=When.now())  # fmt: skip
    post = post_create(actor=team.membership("editor"), data=data)
    run(engine.targets_claim_due)
    assert list(DemoPost.objects.values_list("text", flat=True)) == ["Main"]
    main = TargetPart.objects.get(position=0)
    assert (main.status, main.platform_post_id) == (TargetPart.Status.UNKNOWN, "")  # left to reconciliation
    assert TargetPart.objects.get(position=1).status == TargetPart.Status.PENDING
    assert post.targets.get().status != S.PUBLISHED


def test_retry_starts_what_did_not_go_out_afresh(team, demo_accounts, run):
    data = PostInput(parts=[PartInput(text="x #fail-content")], account_ids=[demo_accounts[0].id], when=When.now())
    post = post_create(actor=team.membership("editor"), data=data)
    run(engine.targets_claim_due)
    target = post.targets.get()
    part = TargetPart.objects.get(target=target)
    TargetPart.objects.filter(pk=part.pk).update(state={"media_ids": ["gone"], "since": 0})
    UploadSession.objects.create(part=part, key="video", state={"offset": 10})
    from publishing.services import target_retry

    target_retry(actor=team.membership("editor"), target=target)
    part.refresh_from_db()
    assert (part.status, part.state, part.attempts) == (TargetPart.Status.PENDING, {}, 0)
    assert not UploadSession.objects.filter(part=part).exists()


def test_a_lookup_the_platform_keeps_failing_ends_by_asking_the_author(
    team, demo_accounts, run, monkeypatch, settings, time_machine
):
    from connections.errors import ErrorClass, ProviderError
    from connections.providers.demo.provider import DemoProvider

    def down(self, **kwargs):
        raise ProviderError(ErrorClass.TRANSIENT, "Demo network is down.", status=503)

    time_machine.move_to(timezone.now(), tick=False)
    data = PostInput(parts=[PartInput(text="lost #fail-unknown")], account_ids=[demo_accounts[0].id], when=When.now())
    post = post_create(actor=team.membership("editor"), data=data)
    run(engine.targets_claim_due)
    monkeypatch.setattr(DemoProvider, "find_part", down)
    target = post.targets.get()
    run(engine.targets_claim_reconcile)
    target.refresh_from_db()
    assert target.next_attempt_at is not None  # an outage: look again later
    time_machine.shift(settings.PUBLISH_RECONCILE_GIVE_UP_SECONDS + 1)
    run(engine.targets_claim_reconcile)
    target.refresh_from_db()
    assert (target.status, target.next_attempt_at) == (S.UNKNOWN, None)
    assert "could not tell whether the post went out (Demo network is down.)" in target.error_message
