"""Threads against recorded answers in the shapes of platforms-meta.md section 5."""

import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountMetrics, ContentPart, MediaItem, Pending, PostMetrics, PublishRequest
from connections.providers.meta import login
from connections.providers.meta.imports import THREADS_FIELDS
from connections.providers.meta.threads import threads_length
from connections.registry import get_provider
from tests.connections.contract import APP, LOST, Lost, ProviderContract, Refused, ThreadPlatform
from tests.connections.meta_graph import error, form, graph_now, metric_matcher, mock_listing, series, total
from tests.connections.publishing import find_main, part_request, publish_all

HOST = "https://graph.threads.net"
API = f"{HOST}/v1.0"
USER = "17841400000000001"
TOKEN = "THQVJlonglived"
THREADS = f"{API}/{USER}/threads"
PUBLISH = f"{API}/{USER}/threads_publish"
REDIRECT = "https://postwright.example/connections/callback/threads/"


@pytest.fixture(autouse=True)
def _fresh_usage():
    cache.clear()
    yield
    cache.clear()


QUOTA = f"{API}/{USER}/threads_publishing_limit"


def quota(posts: int = 4, replies: int = 1, *, total: int = 250, reply_total: int = 1000) -> None:
    """The account's publishing limit as section 5.2 shows it."""
    responses.upsert(
        responses.GET,
        QUOTA,
        json={
            "data": [
                {
                    "quota_usage": posts,
                    "config": {"quota_total": total, "quota_duration": 86400},
                    "reply_quota_usage": replies,
                    "reply_config": {"quota_total": reply_total, "quota_duration": 86400},
                }
            ]
        },
        match=[
            responses.matchers.query_param_matcher(
                {"fields": "quota_usage,config,reply_quota_usage,reply_config"}, strict_match=False
            )
        ],
    )


@pytest.fixture(autouse=True)
def _room_in_the_quota():
    """Every publishing test meets an account with room left, unless it says otherwise."""
    quota()


def account():
    from connections.providers.base import AccountState

    return AccountState(external_id=USER, username="@kitten", secrets={"access_token": TOKEN})


def image(name: str = "cat.jpg", alt: str = "") -> MediaItem:
    return MediaItem(
        filename=name,
        mime_type="image/jpeg",
        size=10,
        open=lambda: io.BytesIO(b"x" * 10),
        public_url=f"https://postwright.example/media/s/{name}/",
        alt_text=alt,
        width=1080,
        height=1080,
    )


def video() -> MediaItem:
    return MediaItem(
        filename="clip.mp4",
        mime_type="video/mp4",
        size=10,
        open=lambda: io.BytesIO(b"x" * 10),
        public_url="https://postwright.example/media/s/vid/",
        kind="video",
        duration_s=20,
    )


def status(container: str, *codes: str, message: str = "") -> None:
    """The container's status over successive polls (the last one repeats)."""
    for code in codes:
        body = {"status": code, "id": container, **({"error_message": message} if code == "ERROR" else {})}
        responses.add(
            responses.GET,
            f"{API}/{container}",
            json=body,
            match=[responses.matchers.query_param_matcher({"fields": "status,error_message"}, strict_match=False)],
        )


def published(media_id: str = "18050000000000001") -> None:
    responses.add(responses.POST, PUBLISH, json={"id": media_id})
    responses.add(
        responses.GET,
        f"{API}/{media_id}",
        json={"id": media_id, "permalink": "https://www.threads.net/@kitten/post/DAbc123"},
    )


def created() -> list[dict]:
    return [form(c) for c in responses.calls if c.request.method == "POST" and c.request.url == THREADS]


def mock_own_threads(headers: dict | None = None) -> None:
    mock_listing(f"{API}/{USER}/threads", "threads/threads_page1", "threads/threads_page2",
                 after="QVFIUmlKNHpPUWRBUnl1", fields=THREADS_FIELDS, headers=headers)  # fmt: skip


class TestThreadsProvider(ProviderContract):
    provider_id = "threads"

    def connect(self):
        responses.add(
            responses.POST,
            f"{HOST}/oauth/access_token",
            json={"access_token": "THQVJshort", "user_id": 17841400000000001},
        )
        responses.add(
            responses.GET,
            f"{HOST}/access_token",
            json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944},
        )
        responses.add(
            responses.GET,
            f"{API}/me",
            json={"id": USER, "username": "kitten", "threads_profile_picture_url": "https://scontent.example/k.jpg"},
        )
        provider = get_provider("threads")
        tokens = provider.exchange_code(app=APP, code="c0de#_", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self):
        return account()

    def mock_check(self):
        responses.add(responses.GET, f"{API}/me", json={"id": USER, "username": "kitten"})

    def mock_refresh(self):
        responses.add(
            responses.GET,
            f"{HOST}/refresh_access_token",
            json={"access_token": "THQVJrenewed", "token_type": "bearer", "expires_in": 5183944},
            match=[responses.matchers.query_param_matcher({"grant_type": "th_refresh_token", "access_token": TOKEN})],
        )

    def error_cases(self):
        def fails(body):
            return lambda: responses.add(responses.GET, f"{API}/me", json=body, status=400)

        return [
            ("token expired", fails(error(190, 463, "Error validating access token")), ErrorClass.AUTH),
            ("rate", fails(error(4, message="Application request limit reached")), ErrorClass.RATE),
            ("transient", fails(error(2, message="Service temporarily unavailable")), ErrorClass.TRANSIENT),
            (
                "bad parameter",
                fails(error(100, message="Invalid parameter", user_msg="Text too long")),
                ErrorClass.CONTENT,
            ),
        ]

    def mock_publish_text(self):
        responses.add(responses.POST, THREADS, json={"id": "c-1"})
        published()
        return "18050000000000001"

    def mock_list_posts(self):
        mock_own_threads()
        return ["18050206876707110", "18041234567890123"], ["18012345678901234"]  # not the repost

    def mock_delete(self):
        responses.add(
            responses.DELETE, f"{API}/18050000000000001", json={"success": True, "deleted_id": "18050000000000001"}
        )
        return "18050000000000001", lambda: any(c.request.method == "DELETE" for c in responses.calls)

    def mock_account_metrics(self):
        responses.add(
            responses.GET,
            f"{API}/{USER}/threads_insights",
            json={
                "data": [
                    series(USER, "views", 40, 52),  # profile views, a daily series
                    total(USER, "followers_count", 880),
                    total(USER, "likes", 120),
                    total(USER, "replies", 14),
                    total(USER, "reposts", 6),
                    total(USER, "quotes", 2),
                ]
            },
            match=[metric_matcher("views,followers_count,likes,replies,reposts,quotes,clicks")],
        )
        extra = {"likes": 120, "replies": 14, "reposts": 6, "quotes": 2}
        return AccountMetrics(followers=880, views=52, extra=extra)

    def mock_metrics(self):
        names = {"views": 320, "likes": 12, "replies": 3, "reposts": 2, "quotes": 1, "shares": 4}
        responses.add(
            responses.GET,
            f"{API}/1805/insights",
            json={
                "data": [
                    {
                        "name": n,
                        "period": "lifetime",
                        "values": [{"value": v}],
                        "title": n,
                        "description": "...",
                        "id": f"1805/insights/{n}/lifetime",
                    }
                    for n, v in names.items()
                ]
            },
            match=[
                responses.matchers.query_param_matcher(
                    {"metric": "views,likes,replies,reposts,quotes,shares"}, strict_match=False
                )
            ],
        )
        return "1805", PostMetrics(likes=12, replies=3, reposts=2, quotes=1, impressions=320, extra={"shares": 4})

    def test_connect_keeps_the_user_id_and_app_meta_callbacks_name(self, provider):
        (connection,) = self.connect()
        assert connection.profile.username == "@kitten"
        assert connection.extra == {login.USER_ID: USER, login.APP_ID: "client-123"}
        assert connection.secrets == {"access_token": TOKEN}
        exchange = form(responses.calls[0])
        assert (exchange["code"], exchange["grant_type"]) == ("c0de", "authorization_code"), "the #_ is stripped"
        assert parse_qs(urlsplit(responses.calls[1].request.url).query)["grant_type"] == ["th_exchange_token"]

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        containers: dict[str, dict] = {}

        def container(request):
            cid = f"c-{len(containers) + 1}"
            containers[cid] = {k: v[0] for k, v in parse_qs(request.body).items()}
            return 200, {}, json.dumps({"id": cid})

        def publish(request):
            fields = containers[parse_qs(request.body)["creation_id"][0]]
            try:
                post = platform.create(text=fields.get("text", ""), parent=fields.get("reply_to_id"))
            except Refused as exc:
                return 400, {}, json.dumps(error(100, message="Invalid parameter", user_msg=str(exc)))
            except Lost:
                raise LOST from None
            return 200, {}, json.dumps({"id": post["id"]})

        def listed(parent):
            items = [
                {
                    "id": p["id"],
                    "text": p["text"],
                    "timestamp": graph_now(),
                    "username": "kitten",
                    "permalink": f"https://www.threads.net/@kitten/post/{p['id']}",
                }
                for p in reversed(platform.posts)
                if p["parent"] == parent
            ]
            return 200, {}, json.dumps({"data": items, "paging": {"cursors": {}}})

        def replies(request):
            return listed(re.search(r"/(\w+)/replies", request.url)[1])

        def permalink(request):
            mid = urlsplit(request.url).path.rsplit("/", 1)[-1]
            return 200, {}, json.dumps({"id": mid, "permalink": f"https://www.threads.net/@kitten/post/{mid}"})

        responses.add_callback(responses.POST, THREADS, callback=container)
        responses.add_callback(responses.POST, PUBLISH, callback=publish)
        responses.add_callback(responses.GET, THREADS, callback=lambda r: listed(None))
        responses.add_callback(responses.GET, re.compile(rf"{re.escape(API)}/\w+/replies(\?|$)"), callback=replies)
        responses.add_callback(responses.GET, re.compile(rf"{re.escape(API)}/\d+(\?|$)"), callback=permalink)


# --- Focused tests ------------------------------------------------------------------------------


def _step(request, state=None, index=0, landed=()):
    part = part_request(request, index, list(landed), state=state or {})
    return get_provider("threads").publish_part(account=account(), request=request, part=part)


def test_the_consent_page_is_threads_own_with_comma_separated_scopes(settings, monkeypatch):
    settings.SITE_URL = "https://postwright.example"
    monkeypatch.setattr(login, "_resolve", lambda host: ["93.184.216.34"])
    url = get_provider("threads").authorization_url(app=APP, redirect_uri=REDIRECT, state="s1", code_verifier=None)
    assert url.startswith("https://threads.net/oauth/authorize?client_id=client-123&")
    assert parse_qs(urlsplit(url).query)["scope"] == [",".join(get_provider("threads").default_scopes)]


def test_a_text_post_with_a_link_and_a_reply_setting(db):
    responses.add(responses.POST, THREADS, json={"id": "c-1"})
    published()
    request = PublishRequest(
        main=ContentPart("Read this"), link="https://example.com/a", options={"reply_control": "followers_only"}
    )
    done = _step(request)
    assert (done.platform_post_id, done.url) == ("18050000000000001", "https://www.threads.net/@kitten/post/DAbc123")
    (fields,) = created()
    assert (fields["media_type"], fields["text"], fields["link_attachment"], fields["reply_control"]) == (
        "TEXT",
        "Read this",
        "https://example.com/a",
        "followers_only",
    )
    assert "reply_to_id" not in fields
    assert form(next(c for c in responses.calls if c.request.url == PUBLISH))["creation_id"] == "c-1"


def test_an_unknown_reply_setting_is_refused_before_anything_is_created(db):
    with pytest.raises(ProviderError) as caught:
        _step(PublishRequest(main=ContentPart("Hi"), options={"reply_control": "nobody"}))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not responses.calls


def test_a_video_waits_while_threads_processes_it_then_publishes_once(db):
    responses.add(responses.POST, THREADS, json={"id": "c-vid"})
    status("c-vid", "IN_PROGRESS", "IN_PROGRESS", "FINISHED")
    request = PublishRequest(main=ContentPart("Clip", media=(video(),)))
    state, delays = {}, []
    for _ in range(2):
        answer = _step(request, state)
        assert isinstance(answer, Pending)
        assert "processing" in answer.reason
        state, delays = dict(answer.state), [*delays, answer.check_in_s]
    assert delays == sorted(delays), "polled by the engine, ever more slowly"
    assert delays[0] >= 10
    published()
    assert _step(request, state).platform_post_id == "18050000000000001"
    assert len(created()) == 1, "the container is made once"
    assert (created()[0]["media_type"], created()[0]["video_url"]) == (
        "VIDEO",
        "https://postwright.example/media/s/vid/",
    )
    assert sum(c.request.url == PUBLISH for c in responses.calls) == 1


def test_an_image_carries_its_alt_text(db):
    responses.add(responses.POST, THREADS, json={"id": "c-img"})
    status("c-img", "FINISHED")
    published()
    _step(PublishRequest(main=ContentPart("Cat", media=(image(alt="An orange cat"),))))
    (fields,) = created()
    assert (fields["media_type"], fields["alt_text"], fields["text"]) == ("IMAGE", "An orange cat", "Cat")


def test_a_carousel_checks_every_child_before_making_the_parent(db):
    for cid in ("ch-1", "ch-2", "parent"):
        responses.add(responses.POST, THREADS, json={"id": cid})
    status("ch-1", "FINISHED")
    status("ch-2", "IN_PROGRESS", "FINISHED")
    request = PublishRequest(main=ContentPart("Two", media=(image("a.jpg"), video())))
    first = _step(request)
    assert isinstance(first, Pending)
    assert len(created()) == 2, "no parent while a child is processing"
    status("parent", "FINISHED")
    published()
    assert _step(request, dict(first.state)).platform_post_id == "18050000000000001"
    children, parent = created()[:2], created()[2]
    assert [c["is_carousel_item"] for c in children] == ["true", "true"]
    assert (parent["media_type"], parent["children"], parent["text"]) == ("CAROUSEL", "ch-1,ch-2", "Two")


def test_a_carousel_whose_child_fails_names_it_and_publishes_nothing(db):
    responses.add(responses.POST, THREADS, json={"id": "ch-1"})
    responses.add(responses.POST, THREADS, json={"id": "ch-2"})
    status("ch-1", "FINISHED")
    status("ch-2", "ERROR", message="INVALID_ASPEC_RATIO")
    with pytest.raises(ProviderError) as caught:
        _step(PublishRequest(main=ContentPart("Two", media=(image("a.jpg"), image("b.jpg")))))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert caught.value.message == "Carousel item 2 failed at Threads: INVALID_ASPEC_RATIO"
    assert not any(c.request.url == PUBLISH for c in responses.calls)


def test_an_expired_container_is_made_again(db):
    responses.add(responses.POST, THREADS, json={"id": "c-old"})
    responses.add(responses.POST, THREADS, json={"id": "c-new"})
    status("c-old", "EXPIRED")
    request = PublishRequest(main=ContentPart("Cat", media=(image(),)))
    expired = _step(request)
    assert isinstance(expired, Pending)
    assert "container" not in expired.state
    status("c-new", "FINISHED")
    published()
    assert _step(request, dict(expired.state)).platform_post_id == "18050000000000001"
    assert form(next(c for c in responses.calls if c.request.url == PUBLISH))["creation_id"] == "c-new"


def test_a_media_container_already_published_is_looked_up_not_published_again(db):
    status("c-1", "PUBLISHED")
    with pytest.raises(ProviderError) as caught:
        _step(PublishRequest(main=ContentPart("Cat", media=(image(),))), {"container": "c-1", "has_media": True})
    assert caught.value.outcome_unknown
    assert not any(c.request.url == PUBLISH for c in responses.calls)


def test_replies_and_the_first_comment_answer_the_right_post(db):
    for cid in ("c-1", "c-2", "c-3"):
        responses.add(responses.POST, THREADS, json={"id": cid})
    for mid in ("m-1", "m-2", "m-3"):
        responses.add(responses.POST, PUBLISH, json={"id": mid})
        responses.add(
            responses.GET, f"{API}/{mid}", json={"id": mid, "permalink": f"https://www.threads.net/@kitten/post/{mid}"}
        )
    request = PublishRequest(
        main=ContentPart("Main"), replies=(ContentPart("Part 2"),), first_comment=ContentPart("Comment")
    )
    result = publish_all(get_provider("threads"), account=account(), request=request)
    assert [
        result.main.platform_post_id,
        result.replies[0].platform_post_id,
        result.first_comment.platform_post_id,
    ] == ["m-1", "m-2", "m-3"]
    assert [f.get("reply_to_id") for f in created()] == [None, "m-1", "m-1"]


def test_a_lost_main_post_is_found_among_recent_threads(db):
    responses.add(
        responses.GET,
        THREADS,
        json={
            "data": [
                {"id": "m-9", "text": "Other", "timestamp": graph_now(), "username": "kitten"},
                {
                    "id": "m-7",
                    "text": "Hello",
                    "timestamp": graph_now(),
                    "username": "kitten",
                    "permalink": "https://www.threads.net/@kitten/post/X",
                },
            ],
            "paging": {"cursors": {}},
        },
    )
    found = find_main(get_provider("threads"), account=account(), request=PublishRequest(main=ContentPart("Hello")))
    assert (found.platform_post_id, found.url) == ("m-7", "https://www.threads.net/@kitten/post/X")


def test_a_post_over_the_publishing_limit_waits_with_that_reason_before_anything_is_created(db):
    quota(posts=250)
    answer = _step(PublishRequest(main=ContentPart("Hello")))
    assert isinstance(answer, Pending)
    assert answer.reason.startswith("Threads' publishing limit is reached (250 of 250 posts in 24 hours)")
    assert answer.check_in_s >= 600
    assert not created()


def test_a_reply_over_the_reply_limit_waits_but_the_main_post_goes(db):
    quota(posts=10, replies=1000)
    responses.add(responses.POST, THREADS, json={"id": "c-1"})
    published()
    request = PublishRequest(main=ContentPart("Root"), replies=(ContentPart("Second"),))
    main = _step(request)
    assert main.platform_post_id == "18050000000000001"
    answer = _step(request, index=1, landed=[main])
    assert isinstance(answer, Pending)
    assert "reply limit is reached (1000 of 1000 replies" in answer.reason
    assert len(created()) == 1


def test_a_quota_answer_without_numbers_does_not_hold_the_post(db):
    responses.upsert(responses.GET, QUOTA, json={"data": []})
    responses.add(responses.POST, THREADS, json={"id": "c-1"})
    published()
    assert _step(PublishRequest(main=ContentPart("Hello"))).platform_post_id == "18050000000000001"


def test_a_busy_app_is_paced_before_the_quota_is_even_read(db):
    usage = json.dumps({"call_count": 96, "total_time": 10, "total_cputime": 10})
    responses.add(responses.GET, f"{API}/me", json={"id": USER, "username": "kitten"}, headers={"x-app-usage": usage})
    get_provider("threads").check(app=None, account=account())  # an answer says the app is at 96 %
    answer = _step(PublishRequest(main=ContentPart("Hello")))
    assert isinstance(answer, Pending)
    assert answer.reason.startswith("Pacing: Meta reports 96% of its limit used")
    assert not any(c.request.url.startswith(QUOTA) for c in responses.calls)
    assert not created()


def test_emoji_count_by_their_bytes():
    assert threads_length("héllo") == 5
    assert threads_length("🙂") == 4
    with pytest.raises(ProviderError, match="byte length"):
        _step(PublishRequest(main=ContentPart("🙂" * 130)))


def test_threads_callbacks_are_signed_with_the_threads_apps_secret(team, settings):
    from django.test import Client

    from connections.models import SocialAccount
    from connections.providers.base import Connection, Profile
    from connections.services import account_save
    from tests.connections.test_meta_callbacks import meta_signed, payload

    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "threads": ("th-app", "th-secret")}
    connection = Connection(
        profile=Profile(external_id=USER, username="@kitten"),
        secrets={"access_token": TOKEN},
        extra={login.USER_ID: USER, login.APP_ID: "th-app"},
    )
    saved = account_save(workspace=team.workspace, platform="threads", connection=connection, user=None)
    client = Client(enforce_csrf_checks=True)
    signed = {"signed_request": meta_signed(payload(USER), "th-secret")}
    assert client.post("/meta/facebook/data-deletion/", signed).status_code == 400, "not Facebook's app"
    answer = client.post("/meta/threads/data-deletion/", signed).json()
    assert answer["confirmation_code"]
    assert SocialAccount.objects.get(pk=saved.pk).status == SocialAccount.Status.DISCONNECTED


@pytest.mark.parametrize(("days_left", "refreshed"), [(9, True), (11, False)])
def test_the_token_health_job_renews_a_token_ten_days_before_it_lapses(team, settings, days_left, refreshed):
    from datetime import UTC, datetime, timedelta

    from connections.models import Grant
    from connections.providers.base import Connection, Profile
    from connections.services import account_save, refresh_expiring_tokens

    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "threads": ("th-app", "th-secret")}
    lapses = datetime.now(UTC) + timedelta(days=days_left)
    connection = Connection(
        profile=Profile(external_id=USER, username="@kitten"), secrets={"access_token": TOKEN}, expires_at=lapses
    )
    saved = account_save(workspace=team.workspace, platform="threads", connection=connection, user=None)
    responses.add(
        responses.GET,
        f"{HOST}/refresh_access_token",
        json={"access_token": "THQVJrenewed", "token_type": "bearer", "expires_in": 5183944},
        match=[responses.matchers.query_param_matcher({"grant_type": "th_refresh_token", "access_token": TOKEN})],
    )
    assert refresh_expiring_tokens()["refreshed"] == int(refreshed)
    grant = Grant.objects.get(pk=saved.grant_id)
    if refreshed:
        assert grant.secrets["access_token"] == "THQVJrenewed"
        assert grant.expires_at > datetime.now(UTC) + timedelta(days=59)
    else:
        assert (grant.secrets["access_token"], grant.expires_at) == (TOKEN, lapses)


def test_threads_user_insights_not_counted_yet_are_none_not_zeros(db):
    responses.add(responses.GET, f"{API}/{USER}/threads_insights", json={"data": []})
    assert get_provider("threads").fetch_account_metrics(account=account()) is None
    asked = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert int(asked["since"][0]) >= 1712991600, "Threads has no insights before 13 Apr 2024"
    assert "follower_demographics" not in asked["metric"][0], "it needs a breakdown"


def test_the_threads_origin_is_a_setting(db, settings):
    settings.META_THREADS_API_URL = "https://graph.threads.com"  # the docs' other host
    responses.add(responses.GET, "https://graph.threads.com/v1.0/me", json={"id": USER, "username": "kitten"})
    assert get_provider("threads").check(app=None, account=account()).username == "@kitten"
