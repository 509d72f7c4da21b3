"""Instagram (through Facebook Login) against recorded Graph API answers (platforms-meta.md section 3)."""

import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountMetrics, ContentPart, MediaItem, Pending, PostMetrics, PublishRequest
from connections.providers.meta.imports import INSTAGRAM_FIELDS
from connections.registry import get_provider
from tests.connections.contract import APP, ProviderContract, ThreadPlatform, _ThreadRun
from tests.connections.meta_graph import (
    GRAPH,
    IG_ID,
    PAGE_TOKEN,
    ThreadGraph,
    container_status,
    error,
    form,
    graph_now,
    ig_account,
    metric_matcher,
    mock_consent,
    mock_listing,
    product_type,
    series,
    total,
)
from tests.connections.publishing import part_request, publish_all

REDIRECT = "https://postwright.example/connections/callback/facebook/"
MEDIA = f"{GRAPH}/{IG_ID}/media"
PUBLISH = f"{GRAPH}/{IG_ID}/media_publish"
LIMIT = f"{GRAPH}/{IG_ID}/content_publishing_limit"


@pytest.fixture(autouse=True)
def _fresh_usage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


def quota(used: int, total: int = 50) -> None:
    responses.add(
        responses.GET,
        LIMIT,
        json={"data": [{"quota_usage": used, "config": {"quota_total": total, "quota_duration": 86400}}]},
    )


def check_fails(body: dict, status: int = 400):
    return lambda: responses.add(responses.GET, f"{GRAPH}/{IG_ID}", json=body, status=status)


def image(name: str = "cat.jpg", url: str = "https://postwright.example/media/s/tok1/", alt: str = "") -> MediaItem:
    return MediaItem(
        filename=name,
        mime_type="image/jpeg",
        size=10,
        open=lambda: io.BytesIO(b"x" * 10),
        public_url=url,
        alt_text=alt,
        width=1080,
        height=1080,
    )


def video(seconds: float = 20) -> MediaItem:
    return MediaItem(
        filename="clip.mp4",
        mime_type="video/mp4",
        size=10,
        open=lambda: io.BytesIO(b"x" * 10),
        public_url="https://postwright.example/media/s/vid/",
        kind="video",
        width=1080,
        height=1920,
        duration_s=seconds,
    )


def published(media_id: str = "17920000000000001") -> None:
    responses.add(responses.POST, PUBLISH, json={"id": media_id})
    responses.add(
        responses.GET, f"{GRAPH}/{media_id}", json={"id": media_id, "permalink": "https://www.instagram.com/p/Cabc123/"}
    )


class _WithImage(_ThreadRun):
    """Instagram takes no text-only post: the thread scenarios' main post carries one photo."""

    def publish(self, texts, first_comment=""):
        from PIL import Image

        from publishing.media import media_store
        from publishing.models import PostContent
        from publishing.services import Attachment, PartInput, PostInput, When, post_create

        buffer = io.BytesIO()
        Image.new("RGB", (400, 400), "orange").save(buffer, "JPEG")
        from django.core.files.base import ContentFile

        photo = media_store(actor=self.editor, upload=ContentFile(buffer.getvalue(), name="cat.jpg"))
        parts = [PartInput(text=texts[0], attachments=(Attachment(photo.id),))]
        parts += [PartInput(text=t, kind=PostContent.Kind.REPLY) for t in texts[1:]]
        if first_comment:
            parts.append(PartInput(text=first_comment, kind=PostContent.Kind.FIRST_COMMENT))
        post = post_create(
            actor=self.editor, data=PostInput(parts=parts, account_ids=[self.account().id], when=When.now())
        )
        self.claim_due()
        return post.targets.get()


class TestInstagramProvider(ProviderContract):
    provider_id = "instagram"

    @pytest.fixture
    def thread(self, provider, team, django_capture_on_commit_callbacks, monkeypatch):
        platform = ThreadPlatform()
        self.install_thread_platform(platform, monkeypatch)
        return _WithImage(self, team, platform, django_capture_on_commit_callbacks)

    def connect(self):
        mock_consent()
        provider = get_provider("instagram")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self):
        return ig_account()

    def mock_check(self):
        responses.add(responses.GET, f"{GRAPH}/{IG_ID}", json={"id": IG_ID, "username": "kitten", "name": "Kitten"})

    def error_cases(self):
        return [
            ("token expired", check_fails(error(190, 463, "Error validating access token")), ErrorClass.AUTH),
            ("daily limit", check_fails(error(9, 2207042, "Limit", user_msg="You reached the limit")), ErrorClass.RATE),
            ("app limit", check_fails(error(4, message="Application request limit reached")), ErrorClass.RATE),
            ("BUC", check_fails(error(80002, message="Too many calls to this Instagram account")), ErrorClass.RATE),
            ("server", check_fails(error(-1, 2207001, "Server error", is_transient=True)), ErrorClass.TRANSIENT),
            ("not ready", check_fails(error(9007, 2207027, "Media is not ready")), ErrorClass.TRANSIENT),
            (
                "ratio",
                check_fails(error(36003, 2207009, "Bad ratio", user_msg="Use 4:5 to 1.91:1")),
                ErrorClass.CONTENT,
            ),
            (
                "caption",
                check_fails(error(36004, 2207010, "Too long", user_msg="Caption too long")),
                ErrorClass.CONTENT,
            ),
        ]

    def mock_publish_text(self):
        quota(2)
        responses.add(responses.POST, MEDIA, json={"id": "c-1"})
        container_status("c-1", "FINISHED")
        published()
        return "17920000000000001"

    def mock_account_metrics(self):
        return mock_ig_account_metrics(GRAPH, IG_ID)

    def mock_list_posts(self):
        return mock_ig_media(MEDIA)

    def mock_metrics(self):
        product_type(GRAPH, "1792")
        names = {
            "views": 900,
            "reach": 640,
            "likes": 51,
            "comments": 4,
            "saved": 9,
            "shares": 3,
            "total_interactions": 67,
        }
        responses.add(
            responses.GET,
            f"{GRAPH}/1792/insights",
            json={
                "data": [
                    {
                        "name": name,
                        "period": "lifetime",
                        "values": [{"value": value}],
                        "title": name.title(),
                        "description": "...",
                        "id": f"1792/insights/{name}/lifetime",
                    }
                    for name, value in names.items()
                ]
            },
            match=[
                responses.matchers.query_param_matcher(
                    {"metric": "views,reach,likes,comments,saved,shares,total_interactions"}, strict_match=False
                )
            ],
        )
        extra = {"reach": 640, "saved": 9, "shares": 3, "total_interactions": 67}
        return "1792", PostMetrics(likes=51, replies=4, reposts=3, impressions=900, extra=extra)

    def test_publish_text(self, provider):
        """The contract's publish, with the photo every Instagram post needs."""
        expected_id = self.mock_publish_text()
        request = PublishRequest(main=ContentPart(text="Hello", media=(image(alt="An orange square"),)))
        result = publish_all(provider, account=self.account(), request=request)
        assert (result.main.platform_post_id, result.main.url) == (expected_id, "https://www.instagram.com/p/Cabc123/")
        created = form(next(c for c in responses.calls if c.request.url == MEDIA))
        assert (created["caption"], created["alt_text"]) == ("Hello", "An orange square")
        assert created["access_token"] == PAGE_TOKEN

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        graph = ThreadGraph(platform, owner=IG_ID, author_name="kitten")
        captions: dict[str, str] = {}

        def container(request):
            cid = f"c-{len(captions) + 1}"
            captions[cid] = parse_qs(request.body).get("caption", [""])[0]
            return 200, {}, json.dumps({"id": cid})

        def publish(request):
            return graph.create(captions[parse_qs(request.body)["creation_id"][0]], None)

        def status(request):
            cid = urlsplit(request.url).path.rsplit("/", 1)[-1]
            return 200, {}, json.dumps({"id": cid, "status_code": "FINISHED", "status": "Finished"})

        def permalink(request):
            mid = urlsplit(request.url).path.rsplit("/", 1)[-1]
            return 200, {}, json.dumps({"id": mid, "permalink": f"https://www.instagram.com/p/{mid}/"})

        quota(1)
        responses.add_callback(responses.POST, MEDIA, callback=container)
        responses.add_callback(responses.POST, PUBLISH, callback=publish)
        responses.add_callback(responses.GET, re.compile(rf"{re.escape(GRAPH)}/c-\d+(\?|$)"), callback=status)
        responses.add_callback(responses.GET, MEDIA, callback=lambda r: graph.listed(None, ig=True))
        graph.install_comments(ig=True)
        responses.add_callback(responses.GET, re.compile(rf"{re.escape(GRAPH)}/\d+(\?|$)"), callback=permalink)


# --- Focused tests ------------------------------------------------------------------------------


def _step(request, state=None):
    part = part_request(request, 0, [], state=state or {})
    return get_provider("instagram").publish_part(account=ig_account(), request=request, part=part)


def test_a_carousel_checks_every_child_before_making_the_parent(db):
    quota(3)
    for cid in ("child-1", "child-2", "parent-1"):
        responses.add(responses.POST, MEDIA, json={"id": cid})
    container_status("child-1", "FINISHED")
    container_status("child-2", "IN_PROGRESS", "FINISHED")
    request = PublishRequest(main=ContentPart("Two", media=(image("a.jpg"), video())))
    first = _step(request)
    assert isinstance(first, Pending)
    assert first.state["children"] == ["child-1", "child-2"]
    assert "parent-1" not in json.dumps(first.state), "no parent while a child is processing"
    container_status("parent-1", "FINISHED")
    published()
    done = _step(request, dict(first.state))
    assert done.platform_post_id == "17920000000000001"
    posts = [form(c) for c in responses.calls if c.request.method == "POST" and c.request.url == MEDIA]
    assert [p.get("is_carousel_item") for p in posts] == ["true", "true", None]
    assert (posts[1]["media_type"], posts[2]["media_type"], posts[2]["children"]) == (
        "VIDEO",
        "CAROUSEL",
        "child-1,child-2",
    )
    assert "caption" not in posts[0]
    assert posts[2]["caption"] == "Two"


def test_a_carousel_whose_child_fails_processing_fails_naming_it_and_publishes_nothing(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "child-1"})
    responses.add(responses.POST, MEDIA, json={"id": "child-2"})
    container_status("child-1", "FINISHED")
    container_status("child-2", "ERROR")
    with pytest.raises(ProviderError) as caught:
        _step(PublishRequest(main=ContentPart("Two", media=(image("a.jpg"), image("b.jpg")))))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert caught.value.message.startswith("Carousel item 2 failed at Instagram: Error: Media upload has failed")
    assert not any(c.request.url == PUBLISH for c in responses.calls)


def test_a_reel_processing_for_several_polls_waits_without_publishing(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "reel-1"})
    container_status("reel-1", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "FINISHED")
    request = PublishRequest(main=ContentPart("Reel", media=(video(),)), options={"format": "reel"})
    state, delays = {}, []
    for _ in range(3):
        answer = _step(request, state)
        assert isinstance(answer, Pending)
        assert "processing" in answer.reason
        state, delays = dict(answer.state), [*delays, answer.check_in_s]
    assert delays == sorted(delays), "polled ever more slowly, never slept on"
    assert delays[0] >= 10
    published()
    done = _step(request, state)
    assert done.platform_post_id == "17920000000000001"
    created = form(next(c for c in responses.calls if c.request.url == MEDIA))
    assert (created["media_type"], created["share_to_feed"], created["video_url"]) == (
        "REELS",
        "true",
        "https://postwright.example/media/s/vid/",
    )
    assert sum(c.request.url == PUBLISH for c in responses.calls) == 1


def test_an_expired_container_is_made_again(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "c-old"})
    responses.add(responses.POST, MEDIA, json={"id": "c-new"})
    container_status("c-old", "EXPIRED")
    request = PublishRequest(main=ContentPart("Cat", media=(image(),)))
    expired = _step(request)
    assert isinstance(expired, Pending)
    assert "expired" in expired.reason
    assert "container" not in expired.state
    container_status("c-new", "FINISHED")
    published()
    assert _step(request, dict(expired.state)).platform_post_id == "17920000000000001"
    assert form(next(c for c in responses.calls if c.request.url == PUBLISH))["creation_id"] == "c-new"


def test_a_container_already_published_is_never_published_again(db):
    container_status("c-1", "PUBLISHED")
    responses.add(
        responses.GET,
        MEDIA,
        json={
            "data": [
                {
                    "id": "1792",
                    "caption": "Cat",
                    "timestamp": graph_now(),
                    "permalink": "https://www.instagram.com/p/Cat/",
                }
            ],
            "paging": {"cursors": {}},
        },
    )
    request = PublishRequest(main=ContentPart("Cat", media=(image(),)))
    found = _step(request, {"quota_checked": True, "container": "c-1"})
    assert (found.platform_post_id, found.url) == ("1792", "https://www.instagram.com/p/Cat/")
    assert not any(c.request.method == "POST" for c in responses.calls)


def test_an_account_over_its_daily_quota_waits_with_that_reason_and_creates_nothing(db):
    quota(50, 50)
    answer = _step(PublishRequest(main=ContentPart("Cat", media=(image(),))))
    assert isinstance(answer, Pending)
    assert "publishing limit is reached (50 of 50 posts in 24 hours)" in answer.reason
    assert not any(c.request.method == "POST" for c in responses.calls)


def test_a_daily_limit_answer_at_publish_time_waits_too(db):
    container_status("c-1", "FINISHED")
    responses.add(responses.POST, PUBLISH, json=error(9, 2207042, "Limit reached"), status=400)
    answer = _step(
        PublishRequest(main=ContentPart("Cat", media=(image(),))), {"quota_checked": True, "container": "c-1"}
    )
    assert isinstance(answer, Pending)
    assert answer.state["container"] == "c-1"


def test_a_story_takes_one_short_video_checked_before_anything_is_created(db):
    request = PublishRequest(main=ContentPart("", media=(video(seconds=90),)), options={"format": "story"})
    with pytest.raises(ProviderError) as caught:
        _step(request)
    assert caught.value.error_class == ErrorClass.CONTENT
    assert "Instagram Story videos: 3 s to 1 min" in caught.value.message
    assert not responses.calls


def test_a_story_container_has_no_caption(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "s-1"})
    container_status("s-1", "FINISHED")
    published()
    _step(PublishRequest(main=ContentPart("ignored", media=(image(),)), options={"format": "story"}))
    created = form(next(c for c in responses.calls if c.request.url == MEDIA))
    assert created["media_type"] == "STORIES"
    assert "caption" not in created


def test_a_token_whose_data_access_lapsed_needs_a_reconnect(db):
    account = ig_account(data_access_expires_at="2026-01-01T00:00:00+00:00")
    request = PublishRequest(main=ContentPart("Cat", media=(image(),)))
    with pytest.raises(ProviderError) as caught:
        get_provider("instagram").publish_part(account=account, request=request, part=part_request(request, 0, []))
    assert caught.value.error_class == ErrorClass.AUTH
    assert not responses.calls


def test_first_comment_goes_on_the_published_media(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "c-1"})
    container_status("c-1", "FINISHED")
    published()
    responses.add(responses.POST, f"{GRAPH}/17920000000000001/comments", json={"id": "17858893269000001"})
    request = PublishRequest(main=ContentPart("Cat", media=(image(),)), first_comment=ContentPart("#cats #orange"))
    result = publish_all(get_provider("instagram"), account=ig_account(), request=request)
    assert result.first_comment.platform_post_id == "17858893269000001"
    assert form(responses.calls[-1])["message"] == "#cats #orange"


def test_media_rules_per_format():
    provider = get_provider("instagram")
    feed = provider.media_rules()
    assert feed.may_mix
    assert feed.rule_for("image").max_count == 10
    assert feed.rule_for("image").mime_types == ("image/jpeg",)
    assert provider.format_rules("reel").rule_for("image") is None
    assert provider.format_rules("story").rule_for("video").duration_range == (3, 60)


# --- The format, chosen per post in the composer -------------------------------------------------


def _saved_instagram(team):
    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    state = ig_account()
    connection = Connection(profile=Profile(external_id=state.external_id, username=state.username),
                            secrets=dict(state.secrets), extra=dict(state.extra))  # fmt: skip
    return account_save(workspace=team.workspace, platform="instagram", connection=connection, user=None)


def _video_row(team, seconds: float):
    from publishing.models import Media

    return Media.objects.create(workspace=team.workspace, file="media/clip.mp4", sha256="v".ljust(64, "0"),
                                original_name="clip.mp4", mime_type="video/mp4", size=5_000_000, kind="video",
                                width=1080, height=1920, duration_s=seconds, video_codec="h264", audio_codec="aac",
                                fps=30)  # fmt: skip


def _input(account, media, fmt: str | None):
    from publishing.inputs import Attachment, PartInput, PostInput, When

    overrides = {"instagram": {"options": {"format": fmt}}} if fmt else {}
    return PostInput(parts=[PartInput("Clip", attachments=(Attachment(media.id),))], account_ids=[account.id],
                     overrides=overrides, when=When.draft())  # fmt: skip


def test_the_composer_checks_the_chosen_formats_media_rules(team):
    from publishing.services import post_validate

    account, clip = _saved_instagram(team), _video_row(team, 90)
    editor = team.membership("editor")
    assert post_validate(actor=editor, data=_input(account, clip, None)) == [], "a 90 s video is a fine Reel"
    assert post_validate(actor=editor, data=_input(account, clip, "reel")) == []
    (problem,) = post_validate(actor=editor, data=_input(account, clip, "story"))
    assert problem.field == "parts[0].attachments"
    assert "Instagram Story videos: 3 s to 1 min" in problem.message
    (bad,) = post_validate(actor=editor, data=_input(account, clip, "carousel"))
    assert (bad.field, bad.code) == ("overrides.instagram.options.format", "option")


def test_a_png_reaches_instagram_as_a_fitted_jpeg(team):
    from PIL import Image

    from publishing.media import media_item, media_store

    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), "teal").save(buffer, "PNG")
    from django.core.files.base import ContentFile

    png = media_store(actor=team.membership("editor"), upload=ContentFile(buffer.getvalue(), name="logo.png"))
    rule = get_provider("instagram").media_rules().rule_for("image")
    from connections.providers.media_rules import media_problems
    from publishing.media import media_facts

    assert media_problems(get_provider("instagram").media_rules(), [media_facts(png)]) == []
    item = media_item(png, rule=rule)
    assert (item.mime_type, item.filename) == ("image/jpeg", "logo.jpg")


# --- Through the engine -----------------------------------------------------------------------------


def test_a_carousel_with_a_first_comment_publishes_to_a_page_and_its_instagram_account(
    team, django_capture_on_commit_callbacks, time_machine
):
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone
    from PIL import Image

    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from publishing import engine
    from publishing.inputs import Attachment, PartInput, PostInput, When
    from publishing.media import media_store
    from publishing.models import PostContent
    from publishing.services import post_create
    from tests.connections.meta_graph import PAGE_ID, page_account

    time_machine.move_to(timezone.now(), tick=False)
    editor = team.membership("editor")
    page_state = page_account()
    page = account_save(workspace=team.workspace, platform="facebook", user=None, connection=Connection(
        profile=Profile(external_id=PAGE_ID, username="cutekitten"), secrets={"user_access_token": "EAAlonglived"},
        account_secrets={k: v for k, v in page_state.secrets.items() if k != "user_access_token"},
        extra=dict(page_state.extra)))  # fmt: skip
    insta = _saved_instagram(team)
    photos = []
    for colour in ("red", "blue"):
        buffer = io.BytesIO()
        Image.new("RGB", (500, 500), colour).save(buffer, "JPEG")
        photos.append(media_store(actor=editor, upload=ContentFile(buffer.getvalue(), name=f"{colour}.jpg")))
    parts = [PartInput("Two colours", attachments=tuple(Attachment(p.id) for p in photos)),
             PartInput("Credits in here", kind=PostContent.Kind.FIRST_COMMENT)]  # fmt: skip
    post = post_create(actor=editor, data=PostInput(parts=parts, account_ids=[page.id, insta.id], when=When.now()))
    # Facebook: two unpublished photos, one post, one comment.
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/photos", json={"id": "p1"})
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/photos", json={"id": "p2"})
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/feed", json={"id": f"{PAGE_ID}_42"})
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}_42/comments", json={"id": f"{PAGE_ID}_42_1"})
    # Instagram: two children, the second still processing at first.
    quota(4)
    for cid in ("child-1", "child-2", "parent-1"):
        responses.add(responses.POST, MEDIA, json={"id": cid})
    container_status("child-1", "FINISHED")
    container_status("child-2", "IN_PROGRESS", "FINISHED")
    container_status("parent-1", "FINISHED")
    published("17920000000000042")
    responses.add(responses.POST, f"{GRAPH}/17920000000000042/comments", json={"id": "17858893269000042"})

    def claim():
        with django_capture_on_commit_callbacks(execute=True):
            engine.targets_claim_due()

    claim()
    fb_target, ig_target = post.targets.get(account=page), post.targets.get(account=insta)
    assert fb_target.status == "published"
    assert ig_target.status == "processing"
    assert "processing the carousel" in ig_target.status_reason
    for _ in range(3):
        time_machine.shift(timedelta(minutes=1))
        claim()
    ig_target.refresh_from_db()
    assert ig_target.status == "published"
    assert list(ig_target.parts.order_by("position").values_list("platform_post_id", flat=True)) == [
        "17920000000000042", "17858893269000042"]  # fmt: skip
    assert ig_target.url == "https://www.instagram.com/p/Cabc123/"
    assert sum(c.request.url == PUBLISH for c in responses.calls) == 1
    post.refresh_from_db()
    assert post.status == "published"


def test_closed_story_insights_and_empty_data_are_left_out(db):
    product_type(GRAPH, "story-1", "STORY")
    product_type(GRAPH, "new-1")
    responses.add(responses.GET, f"{GRAPH}/story-1/insights", json=error(10, message="Not enough viewers"), status=400)
    responses.add(responses.GET, f"{GRAPH}/new-1/insights", json={"data": []})
    assert get_provider("instagram").fetch_metrics(account=ig_account(), platform_post_ids=["story-1", "new-1"]) == {}


def test_instagram_is_connected_through_facebook_not_on_its_own(team):
    from django.urls import reverse

    client = team.client("admin")
    page = client.get(reverse("connections")).content.decode()
    assert 'id="platform-facebook"' in page
    assert 'id="platform-instagram"' not in page
    response = client.post(reverse("connect", args=["instagram"]), follow=True)
    assert b"Instagram accounts are connected through Facebook Pages" in response.content


def test_check_keeps_the_at_sign_the_account_was_connected_with(db):
    responses.add(responses.GET, f"{GRAPH}/{IG_ID}", json={"id": IG_ID, "username": "kitten", "name": "Kitten"})
    profile = get_provider("instagram").check(app=APP, account=ig_account())
    assert (profile.username, profile.display_name) == ("@kitten", "Kitten")
    assert form(responses.calls[0])["fields"] == "id,username,name"


def test_a_reel_can_stay_out_of_the_feed(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "reel-1"})
    container_status("reel-1", "IN_PROGRESS")
    request = PublishRequest(
        main=ContentPart("Reel", media=(video(),)), options={"format": "reel", "share_to_feed": "false"}
    )
    assert isinstance(_step(request), Pending)
    created = form(next(c for c in responses.calls if c.request.url == MEDIA))
    assert created["share_to_feed"] == "false"


def test_a_story_whose_publish_answer_was_lost_is_taken_as_published_from_its_container(db):
    container_status("s-1", "PUBLISHED")
    request = PublishRequest(main=ContentPart("", media=(image(),)), options={"format": "story"})
    found = get_provider("instagram").find_part(
        account=ig_account(), request=request, part=part_request(request, 0, [], state={"container": "s-1"})
    )
    assert found is not None
    assert (found.platform_post_id, found.url) == ("s-1", "https://www.instagram.com/kitten/")
    assert not any("/media?" in c.request.url for c in responses.calls), "no caption to match: not searched"


def test_a_captionless_post_in_doubt_without_a_container_asks_the_author(db):
    request = PublishRequest(main=ContentPart("", media=(image(),)))
    with pytest.raises(ProviderError) as caught:
        get_provider("instagram").find_part(account=ig_account(), request=request, part=part_request(request, 0, []))
    assert not caught.value.retryable
    assert not responses.calls


def test_a_lost_media_publish_answer_is_reconciled_from_the_container_never_published_twice(
    team, django_capture_on_commit_callbacks, time_machine
):
    import requests
    from django.core.files.base import ContentFile
    from django.utils import timezone
    from PIL import Image

    from publishing import engine
    from publishing.inputs import Attachment, PartInput, PostInput, When
    from publishing.media import media_store
    from publishing.services import post_create

    time_machine.move_to(timezone.now(), tick=False)
    editor, insta = team.membership("editor"), _saved_instagram(team)
    buffer = io.BytesIO()
    Image.new("RGB", (500, 500), "green").save(buffer, "JPEG")
    photo = media_store(actor=editor, upload=ContentFile(buffer.getvalue(), name="green.jpg"))
    data = PostInput(
        parts=[PartInput("Green", attachments=(Attachment(photo.id),))], account_ids=[insta.id], when=When.now()
    )
    post = post_create(actor=editor, data=data)
    quota(1)
    responses.add(responses.POST, MEDIA, json={"id": "c-9"})
    container_status("c-9", "FINISHED")
    responses.add(responses.POST, PUBLISH, body=requests.ReadTimeout("the answer was lost"))
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    target = post.targets.get()
    assert target.status == "unknown"
    responses.replace(
        responses.GET, f"{GRAPH}/c-9", json={"id": "c-9", "status_code": "PUBLISHED", "status": "Published"}
    )
    responses.add(
        responses.GET,
        MEDIA,
        json={
            "data": [
                {
                    "id": "1799",
                    "caption": "Green",
                    "timestamp": graph_now(),
                    "permalink": "https://www.instagram.com/p/Green/",
                }
            ],
            "paging": {"cursors": {}},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_reconcile()
        engine.targets_claim_due()
    target.refresh_from_db()
    assert (target.status, target.platform_post_id, target.url) == (
        "published",
        "1799",
        "https://www.instagram.com/p/Green/",
    )
    assert sum(c.request.url == PUBLISH for c in responses.calls) == 1


def test_an_account_whose_page_is_near_its_limit_waits_before_creating(db):
    from tests.connections.meta_graph import PAGE_ID

    busy = {
        PAGE_ID: [
            {
                "type": "pages",
                "call_count": 99,
                "total_cputime": 5,
                "total_time": 5,
                "estimated_time_to_regain_access": 3,
            }
        ]
    }
    responses.add(
        responses.GET,
        f"{GRAPH}/{IG_ID}",
        json={"id": IG_ID, "username": "kitten"},
        headers={"x-business-use-case-usage": json.dumps(busy)},
    )
    get_provider("instagram").check(app=APP, account=ig_account())
    answer = _step(PublishRequest(main=ContentPart("Cat", media=(image(),))))
    assert isinstance(answer, Pending)
    assert answer.check_in_s == pytest.approx(180, abs=2), "Meta's own estimate: 3 minutes"
    assert len(responses.calls) == 1


def mock_ig_media(url: str, headers: dict | None = None) -> tuple[list[str], list[str]]:
    mock_listing(url, "instagram/media_page1", "instagram/media_page2", after="QVFIUkNMdkxaZAFd0U0w4",
                 fields=INSTAGRAM_FIELDS, headers=headers)  # fmt: skip
    return ["17918195224117851", "18034422190045612"], ["17890011223344556"]


def mock_ig_account_metrics(api: str, ig: str) -> AccountMetrics:
    """The account's own counts, its day totals and its daily series (section 3.3)."""
    responses.add(
        responses.GET,
        f"{api}/{ig}",
        json={"followers_count": 1520, "follows_count": 210, "media_count": 87, "id": ig},
        match=[
            responses.matchers.query_param_matcher(
                {"fields": "followers_count,follows_count,media_count"}, strict_match=False
            )
        ],
    )
    totals = {"views": 532, "likes": 61, "comments": 9, "shares": 4, "saves": 7, "replies": 2,
              "total_interactions": 83, "accounts_engaged": 55}  # fmt: skip
    responses.add(
        responses.GET,
        f"{api}/{ig}/insights",
        json={"data": [total(ig, name, value) for name, value in totals.items()]},
        match=[metric_matcher(",".join(totals), metric_type="total_value", period="day")],
    )
    responses.add(
        responses.GET,
        f"{api}/{ig}/insights",
        json={"data": [series(ig, "reach", 80, 95), series(ig, "follower_count", 3, 5)]},
        match=[metric_matcher("reach,follower_count", period="day")],
    )
    extra = {name: value for name, value in totals.items() if name != "views"}
    return AccountMetrics(
        followers=1520, following=210, posts_count=87, views=532, extra={**extra, "reach": 95, "follower_count": 5}
    )


def test_a_new_account_with_no_insights_yet_keeps_its_follower_count_and_no_zeros(db):
    responses.add(responses.GET, f"{GRAPH}/{IG_ID}", json={"followers_count": 12, "id": IG_ID})
    responses.add(responses.GET, f"{GRAPH}/{IG_ID}/insights", json={"data": []})
    metrics = get_provider("instagram").fetch_account_metrics(account=ig_account())
    assert metrics == AccountMetrics(followers=12)
    assert metrics.views is None, "an empty data array is not yet, not 0"
    asked = [parse_qs(urlsplit(c.request.url).query).get("metric", [""])[0] for c in responses.calls]
    assert not any("impressions" in metric for metric in asked)


def test_an_account_meta_says_nothing_about_has_no_metrics(db):
    responses.add(responses.GET, f"{GRAPH}/{IG_ID}", json={"id": IG_ID})
    responses.add(responses.GET, f"{GRAPH}/{IG_ID}/insights", json={"data": []})
    assert get_provider("instagram").fetch_account_metrics(account=ig_account()) is None


# --- Typed options: collaborators, people tags, a place, a Reel's cover frame -------------------


def _with_options(account, media, **options):
    from publishing.inputs import Attachment, PartInput, PostInput, When

    return PostInput(parts=[PartInput("Clip", attachments=(Attachment(media.id),))], account_ids=[account.id],
                     overrides={"instagram": {"options": options}}, when=When.draft())  # fmt: skip


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"collaborators": "ann, bob, cy, dee"}, "collaborators", "at most 3 collaborators"),
        ({"collaborators": "not a name!"}, "collaborators", "is not an Instagram username"),
        ({"user_tags": "@jane 1.4 0.2"}, "user_tags", "a position is two numbers from 0 to 1"),
        ({"user_tags": "@jane left"}, "user_tags", "a username then two numbers from 0 to 1"),
        ({"user_tags": ", ".join(f"u{i}" for i in range(21))}, "user_tags", "at most 20 people tags"),
        ({"location_id": "Paris"}, "location_id", "a place's Facebook Page"),
        ({"thumb_offset": "soon"}, "thumb_offset", "a number of seconds"),
        ({"thumb_offset": "9999"}, "thumb_offset", "between 0 and 900 seconds"),
        ({"format": "story", "collaborators": "ann"}, "collaborators", "Stories do not take it"),
        ({"collaborators": ["ann"]}, "collaborators", "must be text"),
    ],
)
def test_the_services_refuse_typed_options_instagram_cannot_take(team, options, field, words):
    from publishing.services import post_validate

    account, clip = _saved_instagram(team), _video_row(team, 30)
    problems = post_validate(actor=team.membership("editor"), data=_with_options(account, clip, **options))
    (problem,) = [p for p in problems if p.field == f"overrides.instagram.options.{field}"]
    assert problem.code == "option"
    assert words in problem.message
    assert problem.message.startswith(
        dict((n, label) for n, label, _ in get_provider("instagram").composer_options)[field]
    )


def test_the_services_accept_well_formed_typed_options(team):
    from publishing.services import post_validate

    account, clip = _saved_instagram(team), _video_row(team, 30)
    options = {"collaborators": "@ann, bob.b", "user_tags": "@jane, kim", "location_id": "110843418940484",
               "thumb_offset": "2.5", "format": "reel"}  # fmt: skip
    assert post_validate(actor=team.membership("editor"), data=_with_options(account, clip, **options)) == []


def test_an_image_carries_collaborators_placed_people_tags_and_its_place(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "c-1"})
    container_status("c-1", "IN_PROGRESS")
    options = {"collaborators": "@ann, bob", "user_tags": "@jane 0.25 0.75, kim", "location_id": "110843418940484"}
    assert isinstance(_step(PublishRequest(main=ContentPart("Hi", media=(image(),)), options=options)), Pending)
    sent = form(next(c for c in responses.calls if c.request.url == MEDIA))
    assert json.loads(sent["collaborators"]) == ["ann", "bob"]
    assert json.loads(sent["user_tags"]) == [
        {"username": "jane", "x": 0.25, "y": 0.75},
        {"username": "kim", "x": 0.5, "y": 0.5},
    ]
    assert sent["location_id"] == "110843418940484"
    assert "thumb_offset" not in sent, "a cover frame is for Reels"


def test_a_reel_takes_its_cover_frame_in_milliseconds_and_tags_without_positions(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "reel-1"})
    container_status("reel-1", "IN_PROGRESS")
    options = {"format": "reel", "thumb_offset": "2.5", "user_tags": "@jane 0.2 0.2", "collaborators": "ann"}
    assert isinstance(_step(PublishRequest(main=ContentPart("Reel", media=(video(),)), options=options)), Pending)
    sent = form(next(c for c in responses.calls if c.request.url == MEDIA))
    assert (sent["media_type"], sent["thumb_offset"]) == ("REELS", "2500")
    assert json.loads(sent["user_tags"]) == [{"username": "jane"}]
    assert json.loads(sent["collaborators"]) == ["ann"]


def test_a_story_takes_people_tags_only(db):
    quota(0)
    responses.add(responses.POST, MEDIA, json={"id": "s-1"})
    container_status("s-1", "IN_PROGRESS")
    request = PublishRequest(main=ContentPart("", media=(image(),)), options={"format": "story", "user_tags": "kim"})
    assert isinstance(_step(request), Pending)
    sent = form(next(c for c in responses.calls if c.request.url == MEDIA))
    assert (sent["media_type"], json.loads(sent["user_tags"])) == ("STORIES", [{"username": "kim", "x": 0.5, "y": 0.5}])
    assert "collaborators" not in sent


def test_people_tags_on_a_carousel_are_refused_before_anything_is_created(db):
    request = PublishRequest(
        main=ContentPart("Two", media=(image("a.jpg"), image("b.jpg"))), options={"user_tags": "kim"}
    )
    with pytest.raises(ProviderError) as caught:
        _step(request)
    assert caught.value.error_class == ErrorClass.CONTENT
    assert "not on a carousel" in caught.value.message
    assert not responses.calls


def test_a_carousel_carries_collaborators_on_the_parent_only(db):
    quota(0)
    for cid in ("child-1", "child-2", "parent-1"):
        responses.add(responses.POST, MEDIA, json={"id": cid})
    container_status("child-1", "FINISHED")
    container_status("child-2", "FINISHED")
    container_status("parent-1", "IN_PROGRESS")
    request = PublishRequest(
        main=ContentPart("Two", media=(image("a.jpg"), image("b.jpg"))), options={"collaborators": "ann"}
    )
    assert isinstance(_step(request), Pending)
    posts = [form(c) for c in responses.calls if c.request.method == "POST" and c.request.url == MEDIA]
    assert ["collaborators" in p for p in posts] == [False, False, True]


def test_the_composer_offers_typed_options_as_text_fields_and_keeps_what_was_typed(team):
    from django.urls import reverse

    from publishing.models import Post

    account = _saved_instagram(team)
    client = team.client("editor")
    page = client.get(reverse("compose")).content.decode()
    assert '<input type="text" id="option-instagram-collaborators" name="option_instagram_collaborators"' in page
    data = {"accounts": [account.id], "text": "Hi", "when": "draft", "option_instagram_format": "post",
            "option_instagram_collaborators": " ann, bob ", "option_instagram_location_id": ""}  # fmt: skip
    client.post(reverse("compose"), data)
    post = Post.objects.get()
    assert post.overrides["instagram"]["options"] == {"format": "post", "collaborators": "ann, bob"}
    edit = client.get(reverse("post_edit", args=[post.pk])).content.decode()
    assert 'name="option_instagram_collaborators" value="ann, bob"' in edit
    response = client.post(
        reverse("post_edit", args=[post.pk]), {**data, "option_instagram_collaborators": "a, b, c, d"}
    )
    assert "at most 3 collaborators" in response.content.decode()
    post.refresh_from_db()
    assert post.overrides["instagram"]["options"]["collaborators"] == "ann, bob", "a refused edit changes nothing"


def _insights(media_id: str, names: dict[str, int]) -> dict:
    return {"data": [{"name": n, "period": "lifetime", "values": [{"value": v}], "title": n, "description": "...",
                      "id": f"{media_id}/insights/{n}/lifetime"} for n, v in names.items()]}  # fmt: skip


def test_a_reel_is_asked_for_its_watch_time_and_a_story_for_its_own_metrics(db):
    product_type(GRAPH, "reel-1", "REELS")
    product_type(GRAPH, "story-1", "STORY")
    reel = {"views": 300, "reach": 200, "likes": 20, "comments": 2, "saved": 1, "shares": 4, "total_interactions": 27,
            "ig_reels_avg_watch_time": 4100, "ig_reels_video_view_total_time": 1230000}  # fmt: skip
    story = {"views": 80, "reach": 70, "shares": 1, "total_interactions": 6, "replies": 5, "link_clicks": 3}
    responses.add(responses.GET, f"{GRAPH}/reel-1/insights", json=_insights("reel-1", reel),
                  match=[metric_matcher(",".join(reel))])  # fmt: skip
    responses.add(responses.GET, f"{GRAPH}/story-1/insights", json=_insights("story-1", story),
                  match=[metric_matcher(",".join(story))])  # fmt: skip
    metrics = get_provider("instagram").fetch_metrics(account=ig_account(), platform_post_ids=["reel-1", "story-1"])
    assert metrics["reel-1"].extra["ig_reels_avg_watch_time"] == 4100
    assert metrics["reel-1"].impressions == 300
    assert (metrics["story-1"].replies, metrics["story-1"].likes, metrics["story-1"].extra["link_clicks"]) == (5, 0, 3)
    asked = [parse_qs(urlsplit(c.request.url).query).get("metric", [""])[0] for c in responses.calls]
    assert "likes" not in asked[-1].split(","), "a Story is not asked for likes"


def test_a_reel_cover_past_the_videos_end_is_refused_before_anything_is_created(db):
    request = PublishRequest(
        main=ContentPart("Reel", media=(video(20),)), options={"format": "reel", "thumb_offset": "25"}
    )
    with pytest.raises(ProviderError) as caught:
        _step(request)
    assert (caught.value.error_class, caught.value.message) == (
        ErrorClass.CONTENT,
        "The Reel cover at 25 s is past the video's end (20 s).",
    )
    assert not responses.calls


def test_metas_thumb_offset_refusal_is_a_content_error_not_a_retry(db):
    quota(0)
    body = error(1, 2207057, "Invalid thumb offset", user_msg="The thumbnail offset is not valid.")
    responses.add(responses.POST, MEDIA, json=body, status=400)
    request = PublishRequest(
        main=ContentPart("Reel", media=(video(20),)), options={"format": "reel", "thumb_offset": "5"}
    )
    with pytest.raises(ProviderError) as caught:
        _step(request)
    assert (caught.value.error_class, caught.value.message) == (
        ErrorClass.CONTENT,
        "The thumbnail offset is not valid.",
    )


def test_imported_media_keep_their_kind_cover_and_counts():
    mock_ig_media(MEDIA)
    page = get_provider("instagram").list_posts(account=ig_account())
    photo, reel = page.items
    assert (photo.text, photo.url) == ("Sunday nap, as usual #kitten", "https://www.instagram.com/p/DCxYz12AbCd/")
    assert [m.kind for m in photo.media] == ["image"]
    assert reel.media[0].kind == "video"
    assert reel.media[0].url.endswith("zoomies.mp4?efg=eyJ2ZW5jb2RlX3RhZyI6InhwaWRzIn0")
    assert reel.extra == {"media_type": "VIDEO", "media_product_type": "REELS", "like_count": 412, "comments_count": 23}
    assert reel.published_at.isoformat() == "2026-11-27T22:05:00+00:00"


def test_an_instagram_rate_limit_during_an_import_is_a_wait():
    responses.add(
        responses.GET, MEDIA, status=400, json=error(80002, message="Too many calls to this Instagram account")
    )
    with pytest.raises(ProviderError) as caught:
        get_provider("instagram").list_posts(account=ig_account(), cursor="QVFIUkNMdkxaZAFd0U0w4")
    assert caught.value.error_class == ErrorClass.RATE
    assert "after=QVFIUkNMdkxaZAFd0U0w4" in responses.calls[0].request.url  # resumed from the stored cursor
