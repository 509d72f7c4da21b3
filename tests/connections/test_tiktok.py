"""TikTok against recorded Content Posting and Display API answers (platforms-other.md section 3,
platforms-google-snap.md section 3)."""

import io
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    ContentPart,
    MediaItem,
    MemoryUploads,
    Pending,
    PostMetrics,
    PublishRequest,
)
from connections.registry import get_provider
from tests.connections.contract import APP, ProviderContract
from tests.connections.publishing import part_request, publish_all
from tests.connections.tiktok_api import (
    ACCESS,
    OPEN,
    OPEN_ID,
    FakeTikTok,
    account,
    creator_info,
    failure,
    mock_video_list,
    ok,
    user,
)

REDIRECT = "https://postwright.example/connections/callback/tiktok/"
TOKEN = f"{OPEN}/oauth/token/"
MIB = 1024 * 1024
OPTIONS = {"privacy_level": "PUBLIC_TO_EVERYONE"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_UPLOAD_TEMP_DIR = tmp_path / "uploads"
    settings.TIKTOK_UPLOAD_CHUNK_BYTES = 5 * MIB
    cache.clear()  # creator_info is kept a minute for the composer
    yield
    cache.clear()


def clip(size: int = 1000, seconds: float = 20, url: str = "") -> MediaItem:
    data = bytes(index % 253 for index in range(size))
    return MediaItem(filename="clip.mp4", mime_type="video/mp4", size=size, open=lambda: io.BytesIO(data),
                     ranged=lambda offset, length: data[offset : offset + length], kind="video", width=1080,
                     height=1920, duration_s=seconds, public_url=url)  # fmt: skip


def video_request(text: str = "Caption #tag @friend", media=None, **options) -> PublishRequest:
    return PublishRequest(main=ContentPart(text=text, media=(media or clip(),)), options={**OPTIONS, **options})


def step(request: PublishRequest, uploads: MemoryUploads, state=None):
    part = part_request(request, 0, [], state=state or {}, uploads=uploads)
    return get_provider("tiktok").publish_part(account=account(), request=request, part=part)


def check_fails(body: dict, status: int):
    return lambda: responses.add(responses.GET, f"{OPEN}/user/info/", json=body, status=status)


def token_answer(**changes) -> dict:
    answer = {"access_token": "act.example", "expires_in": 86400, "open_id": OPEN_ID, "refresh_expires_in": 31536000,
              "refresh_token": "rft.example", "scope": "user.info.basic,video.publish",
              "token_type": "Bearer"}  # fmt: skip
    return {**answer, **changes}


class TestTikTokProvider(ProviderContract):
    provider_id = "tiktok"

    def connect(self):
        responses.add(responses.POST, TOKEN, json=token_answer())
        responses.add(responses.GET, f"{OPEN}/user/info/", json=ok(user()))
        provider = get_provider("tiktok")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self):
        return account()

    def mock_check(self):
        responses.add(responses.GET, f"{OPEN}/user/info/", json=ok(user()))

    def mock_refresh(self):
        responses.add(responses.POST, TOKEN, json=token_answer(access_token="act.new", refresh_token="rft.rotated"))

    def error_cases(self):
        return [
            (
                "token",
                check_fails(failure("access_token_invalid", "The access token is invalid"), 401),
                ErrorClass.AUTH,
            ),
            ("scope", check_fails(failure("scope_not_authorized", "Scope not authorized"), 401), ErrorClass.AUTH),
            ("rate", check_fails(failure("rate_limit_exceeded", "Rate limit exceeded"), 429), ErrorClass.RATE),
            ("daily cap", check_fails(failure("spam_risk_too_many_posts", "Too many posts"), 403), ErrorClass.RATE),
            ("privacy", check_fails(failure("privacy_level_option_mismatch", "Mismatch"), 400), ErrorClass.CONTENT),
            ("domain", check_fails(failure("url_ownership_unverified", "Unverified"), 403), ErrorClass.CONFIG),
            ("internal", check_fails(failure("internal_error", "Internal error"), 500), ErrorClass.TRANSIENT),
        ]

    def mock_publish_text(self):
        FakeTikTok(statuses=["PROCESSING_UPLOAD"]).install()
        return "7312345678901234567"

    def test_publish_text(self, provider):
        """The contract's publish, with the video every TikTok post is."""
        expected = self.mock_publish_text()
        result = publish_all(provider, account=self.account(), request=video_request("Hello"))
        assert (result.main.platform_post_id, result.main.url) == (
            expected,
            f"https://www.tiktok.com/@jane/video/{expected}",
        )

    def mock_list_posts(self):
        mock_video_list()
        return ["7443108512345678901", "7441987654321098765"], ["7420011122233344455"]

    def mock_account_metrics(self):
        responses.add(responses.GET, f"{OPEN}/user/info/", json=ok(user()))
        return AccountMetrics(followers=120, following=30, posts_count=14, extra={"likes": 900})

    def mock_metrics(self):
        video = {"id": "7312345678901234567", "view_count": 1234, "like_count": 56, "comment_count": 7,
                 "share_count": 3, "share_url": "https://www.tiktok.com/@jane/video/7312345678901234567"}  # fmt: skip
        responses.add(responses.POST, f"{OPEN}/video/query/",
                      json=ok({"videos": [video], "cursor": 0, "has_more": False}))  # fmt: skip
        return "7312345678901234567", PostMetrics(likes=56, replies=7, reposts=3, impressions=1234)

    # TikTok has no threads: the per-part scenarios become what fits one video per post.

    def test_reply_refused_after_the_main_post_landed_then_retry_creates_no_second_main_post(self, provider):
        request = PublishRequest(main=ContentPart("Main", media=(clip(),)), replies=(ContentPart("Reply 1"),),
                                 options=OPTIONS)  # fmt: skip
        with pytest.raises(ProviderError) as caught:
            provider.publish_part(account=account(), request=request, part=part_request(request, 1, [_item()]))
        assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "no_threads")
        assert not responses.calls

    def test_answer_to_reply_2_lost_is_reconciled_and_reply_3_follows_it(self, settings, db):
        """The reconcile rule where TikTok's create is one call (PULL_FROM_URL): the init's answer
        is lost, and the creator's recent videos show the post, so nothing is sent again."""
        settings.TIKTOK_PULL_FROM_URL = True
        fake = FakeTikTok(lose_init_once=True)
        fake.install()
        request = video_request(media=clip(url="https://media.postwright.example/s/tok/"))
        uploads = MemoryUploads()
        with pytest.raises(ProviderError) as caught:
            step(request, uploads)
        assert caught.value.outcome_unknown
        listed = {"id": "7380080137682881835", "title": "Caption #tag @friend", "create_time": 1796166000,
                  "share_url": "https://www.tiktok.com/@jane/video/7380080137682881835"}  # fmt: skip
        responses.add(
            responses.POST, f"{OPEN}/video/list/", json=ok({"videos": [listed], "cursor": 0, "has_more": False})
        )
        after = datetime.fromtimestamp(1796166000 - 30, tz=UTC)
        part = part_request(request, 0, [], uploads=uploads, sent_after=after)
        found = get_provider("tiktok").find_part(account=account(), request=request, part=part)
        assert found.platform_post_id == "7380080137682881835"
        assert len(fake.inits) == 1
        assert fake.inits[0]["source_info"] == {
            "source": "PULL_FROM_URL",
            "video_url": "https://media.postwright.example/s/tok/",
        }

    def test_first_comment_answers_the_main_post(self, provider):
        request = PublishRequest(main=ContentPart("Main", media=(clip(),)), first_comment=ContentPart("Hi"),
                                 options=OPTIONS)  # fmt: skip
        with pytest.raises(ProviderError) as caught:
            provider.publish_part(account=account(), request=request, part=part_request(request, 1, [_item()]))
        assert caught.value.error_class == ErrorClass.CONTENT


def _item():
    from connections.providers.base import PublishedItem

    return PublishedItem(
        platform_post_id="7312345678901234567", url="https://www.tiktok.com/@jane/video/7312345678901234567"
    )


# --- Connect ------------------------------------------------------------------------------------


def test_consent_names_the_client_key_and_comma_separated_scopes(db):
    url = get_provider("tiktok").authorization_url(app=APP, redirect_uri=REDIRECT, state="S", code_verifier=None)
    params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://www.tiktok.com/v2/auth/authorize/?")
    assert (params["client_key"], params["response_type"], params["state"]) == ("client-123", "code", "S")
    assert params["scope"] == "user.info.basic,user.info.profile,user.info.stats,video.publish,video.upload,video.list"
    assert "code_challenge" not in params


def test_tokens_keep_their_refresh_expiry_and_a_rotated_refresh_token(db):
    connections = TestTikTokProvider().connect()
    (connection,) = connections
    assert connection.profile.external_id == OPEN_ID
    assert connection.profile.username == "@jane"
    assert connection.secrets["refresh_token"] == "rft.example"
    assert connection.secrets["refresh_expires_at"].startswith(str(timezone.now().year + 1))
    sent = parse_qs(responses.calls[0].request.body)
    assert (sent["client_key"], sent["grant_type"]) == (["client-123"], ["authorization_code"])
    responses.add(responses.POST, TOKEN, json=token_answer(access_token="act.new", refresh_token="rft.rotated"))
    tokens = get_provider("tiktok").refresh(app=APP, account=account())
    assert (tokens.access_token, tokens.refresh_token) == ("act.new", "rft.rotated")


def test_a_refused_refresh_is_auth(db):
    refused = {"error": "invalid_grant", "error_description": "Refresh token is invalid", "log_id": "2026"}
    responses.add(responses.POST, TOKEN, json=refused, status=400)
    with pytest.raises(ProviderError) as caught:
        get_provider("tiktok").refresh(app=APP, account=account())
    assert (caught.value.error_class, caught.value.message) == (ErrorClass.AUTH, "Refresh token is invalid")


# --- The creator's options ----------------------------------------------------------------------


def test_the_composer_options_come_from_creator_info_with_no_default_privacy(db):
    FakeTikTok(info=creator_info(privacy_level_options=["FOLLOWER_OF_CREATOR", "SELF_ONLY"])).install()
    provider = get_provider("tiktok")

    def choices(name):
        return provider.composer_choices(account=account(), name=name)

    offered = (("", "Choose..."), ("FOLLOWER_OF_CREATOR", "Followers"), ("SELF_ONLY", "Only me"))
    assert choices("privacy_level") == offered
    assert choices("comments") == (("no", "Off"), ("yes", "On"))
    assert choices("stitch") == (("no", "Off (Jane has turned this off on TikTok)"),), "off in the creator's settings"
    declared = {name: options for name, _label, options in provider.composer_options}
    assert declared["privacy_level"] == (("", "Choose..."),), "nothing offered before TikTok says what is"
    assert [value for value, _label in declared["commercial"]] == ["none", "your_brand", "branded"]
    info_calls = [call for call in responses.calls if call.request.url.endswith("creator_info/query/")]
    assert len(info_calls) == 1, "one creator_info per minute serves the whole composer page"


def test_the_composer_notes_show_the_creator_and_tiktoks_required_notices(db, settings):
    FakeTikTok().install()
    notes = get_provider("tiktok").composer_notes(account=account())
    assert notes[0].text == "Posting to TikTok as Jane (@jane)."
    assert notes[0].image_url == "https://p16.tiktokcdn.com/jane.jpeg"
    texts = [note.text for note in notes]
    assert "Jane's TikTok videos can be at most 600 seconds long." in texts
    assert any("may take a few minutes to process" in text for text in texts)
    assert any(text.startswith("TikTok has not audited this app yet") for text in texts)
    assert any("Music Usage Confirmation" in text and "Paid partnership" in text for text in texts)
    cache.clear()
    settings.TIKTOK_APP_AUDITED = True
    assert not any("audited" in note.text for note in get_provider("tiktok").composer_notes(account=account()))


def test_the_compose_page_shows_the_creator_s_choices_and_a_post_keeps_them(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing.models import Post

    FakeTikTok(info=creator_info(privacy_level_options=["FOLLOWER_OF_CREATOR", "SELF_ONLY"])).install()
    connection = Connection(profile=Profile(external_id=OPEN_ID, username="@jane"), secrets={"access_token": ACCESS})
    saved = account_save(workspace=team.workspace, platform="tiktok", connection=connection, user=None)
    page = team.client("editor").get(reverse("compose")).content.decode()
    privacy = page.split('name="option_tiktok_privacy_level"')[1].split("</select>")[0]
    assert '<option value="" selected>Choose...</option>' in privacy
    assert '<option value="FOLLOWER_OF_CREATOR" >Followers</option>' in privacy
    assert "PUBLIC_TO_EVERYONE" not in privacy, "only what TikTok offers this creator"
    stitch = page.split('name="option_tiktok_stitch"')[1].split("</select>")[0]
    assert 'value="yes"' not in stitch
    assert "Posting to TikTok as Jane (@jane)." in page
    data = {"accounts": [saved.id], "text": "Caption", "when": "draft", "option_tiktok_privacy_level": "SELF_ONLY",
            "option_tiktok_comments": "yes", "option_tiktok_post_mode": "direct"}  # fmt: skip
    team.client("editor").post(reverse("compose"), data)
    options = Post.objects.get().overrides["tiktok"]["options"]
    assert (options["privacy_level"], options["comments"]) == ("SELF_ONLY", "yes")


def test_without_a_privacy_choice_nothing_is_posted(db):
    fake = FakeTikTok()
    fake.install()
    request = PublishRequest(main=ContentPart("Caption", media=(clip(),)), options={})
    with pytest.raises(ProviderError) as caught:
        step(request, MemoryUploads())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "privacy_required")
    assert fake.inits == []


def test_a_privacy_level_tiktok_does_not_offer_is_refused(db):
    fake = FakeTikTok(info=creator_info(privacy_level_options=["SELF_ONLY"]))
    fake.install()
    with pytest.raises(ProviderError) as caught:
        step(video_request(), MemoryUploads())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "privacy_level_option_mismatch")
    assert fake.inits == []


def test_the_post_follows_the_creators_settings_and_the_disclosure(db):
    fake = FakeTikTok()
    fake.install()
    step(video_request(comments="yes", duet="yes", stitch="yes", commercial="branded", aigc="yes"), MemoryUploads())
    (init,) = fake.inits
    assert init["post_info"] == {"title": "Caption #tag @friend", "privacy_level": "PUBLIC_TO_EVERYONE",
                                 "brand_organic_toggle": False, "brand_content_toggle": True, "is_aigc": True,
                                 "disable_comment": False, "disable_duet": False,
                                 "disable_stitch": True}  # stitch is off for this creator  # fmt: skip


def test_a_video_longer_than_the_creator_may_post_is_refused(db):
    fake = FakeTikTok(info=creator_info(max_video_post_duration_sec=60))
    fake.install()
    with pytest.raises(ProviderError) as caught:
        step(video_request(media=clip(seconds=61)), MemoryUploads())
    assert caught.value.error_class == ErrorClass.CONTENT
    assert caught.value.message == "This creator's TikTok videos can be at most 60 seconds; this one is 61."
    assert fake.inits == []


# --- Upload ---------------------------------------------------------------------------------------


def test_a_large_video_goes_in_chunks_by_tiktoks_rules(db):
    fake = FakeTikTok()
    fake.install()
    size = 12 * MIB
    step(video_request(media=clip(size)), MemoryUploads())
    assert fake.inits[0]["source_info"] == {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": 5 * MIB,
                                            "total_chunk_count": 2}  # fmt: skip
    assert fake.puts == [(f"bytes 0-{5 * MIB - 1}/{size}", 5 * MIB), (f"bytes {5 * MIB}-{size - 1}/{size}", 7 * MIB)]
    assert bytes(fake.received) == clip(size).read_range(0, size)


def test_a_cut_off_upload_resumes_at_the_stored_offset(db):
    fake = FakeTikTok()
    fake.install()
    size = 12 * MIB
    fake.cut_put = 2  # the connection breaks while the second chunk is sent
    uploads, request = MemoryUploads(), video_request(media=clip(size))
    with pytest.raises(ProviderError) as caught:
        step(request, uploads)
    assert caught.value.error_class == ErrorClass.TRANSIENT
    assert uploads.load("video")["offset"] == 5 * MIB
    fake.statuses = ["PROCESSING_UPLOAD"]
    step(request, uploads)
    assert [r for r, _n in fake.puts] == [f"bytes 0-{5 * MIB - 1}/{size}", f"bytes {5 * MIB}-{size - 1}/{size}"]
    assert len(fake.inits) == 1


def test_an_upload_cut_off_by_a_crash_is_not_landed_and_resumes_without_a_second_init(db):
    """The worker dies mid-upload: the look-up must not wait for a post TikTok will never make
    (it waits for the rest of the file); the part is sent again and goes on at the stored offset."""
    fake = FakeTikTok()
    fake.install()
    size = 12 * MIB
    fake.cut_put = 2
    uploads, request = MemoryUploads(), video_request(media=clip(size))
    with pytest.raises(ProviderError):
        step(request, uploads)  # stands for the crash: the session holds the publish id and 5 MiB sent
    status_calls = len([c for c in responses.calls if c.request.url.endswith("/status/fetch/")])
    part = part_request(request, 0, [], uploads=uploads, sent_after=datetime.now(UTC))
    assert get_provider("tiktok").find_part(account=account(), request=request, part=part) is None
    assert len([c for c in responses.calls if c.request.url.endswith("/status/fetch/")]) == status_calls
    fake.statuses = ["PROCESSING_UPLOAD", "PUBLISH_COMPLETE"]  # waiting for the rest, then posted
    done = step(request, uploads)
    assert done.platform_post_id
    assert len(fake.inits) == 1
    assert [r for r, _n in fake.puts][-1] == f"bytes {5 * MIB}-{size - 1}/{size}"


def test_a_failed_post_says_why(db):
    fake = FakeTikTok(statuses=["PROCESSING_UPLOAD", "FAILED"], fail_reason="frame_rate_check_failed")
    fake.install()
    uploads, request = MemoryUploads(), video_request()
    first = step(request, uploads)
    assert isinstance(first, Pending)
    with pytest.raises(ProviderError) as caught:
        step(request, uploads, dict(first.state))
    assert (caught.value.error_class, caught.value.message) == (
        ErrorClass.CONTENT,
        "TikTok refused the video's frame rate.",
    )


def test_the_daily_post_cap_waits_a_day(db):
    FakeTikTok().install()
    responses.replace(responses.POST, f"{OPEN}/post/publish/video/init/",
                      json=failure("spam_risk_too_many_posts", "Too many posts today"), status=403)  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        step(video_request(), MemoryUploads())
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 86400)


def test_a_private_post_lands_without_a_public_id(db):
    fake = FakeTikTok()
    fake.install()
    responses.replace(responses.POST, f"{OPEN}/post/publish/status/fetch/",
                      json=ok({"status": "PUBLISH_COMPLETE", "uploaded_bytes": 1000, "fail_reason": ""}))  # fmt: skip
    done = step(video_request(privacy_level="SELF_ONLY"), MemoryUploads())
    assert (done.platform_post_id, done.url) == ("v_pub_file~v2-1.73121", "https://www.tiktok.com/@jane")


def test_a_post_processing_over_several_polls_lands_through_the_engine_without_a_waiting_worker(
    team, django_capture_on_commit_callbacks, time_machine
):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing import engine
    from publishing.media import media_store
    from publishing.models import Target
    from publishing.services import Attachment, PartInput, PostInput, When, post_create
    from tests.publishing.test_media import make_video

    time_machine.move_to(timezone.now(), tick=False)
    fake = FakeTikTok(statuses=["PROCESSING_UPLOAD", "PROCESSING_UPLOAD", "PROCESSING_UPLOAD"])
    fake.install()
    connection = Connection(profile=Profile(external_id=OPEN_ID, username="@jane"), secrets={"access_token": ACCESS})
    saved = account_save(workspace=team.workspace, platform="tiktok", connection=connection, user=None)
    editor = team.membership("editor")
    video = media_store(actor=editor, upload=ContentFile(make_video(seconds=1), name="clip.mp4"))
    data = PostInput(parts=[PartInput(text="Caption", attachments=(Attachment(media_id=video.id),))],
                     account_ids=[saved.id], when=When.now(), overrides={"tiktok": {"options": OPTIONS}})  # fmt: skip
    target = post_create(actor=editor, data=data).targets.get()

    def claim():
        with django_capture_on_commit_callbacks(execute=True):
            engine.targets_claim_due()
        target.refresh_from_db()

    claim()
    for delay in (10, 20):
        assert (target.status, target.lease_expires_at) == (Target.Status.PROCESSING, None)
        assert target.status_reason == "TikTok is processing the video; this can take a few minutes"
        time_machine.shift(delay)
        claim()
    assert target.status == Target.Status.PROCESSING
    time_machine.shift(30)
    claim()
    assert (target.status, target.attempts) == (Target.Status.PUBLISHED, 1)
    assert target.parts.get().platform_post_id == "7312345678901234567"
    assert len(fake.inits) == 1
    assert len(fake.puts) == 1


def test_metrics_are_queried_twenty_ids_at_a_time(db):
    def answer(request):
        ids = json.loads(request.body)["filters"]["video_ids"]
        return (
            200,
            {},
            json.dumps(ok({"videos": [{"id": i, "view_count": 1} for i in ids], "cursor": 0, "has_more": False})),
        )

    responses.add_callback(responses.POST, f"{OPEN}/video/query/", callback=answer)
    metrics = get_provider("tiktok").fetch_metrics(account=account(), platform_post_ids=[str(i) for i in range(25)])
    assert len(metrics) == 25
    assert len(responses.calls) == 2
    assert parse_qs(urlsplit(responses.calls[0].request.url).query)["fields"] == [
        "id,title,create_time,share_url,view_count,like_count,comment_count,share_count"
    ]


# --- Photos, drafts, pacing, account stats ------------------------------------------------------


def photo(index: int, url: bool = True, mime: str = "image/jpeg") -> MediaItem:
    return MediaItem(filename=f"p{index}.jpg", mime_type=mime, size=900, open=lambda: io.BytesIO(b"j" * 900),
                     kind="image", width=1080, height=1920,
                     public_url=f"https://media.postwright.example/s/p{index}/" if url else "")  # fmt: skip


def photo_request(text="Trip day\nThree photos from the coast", photos=None, **options) -> PublishRequest:
    media = tuple(photos or (photo(1), photo(2)))
    return PublishRequest(main=ContentPart(text=text, media=media), options={**OPTIONS, **options})


def test_a_photo_post_is_pulled_from_its_urls_and_links_to_the_photo(db, settings):
    settings.TIKTOK_PULL_FROM_URL = True
    fake = FakeTikTok(statuses=["PROCESSING_DOWNLOAD"])
    fake.install()
    uploads, request = MemoryUploads(), photo_request(comments="yes", commercial="your_brand")
    first = step(request, uploads)
    assert isinstance(first, Pending)
    assert first.reason == "TikTok is processing the photos; this can take a few minutes"
    done = step(request, uploads, state=first.state)
    assert done.url == "https://www.tiktok.com/@jane/photo/7312345678901234567"
    (body,) = fake.inits
    assert body == {
        "post_info": {"title": "Trip day", "description": "Trip day\nThree photos from the coast",
                      "privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": False,
                      "brand_organic_toggle": True, "brand_content_toggle": False},
        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0,
                        "photo_images": ["https://media.postwright.example/s/p1/",
                                         "https://media.postwright.example/s/p2/"]},
        "media_type": "PHOTO", "post_mode": "DIRECT_POST",
    }  # fmt: skip


def test_photos_without_a_verified_domain_say_how_to_allow_them(db, settings):
    settings.TIKTOK_PULL_FROM_URL = False
    fake = FakeTikTok()
    fake.install()
    with pytest.raises(ProviderError) as caught:
        step(photo_request(), MemoryUploads())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONFIG, "photos_need_pull")
    assert "TIKTOK_PULL_FROM_URL" in caught.value.message
    assert fake.inits == []


@pytest.mark.parametrize(
    ("photos", "text", "code"),
    [
        ((photo(1, mime="image/png"),), "Trip", "photo_format"),
        ((photo(1), clip()), "Trip", "no_mix"),
        (tuple(photo(i) for i in range(36)), "Trip", "photos"),
        ((photo(1),), "x" * 91, "title_length"),
    ],
)
def test_photo_posts_tiktok_would_refuse_are_refused_before_anything_is_sent(db, settings, photos, text, code):
    settings.TIKTOK_PULL_FROM_URL = True
    fake = FakeTikTok()
    fake.install()
    with pytest.raises(ProviderError) as caught:
        step(photo_request(text=text, photos=photos), MemoryUploads())
    assert caught.value.code == code
    assert fake.inits == []


def test_a_draft_goes_to_the_creators_inbox_with_only_the_file(db):
    fake = FakeTikTok(statuses=["PROCESSING_UPLOAD"], final_status="SEND_TO_USER_INBOX")
    fake.install()
    uploads, request = MemoryUploads(), video_request(post_mode="inbox")
    first = step(request, uploads)
    assert isinstance(first, Pending)
    done = step(request, uploads, state=first.state)
    assert (done.platform_post_id, done.url) == ("v_pub_file~v2-1.73121", "https://www.tiktok.com/@jane")
    init = next(call for call in responses.calls if "/init/" in call.request.url)
    assert init.request.url == f"{OPEN}/post/publish/inbox/video/init/"
    assert set(fake.inits[0]) == {"source_info"}
    assert fake.inits[0]["source_info"]["source"] == "FILE_UPLOAD"
    assert not [call for call in responses.calls if "creator_info" in call.request.url]


def test_photos_sent_as_a_draft_use_media_upload(db, settings):
    settings.TIKTOK_PULL_FROM_URL = True
    fake = FakeTikTok(final_status="SEND_TO_USER_INBOX")
    fake.install()
    step(photo_request(post_mode="inbox"), MemoryUploads())
    assert fake.inits[0]["post_mode"] == "MEDIA_UPLOAD"
    assert fake.inits[0]["post_info"] == {"title": "Trip day", "description": "Trip day\nThree photos from the coast"}


def test_branded_content_cannot_be_private(db):
    fake = FakeTikTok()
    fake.install()
    with pytest.raises(ProviderError) as caught:
        step(video_request(privacy_level="SELF_ONLY", commercial="branded"), MemoryUploads())
    assert caught.value.code == "branded_private"
    assert fake.inits == []


def test_inits_are_paced_to_tiktoks_six_a_minute_per_creator(db, time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 23, 0, 10, tzinfo=UTC), tick=False)
    fake = FakeTikTok()
    fake.install()
    for _ in range(3):
        assert not isinstance(step(video_request(), MemoryUploads()), Pending)
        fake.received.clear()  # each post has an upload of its own
    held = step(video_request(), MemoryUploads())
    assert isinstance(held, Pending)
    assert held.reason.startswith("Pacing: TikTok takes 6 posts a minute from one account")
    assert held.check_in_s == 51
    assert len(fake.inits) == 3, "no 60 seconds hold more than 6 inits, however they straddle two minutes"
    time_machine.shift(51)
    assert not isinstance(step(video_request(), MemoryUploads()), Pending)
    assert len(fake.inits) == 4


@pytest.mark.parametrize(
    ("reason", "error_class", "message"),
    [
        ("publish_cancelled", ErrorClass.CONTENT, "The post was cancelled on TikTok before it was published."),
        ("auth_removed", ErrorClass.AUTH, "The creator removed this app's access on TikTok: reconnect the account."),
        ("picture_size_check_failed", ErrorClass.CONTENT, "TikTok refused the picture size."),
        ("internal", ErrorClass.TRANSIENT, "TikTok had an internal problem with the post; trying again."),
        ("something_new", ErrorClass.CONTENT, "TikTok could not publish the video (something_new)."),
    ],
)
def test_each_fail_reason_reads_as_what_happened(db, reason, error_class, message):
    FakeTikTok(statuses=["FAILED"], fail_reason=reason).install()
    with pytest.raises(ProviderError) as caught:
        step(video_request(), MemoryUploads())
    assert (caught.value.error_class, caught.value.message) == (error_class, message)


def test_after_a_passing_failure_the_retry_posts_anew_instead_of_asking_about_the_dead_one(db):
    fake = FakeTikTok(statuses=["FAILED"], fail_reason="internal")
    fake.install()
    uploads, request = MemoryUploads(), video_request()
    with pytest.raises(ProviderError):
        step(request, uploads)
    fake.received.clear()  # the new publish has an upload of its own
    done = step(request, uploads, state={"publish_id": "v_pub_file~v2-1.73121", "checks": 1})
    assert done.platform_post_id == "7312345678901234567"
    assert len(fake.inits) == 2


def test_user_info_counts_are_the_accounts_metrics(db):
    responses.add(responses.GET, f"{OPEN}/user/info/", json=ok(user()))
    metrics = get_provider("tiktok").fetch_account_metrics(account=account())
    assert (metrics.followers, metrics.following, metrics.posts_count, dict(metrics.extra)) == (
        120, 30, 14, {"likes": 900}
    )  # fmt: skip
    fields = parse_qs(urlsplit(responses.calls[0].request.url).query)["fields"][0].split(",")
    assert {"follower_count", "following_count", "likes_count", "video_count"} <= set(fields)


def test_a_draft_for_the_inbox_needs_no_privacy_choice_but_a_direct_post_does(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing.services import PartInput, PostInput, When, post_validate

    connection = Connection(profile=Profile(external_id=OPEN_ID, username="@jane"), secrets={"access_token": ACCESS})
    saved = account_save(workspace=team.workspace, platform="tiktok", connection=connection, user=None)

    def required(options):
        data = PostInput(parts=[PartInput(text="Caption")], account_ids=[saved.id], when=When.now(),
                         overrides={"tiktok": {"options": options}})  # fmt: skip
        return [p.field for p in post_validate(actor=team.membership("editor"), data=data) if p.code == "required"]

    assert required({"post_mode": "direct"}) == ["overrides.tiktok.options.privacy_level"]
    assert required({"post_mode": "inbox"}) == []


# --- Importing the creator's videos -------------------------------------------------------------


def test_imported_videos_keep_their_caption_time_and_counts_not_the_expiring_cover(db):
    mock_video_list()
    first = get_provider("tiktok").list_posts(account=account())
    assert first.next_cursor == "1795852800000"  # milliseconds, passed back as TikTok gave it
    video, captionless = first.items
    assert video.text == "Morning routine, cat edition #cat #morning"
    assert captionless.text == "He found the box"  # no description: the title
    assert video.published_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # create_time is in seconds
    assert video.url == "https://www.tiktok.com/@jane/video/7443108512345678901"
    assert video.media == ()  # the cover's signed link expires within six hours
    assert video.extra == {"view_count": 15320, "like_count": 1204, "comment_count": 48, "share_count": 37,
                           "duration": 21}  # fmt: skip


def test_a_rate_limit_during_an_import_waits_for_tiktoks_retry_after(db):
    responses.add(responses.POST, f"{OPEN}/video/list/", status=429, headers={"Retry-After": "42"},
                  json=failure("rate_limit_exceeded", "Rate limit exceeded"))  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        get_provider("tiktok").list_posts(account=account(), cursor="1795852800000")
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 42)
    assert json.loads(responses.calls[0].request.body) == {"max_count": 20, "cursor": 1795852800000}
