"""YouTube against recorded Data API v3 answers (platforms-other.md section 4)."""

import io
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.urls import reverse

from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    ContentPart,
    MediaItem,
    MemoryUploads,
    Pending,
    PostMetrics,
    PublishRequest,
)
from connections.providers.youtube import api as youtube_api
from connections.registry import get_provider
from tests.connections.contract import APP, ProviderContract
from tests.connections.publishing import part_request, publish_all
from tests.connections.youtube_api import (
    ACCESS,
    API,
    BRAND_ID,
    CHANNEL_ID,
    TOKEN_URL,
    UPLOAD,
    FakeYouTube,
    account,
    channel,
    error,
    mock_uploads,
)

REDIRECT = "https://postwright.example/connections/callback/youtube/"
CHUNK = 256 * 1024
OPTIONS = {"privacy": "public", "made_for_kids": "no"}


@pytest.fixture(autouse=True)
def _small_chunks(settings, tmp_path):
    settings.YOUTUBE_UPLOAD_CHUNK_BYTES = CHUNK
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    cache.clear()
    yield
    cache.clear()


def clip(size: int = 3 * CHUNK, *, width: int = 1920, height: int = 1080, seconds: float = 30) -> MediaItem:
    data = bytes(index % 251 for index in range(size))
    return MediaItem(filename="clip.mp4", mime_type="video/mp4", size=size, open=lambda: io.BytesIO(data),
                     ranged=lambda offset, length: data[offset : offset + length], kind="video",
                     width=width, height=height, duration_s=seconds)  # fmt: skip


def video_request(text: str = "My video\nAbout it #travel #food", media=None, **options) -> PublishRequest:
    return PublishRequest(main=ContentPart(text=text, media=(media or clip(),)), options={**OPTIONS, **options})


def step(request: PublishRequest, uploads: MemoryUploads, state=None):
    part = part_request(request, 0, [], state=state or {}, uploads=uploads)
    return get_provider("youtube").publish_part(account=account(), request=request, part=part)


def channels(*items: dict) -> None:
    responses.add(responses.GET, f"{API}/channels", json={"kind": "youtube#channelListResponse", "items": list(items)})


def check_fails(status_and_body: tuple[int, dict]):
    status, body = status_and_body
    return lambda: responses.add(responses.GET, f"{API}/channels", json=body, status=status)


class TestYouTubeProvider(ProviderContract):
    provider_id = "youtube"

    def connect(self):
        responses.add(responses.POST, TOKEN_URL, json={"access_token": ACCESS, "expires_in": 3599,
                      "refresh_token": "1//0g", "scope": "youtube.upload", "token_type": "Bearer"})  # fmt: skip
        channels(channel(), channel(BRAND_ID, "Jane's Brand", "@janebrand"))
        provider = get_provider("youtube")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier="v" * 43)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self):
        return account()

    def mock_check(self):
        channels(channel())

    def mock_refresh(self):
        # Google normally sends no new refresh token: the stored one is kept.
        responses.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.new", "expires_in": 3599,
                      "scope": "youtube.upload", "token_type": "Bearer"})  # fmt: skip

    def error_cases(self):
        return [
            ("credentials", check_fails(error(401, "authError", "Invalid Credentials", "global")), ErrorClass.AUTH),
            ("no channel", check_fails(error(401, "youtubeSignupRequired", "Signup required")), ErrorClass.AUTH),
            ("quota", check_fails(error(403, "quotaExceeded", "quota", "youtube.quota")), ErrorClass.RATE),
            ("uploads", check_fails(error(400, "uploadLimitExceeded", "Too many uploads")), ErrorClass.RATE),
            (
                "user rate",
                check_fails(error(403, "userRateLimitExceeded", "Slow down", "usageLimits")),
                ErrorClass.RATE,
            ),
            ("title", check_fails(error(400, "invalidTitle", "Invalid title")), ErrorClass.CONTENT),
            ("forbidden", check_fails(error(403, "forbidden", "Forbidden")), ErrorClass.CONTENT),
            ("backend", check_fails(error(503, "backendError", "Backend Error", "global")), ErrorClass.TRANSIENT),
        ]

    def mock_publish_text(self):
        FakeYouTube(processing_polls=1).install()
        return "dQw4w9WgX00"

    def test_publish_text(self, provider):
        """The contract's publish, with the video every YouTube post is."""
        expected = self.mock_publish_text()
        result = publish_all(provider, account=self.account(), request=video_request("Hello"))
        assert (result.main.platform_post_id, result.main.url) == (
            expected,
            f"https://www.youtube.com/watch?v={expected}",
        )

    def mock_list_posts(self):
        mock_uploads()
        # Not the private one (scheduled, seen by nobody) nor the deleted one.
        return ["Ks-_Mh1QhMc", "Un1isTed00A"], ["F1rstVl0g00"]

    def mock_delete(self):
        responses.add(responses.DELETE, f"{API}/videos", status=204)

        def removed():
            return any(c.request.method == "DELETE" and "id=dQw4w9WgXcQ" in c.request.url for c in responses.calls)

        return "dQw4w9WgXcQ", removed

    def mock_account_metrics(self):
        channels(channel())  # statistics: 50 subscribers, 1,000 views, 12 videos
        return AccountMetrics(followers=50, posts_count=12, views=1000)

    def mock_metrics(self):
        statistics = {"viewCount": "1234", "likeCount": "56", "favoriteCount": "0", "commentCount": "7"}
        responses.add(responses.GET, f"{API}/videos", json={"items": [{"id": "dQw4w9WgXcQ", "statistics": statistics}]})
        return "dQw4w9WgXcQ", PostMetrics(likes=56, replies=7, impressions=1234, extra={"favorites": 0})

    # YouTube has no threads: the per-part scenarios become what fits one video per post.

    def test_reply_refused_after_the_main_post_landed_then_retry_creates_no_second_main_post(self, provider):
        request = PublishRequest(main=ContentPart("Main", media=(clip(),)), replies=(ContentPart("Reply 1"),),
                                 options=OPTIONS)  # fmt: skip
        part = part_request(request, 1, [_item()])
        with pytest.raises(ProviderError) as caught:
            provider.publish_part(account=account(), request=request, part=part)
        assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "no_threads")
        assert not responses.calls

    def test_answer_to_reply_2_lost_is_reconciled_and_reply_3_follows_it(
        self, team, django_capture_on_commit_callbacks
    ):
        """The reconcile rule on the last chunk, through the engine: the answer is lost, the part
        waits unknown, the session says the video exists, and no second video is started."""
        from publishing import engine

        fake = FakeYouTube()
        fake.install()
        fake.lose_final_once = True
        target = _engine_post(team, self, django_capture_on_commit_callbacks)
        assert target.status == "unknown"
        with django_capture_on_commit_callbacks(execute=True):
            assert engine.targets_claim_due() == []
            engine.targets_claim_reconcile()
        target.refresh_from_db()
        assert target.status == "published"
        assert target.parts.get().platform_post_id == "dQw4w9WgX00"
        assert len(fake.inits) == 1, "never a second video for one target"
        assert fake.puts[-1][0] == f"bytes */{fake.sessions['xa298sd_1']['size']}"

    def test_first_comment_answers_the_main_post(self, provider):
        request = PublishRequest(main=ContentPart("Main", media=(clip(),)), first_comment=ContentPart("Hi"),
                                 options=OPTIONS)  # fmt: skip
        with pytest.raises(ProviderError) as caught:
            provider.publish_part(account=account(), request=request, part=part_request(request, 1, [_item()]))
        assert caught.value.error_class == ErrorClass.CONTENT


def _item():
    from connections.providers.base import PublishedItem

    return PublishedItem(platform_post_id="dQw4w9WgX00", url="https://www.youtube.com/watch?v=dQw4w9WgX00")


def _engine_post(team, contract, capture):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing import engine
    from publishing.media import media_store
    from publishing.services import Attachment, PartInput, PostInput, When, post_create
    from tests.publishing.test_media import make_video

    state = contract.account()
    connection = Connection(profile=Profile(external_id=state.external_id, username=state.username),
                            secrets=dict(state.secrets))  # fmt: skip
    saved = account_save(workspace=team.workspace, platform="youtube", connection=connection, user=None)
    editor = team.membership("editor")
    video = media_store(actor=editor, upload=ContentFile(make_video(seconds=1), name="clip.mp4"))
    data = PostInput(parts=[PartInput(text="My video", attachments=(Attachment(media_id=video.id),))],
                     account_ids=[saved.id], when=When.now(), overrides={"youtube": {"options": OPTIONS}})  # fmt: skip
    post = post_create(actor=editor, data=data)
    with capture(execute=True):
        engine.targets_claim_due()
    return post.targets.get()


# --- Focused tests ------------------------------------------------------------------------------


def test_consent_asks_for_offline_access_and_the_upload_scope(db):
    url = get_provider("youtube").authorization_url(app=APP, redirect_uri=REDIRECT, state="S", code_verifier="v" * 43)
    params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert (params["access_type"], params["prompt"], params["code_challenge_method"]) == ("offline", "consent", "S256")
    assert "https://www.googleapis.com/auth/youtube.upload" in params["scope"].split()


def test_one_consent_yields_each_channel_with_the_same_grant_secrets(db):
    connections = TestYouTubeProvider().connect()
    assert [c.profile.external_id for c in connections] == [CHANNEL_ID, BRAND_ID]
    assert [c.profile.username for c in connections] == ["@jane", "@janebrand"]
    assert connections[0].secrets == connections[1].secrets
    assert connections[0].secrets["refresh_token"] == "1//0g"
    assert connections[0].secrets["quota_project"] == youtube_api.project_key(APP.client_id)


def test_a_google_account_without_a_channel_is_told_so(db):
    channels()
    with pytest.raises(ConnectError, match="no YouTube channel"):
        get_provider("youtube").connections_from_tokens(tokens=_tokens())


def _tokens():
    from connections.providers.base import TokenSet

    return TokenSet(access_token=ACCESS)


def test_a_resumed_upload_sends_only_what_youtube_does_not_hold(db):
    """YouTube held a third of the file when it answered 503: the next try asks for the range
    and sends the other two thirds, once."""
    fake = FakeYouTube(fail_after_bytes=CHUNK)
    fake.install()
    uploads, request = MemoryUploads(), video_request()
    with pytest.raises(ProviderError) as caught:
        step(request, uploads)
    assert caught.value.error_class == ErrorClass.TRANSIENT
    assert not caught.value.outcome_unknown
    assert len(fake.puts) == 1
    answer = step(request, uploads)
    assert isinstance(answer, Pending) is False
    size = 3 * CHUNK
    assert fake.puts[1:] == [(f"bytes */{size}", 0), (f"bytes {CHUNK}-{2 * CHUNK - 1}/{size}", CHUNK),
                             (f"bytes {2 * CHUNK}-{size - 1}/{size}", CHUNK)]  # fmt: skip
    assert sum(sent for _range, sent in fake.puts) == size, "every byte sent once"
    assert fake.received() == clip().read_range(0, size)
    assert len(fake.inits) == 1


def test_a_crash_before_the_offset_was_saved_asks_youtube_and_does_not_resend(db):
    fake = FakeYouTube()
    fake.install()
    uploads, request = MemoryUploads(), video_request()
    step(request, uploads)
    # As if the worker died after YouTube took two chunks but before their offset was stored.
    fake.sessions["xa298sd_1"]["data"] = bytearray(clip().read_range(0, 2 * CHUNK))
    fake.sessions["xa298sd_1"]["video"] = None
    fake.videos.clear()
    fake.puts.clear()
    uploads.save(
        "video", {"url": f"{UPLOAD}?uploadType=resumable&part=snippet,status&upload_id=xa298sd_1", "offset": 0}
    )
    step(request, uploads)
    assert [r for r, _n in fake.puts] == [f"bytes */{3 * CHUNK}", f"bytes {2 * CHUNK}-{3 * CHUNK - 1}/{3 * CHUNK}"]


def test_the_upload_carries_the_metadata_youtube_needs(db):
    fake = FakeYouTube()
    fake.install()
    step(video_request(synthetic="yes", privacy="unlisted"), MemoryUploads())
    (sent,) = fake.inits
    assert sent["snippet"] == {"title": "My video", "description": "About it #travel #food", "categoryId": "22",
                               "tags": ["travel", "food"]}  # fmt: skip
    assert sent["status"] == {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False,
                              "containsSyntheticMedia": True}  # fmt: skip
    init = next(c.request for c in responses.calls if c.request.method == "POST")
    assert init.headers["X-Upload-Content-Length"] == str(3 * CHUNK)
    assert parse_qs(urlsplit(init.url).query) == {"uploadType": ["resumable"], "part": ["snippet,status"]}


def test_processing_is_watched_over_several_looks_then_the_link_given(db):
    fake = FakeYouTube(processing_polls=2)
    fake.install()
    uploads, request, state, delays = MemoryUploads(), video_request(), {}, []
    for _ in range(2):
        answer = step(request, uploads, state)
        assert isinstance(answer, Pending)
        assert answer.reason == "YouTube is processing the video (processing)"
        state, delays = dict(answer.state), [*delays, answer.check_in_s]
    assert delays == sorted(delays)
    done = step(request, uploads, state)
    assert (done.platform_post_id, done.url) == ("dQw4w9WgX00", "https://www.youtube.com/watch?v=dQw4w9WgX00")
    assert len(fake.inits) == 1


def test_a_short_is_vertical_and_links_to_shorts(db):
    FakeYouTube().install()
    done = step(video_request(media=clip(width=1080, height=1920, seconds=60), format="short"), MemoryUploads())
    assert done.url == "https://www.youtube.com/shorts/dQw4w9WgX00"
    with pytest.raises(ProviderError, match="vertical"):
        step(video_request(format="short"), MemoryUploads())
    with pytest.raises(ProviderError, match="3 minutes"):
        step(video_request(media=clip(width=1080, height=1920, seconds=181), format="short"), MemoryUploads())


def test_a_rejected_video_fails_with_youtubes_reason(db):
    fake = FakeYouTube()
    fake.install()
    responses.replace(responses.GET, f"{API}/videos", json={"items": [{"id": "dQw4w9WgX00", "status": {
        "uploadStatus": "rejected", "rejectionReason": "duplicate"}, "processingDetails": {}}]})  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        step(video_request(), MemoryUploads())
    assert (caught.value.error_class, caught.value.message) == (
        ErrorClass.CONTENT,
        "YouTube did not accept the video: duplicate.",
    )


@pytest.mark.parametrize(
    ("text", "options", "code"),
    [
        ("T" * 101, {}, "title_length"),
        ("Title\n" + "é" * 2501, {}, "description_length"),
        ("A <b> title", {}, "angle_brackets"),
        ("Title\n" + " ".join(f"#tag{i:03d}" for i in range(80)), {}, "tags_length"),
        ("Title", {"made_for_kids": None}, "option_made_for_kids"),
        ("Title", {"privacy": "friends"}, "option_privacy"),
    ],
)
def test_what_youtube_would_refuse_is_refused_before_anything_is_sent(db, text, options, code):
    request = video_request(text)
    request = PublishRequest(main=request.main, options={**request.options, **options})
    with pytest.raises(ProviderError) as caught:
        step(request, MemoryUploads())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, code)
    assert not responses.calls


def test_a_lost_last_chunk_is_found_through_the_session_and_never_uploaded_twice(db):
    fake = FakeYouTube()
    fake.install()
    fake.lose_final_once = True
    uploads, request = MemoryUploads(), video_request()
    with pytest.raises(ProviderError) as caught:
        step(request, uploads)
    assert caught.value.outcome_unknown
    found = get_provider("youtube").find_part(
        account=account(), request=request, part=part_request(request, 0, [], uploads=uploads)
    )
    assert found.platform_post_id == "dQw4w9WgX00"
    assert len(fake.inits) == 1


def test_with_the_session_gone_the_channels_recent_uploads_are_searched(db):
    session = f"{UPLOAD}?uploadType=resumable&part=snippet,status&upload_id=gone"
    responses.add(responses.PUT, session, status=404)
    channels({"id": CHANNEL_ID, "contentDetails": {"relatedPlaylists": {"uploads": "UUxxxx"}}})
    uploaded = (("old", "2026-11-01T10:00:00Z"), ("new", "2026-12-01T23:00:05Z"))
    entries = [
        {"snippet": {"title": "My video", "publishedAt": at, "resourceId": {"kind": "youtube#video", "videoId": vid}}}
        for vid, at in uploaded
    ]
    responses.add(responses.GET, f"{API}/playlistItems", json={"items": entries})
    uploads, request = MemoryUploads(), video_request()
    uploads.save("video", {"url": session, "offset": 0})
    part = part_request(request, 0, [], uploads=uploads, sent_after=datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
    found = get_provider("youtube").find_part(account=account(), request=request, part=part)
    assert found.platform_post_id == "new"


def test_uploads_past_the_days_quota_wait_for_midnight_pacific(db, settings, time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), tick=False)  # 12:00 in Los Angeles
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY = 3_300
    fake = FakeYouTube()
    fake.install()
    step(video_request(), MemoryUploads())
    step(video_request(), MemoryUploads())
    with pytest.raises(ProviderError) as caught:
        step(video_request(), MemoryUploads())
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 12 * 3600)
    assert caught.value.message.startswith("YouTube quota used today: 3,202 / 3,300")
    assert len(fake.inits) == 2, "the third upload is not started"


def test_quota_exceeded_at_youtube_waits_until_the_reset(db, time_machine):
    time_machine.move_to(datetime(2026, 12, 2, 7, 30, tzinfo=UTC), tick=False)  # 23:30 in Los Angeles
    status, body = error(
        403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota.", "youtube.quota"
    )
    responses.add(responses.POST, UPLOAD, json=body, status=status)
    with pytest.raises(ProviderError) as caught:
        step(video_request(), MemoryUploads())
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 30 * 60)
    assert "midnight Pacific" in caught.value.message


def test_metrics_are_asked_fifty_ids_at_a_time(db):
    def answer(request):
        ids = parse_qs(urlsplit(request.url).query)["id"][0].split(",")
        return 200, {}, json.dumps({"items": [{"id": i, "statistics": {"viewCount": "1"}} for i in ids]})

    responses.add_callback(responses.GET, f"{API}/videos", callback=answer)
    metrics = get_provider("youtube").fetch_metrics(account=account(), platform_post_ids=[f"v{i}" for i in range(60)])
    assert len(metrics) == 60
    assert len(responses.calls) == 2


def test_a_post_without_the_made_for_kids_choice_is_refused_before_it_is_scheduled(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing.services import PartInput, PostInput, When, post_validate

    channel_profile = Profile(external_id=CHANNEL_ID, username="@jane")
    connection = Connection(profile=channel_profile, secrets={"access_token": ACCESS})
    saved = account_save(workspace=team.workspace, platform="youtube", user=None, connection=connection)
    editor = team.membership("editor")
    provider = get_provider("youtube")
    composer = dict((name, choices) for name, _label, choices in provider.composer_options)
    assert composer["made_for_kids"][0] == ("", "Choose..."), "the composer preselects nothing"

    def problems(options, when):
        data = PostInput(parts=[PartInput(text="My video")], account_ids=[saved.id], when=when,
                         overrides={"youtube": {"options": options}})  # fmt: skip
        return [p for p in post_validate(actor=editor, data=data) if p.code == "required"]

    (missing,) = problems({"privacy": "public", "made_for_kids": ""}, When.now())
    assert missing.field == "overrides.youtube.options.made_for_kids"
    assert missing.message == "Choose Made for kids for YouTube: there is no default."
    assert problems({"privacy": "public"}, When.now())
    assert problems({"made_for_kids": "no"}, When.now()) == []
    assert problems({}, When.draft()) == [], "a draft may leave the choice for later"


THUMBS = "https://www.googleapis.com/upload/youtube/v3/thumbnails/set"


def cover(size: int = 2048, mime: str = "image/jpeg") -> MediaItem:
    data = b"\xff\xd8" + b"j" * (size - 2)
    return MediaItem(filename="cover.jpg", mime_type=mime, size=size, open=lambda: io.BytesIO(data), kind="image",
                     width=1280, height=720)  # fmt: skip


def with_cover(request: PublishRequest, image: MediaItem | None = None) -> PublishRequest:
    main = ContentPart(text=request.main.text, media=(*request.main.media, image or cover()))
    return PublishRequest(main=main, options=request.options)


def test_a_scheduled_video_is_uploaded_private_with_publish_at(db, time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), tick=False)
    fake = FakeYouTube()
    fake.install()
    step(video_request(privacy="public", publish_at="2026-12-03T09:30:00+01:00"), MemoryUploads())
    assert fake.inits[0]["status"]["privacyStatus"] == "private", "publishAt needs a private video"
    assert fake.inits[0]["status"]["publishAt"] == "2026-12-03T08:30:00Z"


@pytest.mark.parametrize("moment", ["2026-12-01T19:00:00Z", "2026-12-03T09:30:00", "tomorrow"])
def test_a_publish_at_in_the_past_or_without_a_zone_is_refused_before_uploading(db, time_machine, moment):
    time_machine.move_to(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), tick=False)
    fake = FakeYouTube()
    fake.install()
    with pytest.raises(ProviderError) as caught:
        step(video_request(publish_at=moment), MemoryUploads())
    assert caught.value.error_class == ErrorClass.CONTENT
    assert fake.inits == []


def test_the_custom_thumbnail_is_set_once_after_the_upload(db):
    fake = FakeYouTube(processing_polls=2)
    fake.install()
    responses.add(responses.POST, THUMBS, json={"kind": "youtube#thumbnailSetResponse",
                  "items": [{"default": {"url": "https://i.ytimg.com/vi/x/default.jpg"}}]})  # fmt: skip
    uploads, request = MemoryUploads(), with_cover(video_request())
    first = step(request, uploads)
    assert isinstance(first, Pending)
    second = step(request, uploads, state=first.state)
    assert isinstance(second, Pending)
    done = step(request, uploads, state=second.state)
    assert done.platform_post_id == "dQw4w9WgX00"
    sets = [call for call in responses.calls if call.request.url.startswith(THUMBS)]
    assert len(sets) == 1, "the thumbnail is a step of its own, never sent again"
    assert parse_qs(urlsplit(sets[0].request.url).query)["videoId"] == ["dQw4w9WgX00"]
    assert sets[0].request.headers["Content-Type"] == "image/jpeg"
    assert sets[0].request.body == cover().read_range(0, 2048)
    assert sum(sent for _range, sent in fake.puts) == 3 * CHUNK, "the image is not part of the video upload"
    assert uploads.load("video")["thumbnail"] == "set"
    assert dict(done.extra) == {}


def test_an_unverified_channel_keeps_youtubes_thumbnail_and_says_so(db):
    FakeYouTube().install()
    status, body = error(403, "forbidden", "The authenticated user doesnt have permissions to upload and set custom "
                         "video thumbnails.")  # fmt: skip
    responses.add(responses.POST, THUMBS, json=body, status=status)
    uploads, request = MemoryUploads(), with_cover(video_request())
    done = step(request, uploads)
    assert done.platform_post_id == "dQw4w9WgX00", "the video is published all the same"
    assert "verified channel" in done.extra["thumbnail"]
    assert "verified channel" in uploads.load("video")["thumbnail"]


def test_a_thumbnail_youtube_cannot_take_is_refused_before_anything_is_sent(db):
    fake = FakeYouTube()
    fake.install()
    with pytest.raises(ProviderError) as caught:
        step(with_cover(video_request(), cover(size=3 * 1024 * 1024)), MemoryUploads())
    assert caught.value.code == "thumbnail_format"
    assert fake.inits == []


def test_channel_statistics_are_the_accounts_metrics(db):
    channels(channel())
    metrics = get_provider("youtube").fetch_account_metrics(account=account())
    assert (metrics.followers, metrics.views, metrics.posts_count) == (50, 1000, 12)
    assert parse_qs(urlsplit(responses.calls[0].request.url).query)["id"] == [CHANNEL_ID]
    hidden = channel()
    hidden["statistics"]["hiddenSubscriberCount"] = True
    responses.replace(responses.GET, f"{API}/channels", json={"items": [hidden]})
    assert get_provider("youtube").fetch_account_metrics(account=account()).followers is None
    assert youtube_api.quota_used("p-test") == 2


def test_deleting_a_video_spends_fifty_units(db):
    responses.add(responses.DELETE, f"{API}/videos", status=204)
    get_provider("youtube").delete(account=account(), platform_post_id="dQw4w9WgX00")
    assert youtube_api.quota_used("p-test") == 50
    assert parse_qs(urlsplit(responses.calls[0].request.url).query)["id"] == ["dQw4w9WgX00"]


def test_the_accounts_page_shows_admins_the_quota_used_today(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    profile = Profile(external_id=CHANNEL_ID, username="@jane")
    connection = Connection(profile=profile, secrets={"access_token": ACCESS, "quota_project": "p-test"},
                            extra={"quota_project": "p-test"})  # fmt: skip
    account_save(workspace=team.workspace, platform="youtube", user=None, connection=connection)
    youtube_api.quota_spend(youtube_api.Ledger("p-test"), 6_400)
    page = team.client("owner").get(reverse("connections")).content.decode()
    assert "YouTube quota used today: 6,400 / 10,000 units (3,600 left)." in page
    viewer_page = team.client("viewer").get(reverse("connections")).content.decode()
    assert "YouTube quota used today" not in viewer_page


def test_the_composer_takes_the_go_public_time_in_the_authors_zone(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing.models import Post

    team.workspace.timezone = "Europe/Paris"
    team.workspace.save()
    connection = Connection(profile=Profile(external_id=CHANNEL_ID, username="@jane"), secrets={"access_token": ACCESS})
    saved = account_save(workspace=team.workspace, platform="youtube", connection=connection, user=None)
    editor = team.client("editor")
    page = editor.get(reverse("compose")).content.decode()
    assert 'type="datetime-local" id="option-youtube-publish_at"' in page
    data = {"accounts": [saved.id], "text": "My video", "when": "draft", "option_youtube_made_for_kids": "no",
            "option_youtube_privacy": "public", "option_youtube_publish_at": "2031-05-06T10:30"}  # fmt: skip
    editor.post(reverse("compose"), data)
    post = Post.objects.get()
    assert post.overrides["youtube"]["options"]["publish_at"] == "2031-05-06T08:30:00+00:00"
    edit = editor.get(reverse("post_edit", args=[post.pk])).content.decode()
    assert 'value="2031-05-06T10:30"' in edit, "shown again in the author's zone"
    data["option_youtube_publish_at"] = "next tuesday"
    answer = editor.post(reverse("post_edit", args=[post.pk]), data).content.decode()
    assert "must be a date and time that exists, or left empty" in answer


# --- Importing the channel's uploads ----------------------------------------------------------


def test_an_import_counts_one_unit_per_list_call_and_resumes_without_finding_the_playlist_again(db):
    youtube = get_provider("youtube")
    mock_uploads()
    first = youtube.list_posts(account=account())
    assert first.next_cursor == "UUxxxx|EAAaBlBUOkNESQ"
    assert youtube_api.quota_used("p-test") == 2  # channels.list, then playlistItems.list
    latest = first.items[0]
    assert latest.text == "Lisbon in 48 hours\nWhere we ate, walked and slept.\n#travel #food"
    assert latest.url == "https://www.youtube.com/watch?v=Ks-_Mh1QhMc"
    assert latest.published_at == datetime(2026, 11, 29, 15, 0, 7, tzinfo=UTC)
    assert latest.media[0].url == "https://i.ytimg.com/vi/Ks-_Mh1QhMc/hqdefault.jpg"
    responses.calls.reset()
    youtube.list_posts(account=account(), cursor=first.next_cursor)  # a resumed run: the stored cursor
    assert [urlsplit(c.request.url).path for c in responses.calls] == ["/youtube/v3/playlistItems"]
    assert youtube_api.quota_used("p-test") == 3


def test_an_import_never_spends_the_units_kept_for_uploads(db, settings, time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 20, 0, tzinfo=UTC), tick=False)  # 12:00 in Los Angeles
    settings.YOUTUBE_QUOTA_UNITS_PER_DAY, settings.ANALYTICS_BUDGET_RESERVE = 1_000, 0.2
    youtube_api.quota_spend(youtube_api.Ledger("p-test"), 799)  # one unit left of the 800 background reads may use
    with pytest.raises(ProviderError) as caught:
        get_provider("youtube").list_posts(account=account())  # the first page needs two
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 12 * 3600)
    assert caught.value.code == "quota_reserved"
    assert not responses.calls, "nothing is asked of YouTube"
    assert youtube_api.quota_used("p-test") == 799
    mock_uploads()
    get_provider("youtube").list_posts(account=account(), cursor="UUxxxx|EAAaBlBUOkNESQ")  # one unit: it fits
    assert youtube_api.quota_used("p-test") == 800
    # Uploads still have their 200 units.
    youtube_api.quota_reserve(youtube_api.Ledger("p-test"), 200)
