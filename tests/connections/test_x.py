"""X against recorded API v2 answers (platforms-other.md section 1; tests/connections/x_api.py)."""

import base64
import io
import json
import time
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from connections import services
from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    Connection,
    ContentPart,
    MediaItem,
    MemoryUploads,
    Pending,
    PostMetrics,
    Profile,
    PublishRequest,
    TokenSet,
)
from connections.registry import get_provider
from publishing.textcount import text_length
from tests.connections.contract import APP, LOST, Lost, ProviderContract, Refused, ThreadPlatform
from tests.connections.publishing import part_request, publish_all
from tests.connections.x_api import (
    BAD_REFRESH,
    DUPLICATE,
    INVALID,
    ME_URL,
    MEDIA_ID,
    METADATA,
    NOT_PERMITTED,
    OWN_POSTS_PAGE1,
    SCOPE,
    TIMELINE,
    TOKEN_URL,
    TOO_MANY,
    TWEETS,
    UNAUTHORIZED,
    UNAVAILABLE,
    UNSUPPORTED_AUTH,
    UPLOAD,
    USAGE_CAPPED,
    USER_ID,
    created,
    finalized,
    image_uploaded,
    initialized,
    me,
    mock_own_posts,
    problem,
    status,
    token,
)

REDIRECT = "https://postwright.example/connections/callback/x/"


@pytest.fixture(autouse=True)
def _fresh_windows():
    cache.clear()  # spent rate-limit windows are remembered between calls; tests must not inherit them


def account(**secrets) -> AccountState:
    stored = {"access_token": "VGhpcy1hY2Nlc3M", "refresh_token": "bWRWa3-first", "granted_scope": SCOPE, **secrets}
    return AccountState(external_id=USER_ID, username="@XDevelopers", secrets=stored, extra={"verified": False})


def body_of(call) -> dict:
    return json.loads(call.request.body)


def form_of(call) -> dict[str, list[str]]:
    return parse_qs(call.request.body if isinstance(call.request.body, str) else call.request.body.decode())


def multipart_fields(call) -> dict[str, bytes]:
    """The parts of a multipart/form-data request, by field name."""
    head = f"Content-Type: {call.request.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + call.request.body)
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()}  # fmt: skip


def media(name: str = "cat.jpg", mime: str = "image/jpeg", data: bytes = b"\xff\xd8 a jpeg", alt: str = ""):
    kind = "video" if mime.startswith("video/") else "image"
    return MediaItem(filename=name, mime_type=mime, size=len(data), open=lambda: io.BytesIO(data), alt_text=alt,
                     kind=kind)  # fmt: skip


def calls(method: str, url_start: str) -> list:
    return [c for c in responses.calls if c.request.method == method and c.request.url.startswith(url_start)]


class TestXProvider(ProviderContract):
    provider_id = "x"

    def connect(self):
        responses.add(responses.POST, TOKEN_URL, json=token())
        responses.add(responses.GET, ME_URL, json=me())
        provider = get_provider("x")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier="v" * 64)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self) -> AccountState:
        return account()

    def mock_check(self) -> None:
        responses.add(responses.GET, ME_URL, json=me())

    def mock_refresh(self) -> None:
        responses.add(responses.POST, TOKEN_URL, json=token(access_token="bmV3LWFjY2Vzcw", refresh_token="bWRWa3-2"))

    def error_cases(self):
        return [
            ("unauthorized", problem(responses.GET, ME_URL, UNAUTHORIZED, 401), ErrorClass.AUTH),
            ("app-only token", problem(responses.GET, ME_URL, UNSUPPORTED_AUTH, 403), ErrorClass.CONFIG),
            ("not permitted", problem(responses.GET, ME_URL, NOT_PERMITTED, 403), ErrorClass.CONTENT),
            ("invalid", problem(responses.GET, ME_URL, INVALID, 400), ErrorClass.CONTENT),
            ("throttled", problem(responses.GET, ME_URL, TOO_MANY, 429), ErrorClass.RATE),
            ("capped", problem(responses.GET, ME_URL, USAGE_CAPPED, 429), ErrorClass.RATE),
            ("unavailable", problem(responses.GET, ME_URL, UNAVAILABLE, 503), ErrorClass.TRANSIENT),
            ("not json", lambda: responses.add(responses.GET, ME_URL, body="<html>", status=502), ErrorClass.TRANSIENT),
            ("no id", lambda: responses.add(responses.GET, ME_URL, json={"data": {}}), ErrorClass.TRANSIENT),
        ]

    def mock_publish_text(self) -> str:
        responses.add(responses.POST, TWEETS, json=created("1445880548472328192", "Hello"), status=201)
        return "1445880548472328192"

    def mock_delete(self):
        responses.add(responses.DELETE, f"{TWEETS}/1445880548472328192", json={"data": {"deleted": True}})
        return "1445880548472328192", lambda: len(calls("DELETE", f"{TWEETS}/1445880548472328192")) == 1

    def mock_metrics(self):
        counts = {"retweet_count": 3, "reply_count": 1, "like_count": 20, "quote_count": 0, "bookmark_count": 2,
                  "impression_count": 1500}  # fmt: skip
        answer = {"data": [{"id": "1445880548472328192", "text": "Hello", "public_metrics": counts}]}
        responses.add(responses.GET, TWEETS, json=answer)
        expected = PostMetrics(likes=20, reposts=3, replies=1, quotes=0, impressions=1500, extra={"bookmarks": 2})
        return "1445880548472328192", expected

    def mock_account_metrics(self):
        responses.add(responses.GET, ME_URL, json=me(),
                      match=[responses.matchers.query_param_matcher({"user.fields": "public_metrics"})])  # fmt: skip
        return AccountMetrics(followers=1, following=2, posts_count=3,
                              extra={"listed_count": 0, "like_count": 5, "media_count": 1})  # fmt: skip

    def mock_list_posts(self):
        mock_own_posts()  # the reply to somebody else (…325) is not the user's own post
        return ["1851000000000000330", "1851000000000000320"], ["1849000000000000100"]

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        """POST /2/tweets and the user's posts (GET /2/users/:id/tweets), as X answers them."""

        def create(request):
            body = json.loads(request.body)
            parent = body.get("reply", {}).get("in_reply_to_tweet_id")
            try:
                post = platform.create(
                    text=body["text"], parent=parent, id_=str(1445880548472328192 + len(platform.posts))
                )
            except Refused:
                return 403, {"Content-Type": "application/problem+json"}, json.dumps(DUPLICATE)
            except Lost:
                raise LOST from None
            return 201, {}, json.dumps(created(post["id"], post["text"]))

        def timeline(request):
            posts = []
            for post in reversed(platform.posts):
                found = {"id": post["id"], "text": post["text"], "created_at": post["created_at"],
                         "edit_history_tweet_ids": [post["id"]]}  # fmt: skip
                if post["parent"]:
                    found["referenced_tweets"] = [{"type": "replied_to", "id": post["parent"]}]
                posts.append(found)
            return 200, {}, json.dumps({"data": posts, "meta": {"result_count": len(posts)}})

        responses.add_callback(responses.POST, TWEETS, callback=create)
        responses.add_callback(responses.GET, TIMELINE, callback=timeline)


# --- Connecting -------------------------------------------------------------------------------


@pytest.fixture
def x(db):
    return get_provider("x")


def test_consent_asks_for_pkce_offline_access_and_media_write(x):
    url = x.authorization_url(app=APP, redirect_uri=REDIRECT, state="s1", code_verifier="v" * 64)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://x.com/i/oauth2/authorize"
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0]
    assert set(query["scope"][0].split()) == set(SCOPE.split())


def test_code_exchange_authenticates_with_basic_and_keeps_the_granted_scope(x):
    responses.add(responses.POST, TOKEN_URL, json=token())
    tokens = x.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier="v" * 64)
    (call,) = responses.calls
    expected = base64.b64encode(b"client-123:secret-456").decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    sent = form_of(call)
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["code_verifier"] == ["v" * 64]
    assert tokens.refresh_token == "bWRWa3-first"
    assert tokens.as_secrets()["granted_scope"] == SCOPE


def test_connect_yields_the_user_with_a_large_avatar(x):
    responses.add(responses.GET, ME_URL, json=me(verified=True))
    (connection,) = x.connections_from_tokens(tokens=TokenSet(access_token="t", scope=SCOPE))
    assert connection.profile.external_id == USER_ID
    assert connection.profile.username == "@XDevelopers"
    assert connection.profile.avatar_url == "https://pbs.twimg.com/profile_images/1/abc_400x400.jpg"
    assert connection.extra == {"verified": True}


def test_a_consent_without_media_write_is_refused_before_any_call(x):
    with pytest.raises(ConnectError, match=r"media\.write"):
        x.connections_from_tokens(tokens=TokenSet(access_token="t", scope="tweet.read tweet.write users.read"))
    assert not responses.calls


def test_a_stored_token_without_media_write_asks_for_a_reconnect_before_publishing(x):
    lacking = account(granted_scope="tweet.read tweet.write users.read offline.access")
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=lacking, request=PublishRequest(main=ContentPart("Hello")))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.AUTH, "media_write_missing")
    assert not responses.calls, "nothing may be sent with a token that will be refused"


def test_refresh_rotates_the_refresh_token(x):
    responses.add(responses.POST, TOKEN_URL, json=token(access_token="new-access", refresh_token="bWRWa3-2"))
    tokens = x.refresh(app=APP, account=account())
    sent = form_of(responses.calls[0])
    assert sent["grant_type"] == ["refresh_token"]
    assert sent["refresh_token"] == ["bWRWa3-first"]
    assert sent["client_id"] == ["client-123"]
    assert (tokens.access_token, tokens.refresh_token) == ("new-access", "bWRWa3-2")


def test_a_used_refresh_token_means_reconnect(x):
    responses.add(responses.POST, TOKEN_URL, json=BAD_REFRESH, status=400)
    with pytest.raises(ProviderError) as caught:
        x.refresh(app=APP, account=account())
    assert caught.value.error_class == ErrorClass.AUTH
    assert caught.value.message == "Value passed for the token was invalid."


def test_the_grant_stores_the_rotated_pair_in_one_update(team, monkeypatch):
    connection = Connection(
        profile=Profile(external_id=USER_ID, username="@XDevelopers"),
        secrets={"access_token": "old-access", "refresh_token": "bWRWa3-first", "granted_scope": SCOPE},
    )
    saved = services.account_save(workspace=team.workspace, platform="x", connection=connection, user=None)
    grant = saved.grant
    monkeypatch.setattr(services, "_app_for", lambda account, provider: APP)
    responses.add(responses.POST, TOKEN_URL, json=token(access_token="new-access", refresh_token="bWRWa3-2"))
    services.grant_refresh(grant_id=grant.pk)
    grant.refresh_from_db()
    assert (grant.secrets["access_token"], grant.secrets["refresh_token"]) == ("new-access", "bWRWa3-2")
    assert grant.expires_at is not None


# --- Text and options -------------------------------------------------------------------------


def test_text_is_counted_by_weight_and_verified_accounts_may_write_long_posts(x, settings):
    rules = x.text_rules(account=account())
    assert (rules.max_length, rules.counting) == (280, "x-weighted")
    assert text_length("日本 https://example.com/a/very/long/path", rules) == 4 + 1 + 23
    verified = AccountState(external_id=USER_ID, username="@v", secrets={}, extra={"verified": True})
    assert x.text_rules(account=verified).max_length == 25_000
    settings.X_VERIFIED_LONG_POSTS = False
    assert x.text_rules(account=verified).max_length == 280


def test_reply_settings_and_a_quoted_post_go_in_the_body(x):
    responses.add(responses.POST, TWEETS, json=created("9", "Look"), status=201)
    options = {"reply_settings": "following", "quote_url": "https://x.com/XDevelopers/status/1445880548472328192"}
    publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Look"), options=options))
    assert body_of(responses.calls[0]) == {"text": "Look", "reply_settings": "following",
                                           "quote_tweet_id": "1445880548472328192"}  # fmt: skip


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"quote_url": "https://example.com/status/1"}, "not a link to a post on X"),
        ({"reply_settings": "all"}, "reply"),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(x, options, words):
    with pytest.raises(ProviderError, match=words) as caught:
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Look"), options=options))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not responses.calls


def test_the_link_goes_in_the_main_post_text(x):
    responses.add(responses.POST, TWEETS, json=created("9", "Launch day! https://t.co/abc"), status=201)
    result = publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Launch day!"),
                                                                      link="https://example.com"))  # fmt: skip
    assert body_of(responses.calls[0])["text"] == "Launch day!\n\nhttps://example.com"
    assert result.main.url == "https://x.com/XDevelopers/status/9"


def test_a_thread_and_its_first_comment_reply_to_the_right_posts(x):
    ids = iter(["100", "101", "102"])
    responses.add_callback(responses.POST, TWEETS, callback=lambda r: (201, {}, json.dumps(created(next(ids), "t"))))
    request = PublishRequest(main=ContentPart("One"), replies=(ContentPart("Two"),), first_comment=ContentPart("C"))
    publish_all(x, account=account(), request=request)
    sent = [body_of(call).get("reply") for call in responses.calls]
    assert sent == [None, {"in_reply_to_tweet_id": "100"}, {"in_reply_to_tweet_id": "100"}]


# --- Media ------------------------------------------------------------------------------------


def test_four_images_with_alt_text(x):
    for media_id in ("m1", "m2", "m3", "m4"):
        responses.add(responses.POST, UPLOAD, json=image_uploaded(media_id))
    responses.add(responses.POST, METADATA, json={"data": {}})
    responses.add(responses.POST, TWEETS, json=created("9", "Four"), status=201)
    images = tuple(media(f"{n}.jpg", alt="A chart" if n == 2 else "") for n in range(4))
    publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Four", images)))
    uploads = calls("POST", UPLOAD)
    assert len(uploads) == 4
    assert multipart_fields(uploads[0])["media_category"] == b"tweet_image"
    (described,) = calls("POST", METADATA)
    assert body_of(described) == {"id": "m3", "metadata": {"alt_text": {"text": "A chart"}}}
    assert body_of(calls("POST", TWEETS)[0])["media"] == {"media_ids": ["m1", "m2", "m3", "m4"]}


@pytest.mark.parametrize(
    "items",
    [
        tuple(media(f"{n}.jpg") for n in range(5)),
        (media("clip.mp4", "video/mp4"), media("a.jpg")),
        (media("a.gif", "image/gif"), media("a.jpg")),
    ],
)
def test_too_many_or_mixed_media_are_refused(x, items):
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Too much", items)))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not responses.calls


def _mock_video_upload(*, finalize_state: str | None = "pending") -> None:
    responses.add(responses.POST, f"{UPLOAD}/initialize", json=initialized())
    responses.add(responses.POST, f"{UPLOAD}/{MEDIA_ID}/append", body="", status=204)
    responses.add(responses.POST, f"{UPLOAD}/{MEDIA_ID}/finalize", json=finalized(finalize_state))


def test_a_video_is_uploaded_in_segments_then_awaited_then_posted(x, settings):
    settings.X_UPLOAD_CHUNK_BYTES = 4
    _mock_video_upload()
    responses.add(responses.GET, UPLOAD, json=status("in_progress"))
    responses.add(responses.GET, UPLOAD, json=status("succeeded"))
    responses.add(responses.POST, TWEETS, json=created("9", "Clip"), status=201)
    clip = media("clip.mp4", "video/mp4", b"0123456789")
    request = PublishRequest(main=ContentPart("Clip", (clip,)))
    uploads = MemoryUploads()
    first = x.publish_part(account=account(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert isinstance(first, Pending)
    assert first.check_in_s == 1
    assert body_of(calls("POST", f"{UPLOAD}/initialize")[0]) == {"media_type": "video/mp4", "total_bytes": 10,
                                                                  "media_category": "tweet_video"}  # fmt: skip
    segments = [multipart_fields(c) for c in calls("POST", f"{UPLOAD}/{MEDIA_ID}/append")]
    assert [(s["segment_index"], s["media"]) for s in segments] == [(b"0", b"0123"), (b"1", b"4567"), (b"2", b"89")]
    second = x.publish_part(account=account(), request=request,
                            part=part_request(request, 0, [], uploads=uploads, state=first.state))  # fmt: skip
    assert isinstance(second, Pending)
    assert second.check_in_s == 5
    third = x.publish_part(account=account(), request=request,
                           part=part_request(request, 0, [], uploads=uploads, state=second.state))  # fmt: skip
    assert third.platform_post_id == "9"
    assert len(calls("POST", f"{UPLOAD}/initialize")) == 1, "a check must never start the upload again"
    status_query = parse_qs(urlsplit(calls("GET", UPLOAD)[0].request.url).query)
    assert status_query == {"command": ["STATUS"], "media_id": [MEDIA_ID]}
    assert body_of(calls("POST", TWEETS)[0])["media"] == {"media_ids": [MEDIA_ID]}


def test_an_interrupted_upload_resumes_at_the_next_segment(x, settings):
    settings.X_UPLOAD_CHUNK_BYTES = 4
    _mock_video_upload(finalize_state=None)
    responses.add(responses.POST, TWEETS, json=created("9", "Clip"), status=201)
    clip = media("clip.mp4", "video/mp4", b"0123456789")
    uploads = MemoryUploads()
    uploads.save(f"media:0:clip.mp4:{clip.size}", {"media_id": MEDIA_ID, "expires_at": time.time() + 600, "segment": 2})
    request = PublishRequest(main=ContentPart("Clip", (clip,)))
    item = x.publish_part(account=account(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert item.platform_post_id == "9"
    assert not calls("POST", f"{UPLOAD}/initialize")
    (segment,) = [multipart_fields(c) for c in calls("POST", f"{UPLOAD}/{MEDIA_ID}/append")]
    assert (segment["segment_index"], segment["media"]) == (b"2", b"89")


def test_a_gif_goes_through_the_chunked_upload_as_a_gif(x):
    _mock_video_upload(finalize_state="succeeded")
    responses.add(responses.POST, TWEETS, json=created("9", "Gif"), status=201)
    publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Gif", (media("a.gif", "image/gif"),))))
    assert body_of(calls("POST", f"{UPLOAD}/initialize")[0])["media_category"] == "tweet_gif"


def test_media_x_could_not_process_fails_with_its_words(x):
    _mock_video_upload()
    error = {"code": 1, "name": "InvalidMedia", "message": "Invalid or Unsupported media"}
    responses.add(responses.GET, UPLOAD, json=status("failed", error=error))
    request = PublishRequest(main=ContentPart("Clip", (media("clip.mp4", "video/mp4"),)))
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(), request=request)
    assert (caught.value.error_class, caught.value.message) == (ErrorClass.CONTENT, "Invalid or Unsupported media")
    assert not calls("POST", TWEETS)


def test_an_upload_refused_for_want_of_media_write_asks_for_a_reconnect(x):
    problem(responses.POST, UPLOAD, {"title": "Forbidden", "detail": "Forbidden", "status": 403}, 403)()
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(granted_scope=""), request=PublishRequest(main=ContentPart("A", (media(),))))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.AUTH, "media_write_missing")


# --- Errors and pacing ------------------------------------------------------------------------


def test_duplicate_content_is_content_with_xs_words(x):
    problem(responses.POST, TWEETS, DUPLICATE, 403)()
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Again")))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert caught.value.message == "You are not allowed to create a Tweet with duplicate content."


def test_invalid_request_keeps_each_parameters_message(x):
    problem(responses.POST, TWEETS, INVALID, 400)()
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Bad")))
    assert caught.value.message == "One or more parameters to your request was invalid. Your media IDs are invalid."


def test_a_429_waits_for_the_windows_reset(x):
    reset = int(time.time()) + 600
    problem(responses.POST, TWEETS, TOO_MANY, 429, {"x-rate-limit-remaining": "3", "x-rate-limit-reset": str(reset)})()
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Hi")))
    assert caught.value.error_class == ErrorClass.RATE
    assert 590 <= caught.value.retry_after <= 600


def test_the_monthly_cap_waits_as_long_as_the_setting_says(x, settings):
    settings.X_USAGE_CAP_WAIT_SECONDS = 7200
    problem(responses.POST, TWEETS, USAGE_CAPPED, 429)()
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Hi")))
    assert (caught.value.code, caught.value.retry_after) == ("usage_capped", 7200)


def test_a_spent_window_holds_the_next_create_until_its_reset(x):
    reset = int(time.time()) + 300
    headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    responses.add(responses.POST, TWEETS, json=created("9", "One"), status=201, headers=headers)
    publish_all(x, account=account(), request=PublishRequest(main=ContentPart("One")))
    request = PublishRequest(main=ContentPart("Two"))
    answer = x.publish_part(account=account(), request=request, part=part_request(request, 0, []))
    assert isinstance(answer, Pending)
    assert 290 <= answer.check_in_s <= 300
    assert len(calls("POST", TWEETS)) == 1, "no create is sent into a spent window"


def test_the_apps_daily_cap_holds_creates_too(x):
    reset = int(time.time()) + 3600
    headers = {"x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": str(reset)}
    responses.add(responses.GET, ME_URL, json=me(), headers=headers)
    x.check(app=APP, account=account())
    request = PublishRequest(main=ContentPart("Two"))
    assert isinstance(x.publish_part(account=account(), request=request, part=part_request(request, 0, [])), Pending)


@pytest.mark.parametrize(("status_code", "unknown"), [(503, False), (504, True)])
def test_a_server_error_on_create_is_transient_and_a_gateway_timeout_is_in_doubt(x, status_code, unknown):
    problem(responses.POST, TWEETS, UNAVAILABLE, status_code)()
    with pytest.raises(ProviderError) as caught:
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Hi")))
    assert (caught.value.error_class, caught.value.outcome_unknown) == (ErrorClass.TRANSIENT, unknown)


# --- Reconciliation, deletion, metrics --------------------------------------------------------


def test_find_part_matches_our_text_after_x_shortened_its_link(x):
    posts = [
        {"id": "7", "text": "Launch & more https://t.co/abc", "created_at": "2026-12-01T10:00:00.000Z",
         "referenced_tweets": [{"type": "replied_to", "id": "5"}]},
        {"id": "6", "text": "Launch &amp; more https://t.co/abc", "created_at": "2026-12-01T10:00:00.000Z"},
    ]  # fmt: skip
    responses.add(responses.GET, TIMELINE, json={"data": posts, "meta": {"result_count": 2}})
    request = PublishRequest(main=ContentPart("Launch & more"), link="https://example.com/launch")
    found = x.find_part(account=account(), request=request, part=part_request(request, 0, []))
    assert found is not None
    assert found.platform_post_id == "6"
    assert found.url == "https://x.com/XDevelopers/status/6"


def test_find_part_finds_nothing_when_nothing_landed(x):
    responses.add(responses.GET, TIMELINE, json={"meta": {"result_count": 0}})
    request = PublishRequest(main=ContentPart("Never sent"))
    assert x.find_part(account=account(), request=request, part=part_request(request, 0, [])) is None


def test_deleting_a_post_already_gone_is_done(x):
    problem(responses.DELETE, f"{TWEETS}/9", {"title": "Not Found Error", "detail": "Not found", "status": 404}, 404)()
    x.delete(account=account(), platform_post_id="9")


def test_metrics_leave_out_a_deleted_post(x):
    gone = {"value": "2", "detail": "Could not find tweet with ids: [2].", "title": "Not Found Error"}
    answer = {"data": [{"id": "1", "text": "a", "public_metrics": {"like_count": 2}}], "errors": [gone]}
    responses.add(responses.GET, TWEETS, json=answer)
    metrics = x.fetch_metrics(account=account(), platform_post_ids=["1", "2"])
    assert list(metrics) == ["1"]
    assert metrics["1"].likes == 2
    assert metrics["1"].impressions is None


# --- Importing and account totals ---------------------------------------------------------------


def test_imported_posts_keep_text_media_and_the_users_own_threads(x):
    mock_own_posts()
    reply, first = x.list_posts(account=account()).items
    assert first.text == "1/ Our launch, in a thread https://t.co/abc"
    assert first.url == "https://x.com/XDevelopers/status/1851000000000000320"
    assert first.published_at.isoformat() == "2026-11-20T09:00:00+00:00"
    assert [(m.url, m.alt_text, m.kind) for m in first.media] == [
        ("https://pbs.twimg.com/media/GaBcDeFgHiJ.jpg", "The launch chart", "image")
    ]
    assert (first.reply_to, first.thread_root) == ("", "")
    assert reply.text == "2/ and the numbers & the chart"  # X's entities decoded
    assert (reply.reply_to, reply.thread_root) == ("1851000000000000320", "1851000000000000320")
    (clip,) = x.list_posts(account=account(), cursor=OWN_POSTS_PAGE1["meta"]["next_token"]).items
    assert [(m.url, m.kind) for m in clip.media] == [
        ("https://pbs.twimg.com/ext_tw_video_thumb/1849/pu/img/clip.jpg", "video")
    ]


def test_a_user_without_posts_is_one_empty_last_page(x):
    responses.add(responses.GET, TIMELINE, json={"meta": {"result_count": 0}})
    page = x.list_posts(account=account())
    assert (page.items, page.next_cursor) == ((), "")


def test_a_rate_limited_import_page_waits_for_xs_reset(x):
    reset = int(time.time()) + 600
    problem(responses.GET, TIMELINE, TOO_MANY, 429, headers={"x-rate-limit-remaining": "0",
                                                            "x-rate-limit-reset": str(reset)})()  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        x.list_posts(account=account(), cursor="7140dibdnow9c7btw481sbgg3nuf6g3mf8ghvwd8o9xvb")
    assert caught.value.error_class == ErrorClass.RATE
    assert 590 < caught.value.retry_after <= 600


def test_a_malformed_post_list_is_transient(x):
    responses.add(responses.GET, TIMELINE, json={"data": [{"text": "no id"}], "meta": {"result_count": 1}})
    with pytest.raises(ProviderError) as caught:
        x.list_posts(account=account())
    assert caught.value.error_class == ErrorClass.TRANSIENT


def test_account_totals_of_another_user_are_refused(x):
    responses.add(responses.GET, ME_URL, json=me(id="999"))
    with pytest.raises(ProviderError) as caught:
        x.fetch_account_metrics(account=account())
    assert caught.value.error_class == ErrorClass.AUTH


def test_a_spent_window_on_reading_posts_does_not_hold_publishing(x):
    reset = int(time.time()) + 900
    headers = {"x-rate-limit-limit": "5", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    responses.add(responses.GET, TIMELINE, json=OWN_POSTS_PAGE1, headers=headers)
    x.list_posts(account=account())  # the timeline's own window is spent, not the create's
    responses.add(responses.POST, TWEETS, json=created("9", "Now"), status=201)
    assert (
        publish_all(x, account=account(), request=PublishRequest(main=ContentPart("Now"))).main.platform_post_id == "9"
    )
