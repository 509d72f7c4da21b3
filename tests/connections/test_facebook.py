"""Facebook Pages against recorded Graph API answers (platforms-meta.md sections 1 and 2)."""

import io
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from connections.errors import ConnectError, ErrorClass, ProviderError
from connections.providers.base import AccountMetrics, ContentPart, MediaItem, Pending, PostMetrics, PublishRequest
from connections.providers.meta import login
from connections.providers.meta.facebook import PAGE_METRICS
from connections.providers.meta.graph import appsecret_proof, classify, hold_seconds, usage_of
from connections.registry import get_provider
from tests.connections.contract import APP, ProviderContract, ThreadPlatform
from tests.connections.meta_graph import (
    APP_SECRET,
    GRAPH,
    IG_ID,
    NOW_GRAPH,
    PAGE_2_ID,
    PAGE_ID,
    PAGE_TOKEN,
    USER_LONG,
    ThreadGraph,
    error,
    form,
    metric_matcher,
    mock_consent,
    mock_listing,
    page_account,
    series,
)
from tests.connections.publishing import part_request, publish_all

REDIRECT = "https://postwright.example/connections/callback/facebook/"


@pytest.fixture(autouse=True)
def _fresh_usage():
    cache.clear()  # pacing remembers usage between calls; tests must not inherit it
    yield
    cache.clear()


def check_fails(body: dict, status: int = 400, headers: dict | None = None):
    return lambda: responses.add(responses.GET, f"{GRAPH}/{PAGE_ID}", json=body, status=status, headers=headers)


def mock_published_posts(headers: dict | None = None) -> None:
    mock_listing(f"{GRAPH}/{PAGE_ID}/published_posts", "facebook/published_posts_page1",
                 "facebook/published_posts_page2", after="QVFIUjRfcE5uV3dNdUFjZAw",
                 fields="id,message,created_time,permalink_url,full_picture", headers=headers)  # fmt: skip


class TestFacebookProvider(ProviderContract):
    provider_id = "facebook"

    def connect(self):
        mock_consent()
        provider = get_provider("facebook")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self):
        return page_account()

    def mock_check(self):
        responses.add(
            responses.GET,
            f"{GRAPH}/{PAGE_ID}",
            json={"id": PAGE_ID, "name": "Cute Kitten Page", "username": "cutekitten"},
        )

    def error_cases(self):
        return [
            ("token expired", check_fails(error(190, 463, "Error validating access token")), ErrorClass.AUTH),
            ("password changed", check_fails(error(190, 460, "Session invalidated")), ErrorClass.AUTH),
            ("no role", check_fails(error(190, 492, "Invalid session")), ErrorClass.AUTH),
            ("permission", check_fails(error(200, message="Permissions error"), 403), ErrorClass.AUTH),
            ("app limit", check_fails(error(4, message="Application request limit reached")), ErrorClass.RATE),
            ("user limit", check_fails(error(17, message="User request limit reached")), ErrorClass.RATE),
            ("page limit", check_fails(error(32, message="(#32) Page request limit reached")), ErrorClass.RATE),
            (
                "custom",
                check_fails(error(613, 1996, "Calls to this api have exceeded the rate limit.")),
                ErrorClass.RATE,
            ),
            (
                "BUC",
                check_fails(error(80001, message="There have been too many calls to this Page account.")),
                ErrorClass.RATE,
            ),
            ("unknown", check_fails(error(1, message="An unknown error occurred"), 500), ErrorClass.TRANSIENT),
            ("service", check_fails(error(2, message="Service temporarily unavailable"), 503), ErrorClass.TRANSIENT),
            ("transient flag", check_fails(error(9999, message="Try later", is_transient=True)), ErrorClass.TRANSIENT),
            (
                "bad parameter",
                check_fails(error(100, message="Invalid parameter", user_msg="Fix it")),
                ErrorClass.CONTENT,
            ),
            (
                "blocked",
                check_fails(error(368, message="Temporarily blocked", user_msg="You're blocked")),
                ErrorClass.CONTENT,
            ),
            (
                "html 502",
                lambda: responses.add(responses.GET, f"{GRAPH}/{PAGE_ID}", body="<html>", status=502),
                ErrorClass.TRANSIENT,
            ),
        ]

    def mock_publish_text(self):
        responses.add(
            responses.POST,
            f"{GRAPH}/{PAGE_ID}/feed",
            json={"id": f"{PAGE_ID}_555", "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/555"},
        )
        return f"{PAGE_ID}_555"

    def mock_list_posts(self):
        mock_published_posts()
        return [f"{PAGE_ID}_1002", f"{PAGE_ID}_1001"], [f"{PAGE_ID}_0999"]

    def mock_delete(self):
        responses.add(responses.DELETE, f"{GRAPH}/{PAGE_ID}_555", json={"success": True})
        return f"{PAGE_ID}_555", lambda: [c.request.method for c in responses.calls] == ["DELETE"]

    def mock_account_metrics(self):
        metrics = ",".join(PAGE_METRICS)
        responses.add(
            responses.GET,
            f"{GRAPH}/{PAGE_ID}/insights",
            json={
                "data": [
                    series(PAGE_ID, "page_follows", 1198, 1203),
                    # Broken down by source: values come back as objects, added up.
                    series(PAGE_ID, "page_media_view", {"is_from_ads": 5, "is_from_followers": 300},
                           {"is_from_ads": 10, "is_from_followers": 410}),
                    series(PAGE_ID, "page_total_media_view_unique", 260, 290),
                    series(PAGE_ID, "page_post_engagements", 31, 44),
                    series(PAGE_ID, "page_daily_follows_unique", 4, 6),
                ],
                "paging": {"previous": "https://graph.facebook.com/...", "next": "https://graph.facebook.com/..."},
            },
            match=[metric_matcher(metrics, period="day")],
        )  # fmt: skip
        extra = {"page_total_media_view_unique": 290, "page_post_engagements": 44, "page_daily_follows_unique": 6}
        return AccountMetrics(followers=1203, views=420, extra=extra)

    def mock_metrics(self):
        responses.add(
            responses.GET,
            f"{GRAPH}/{PAGE_ID}_555/insights",
            json={
                "data": [
                    {
                        "name": "post_total_media_view_unique",
                        "period": "lifetime",
                        "values": [{"value": 321}],
                        "title": "Viewers",
                        "description": "...",
                        "id": f"{PAGE_ID}_555/insights/post_total_media_view_unique/lifetime",
                    },
                    {
                        "name": "post_reactions_by_type_total",
                        "period": "lifetime",
                        "values": [{"value": {"like": 10, "love": 2}}],
                        "title": "Reactions",
                        "description": "...",
                        "id": f"{PAGE_ID}_555/insights/post_reactions_by_type_total/lifetime",
                    },
                    {
                        "name": "post_clicks",
                        "period": "lifetime",
                        "values": [{"value": 7}],
                        "title": "Clicks",
                        "description": "...",
                        "id": f"{PAGE_ID}_555/insights/post_clicks/lifetime",
                    },
                ],
                "paging": {"cursors": {}},
            },
            match=[
                responses.matchers.query_param_matcher(
                    {"metric": "post_total_media_view_unique,post_reactions_by_type_total,post_clicks"},
                    strict_match=False,
                )
            ],
        )
        return f"{PAGE_ID}_555", PostMetrics(likes=12, impressions=321, extra={"clicks": 7})

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        graph = ThreadGraph(platform, owner=PAGE_ID, author_name="cutekitten")

        def feed(request):
            fields = parse_qs(request.body)
            return graph.create(fields["message"][0], None, id_=f"{PAGE_ID}_{len(platform.posts) + 1}")

        responses.add_callback(responses.POST, f"{GRAPH}/{PAGE_ID}/feed", callback=feed)
        responses.add_callback(
            responses.GET, f"{GRAPH}/{PAGE_ID}/published_posts", callback=lambda r: graph.listed(None, ig=False)
        )
        graph.install_comments(ig=False)


# --- Connect ------------------------------------------------------------------------------------


def test_one_consent_yields_two_pages_and_their_instagram_account_with_page_tokens(db):
    mock_consent()
    provider = get_provider("facebook")
    tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
    found = provider.connections_from_tokens(tokens=tokens)
    assert [(c.platform, c.profile.external_id) for c in found] == [
        ("facebook", PAGE_ID),
        ("instagram", IG_ID),
        ("facebook", PAGE_2_ID),
    ]
    page, insta, second = found
    proof = appsecret_proof(APP_SECRET, USER_LONG)
    assert all(c.secrets == {"user_access_token": USER_LONG, "user_appsecret_proof": proof} for c in found)
    assert page.account_secrets == {
        "access_token": PAGE_TOKEN,
        "appsecret_proof": appsecret_proof(APP_SECRET, PAGE_TOKEN),
    }
    assert insta.account_secrets == page.account_secrets, "Instagram publishes with its Page's token"
    assert second.account_secrets["access_token"] == "EAABpage2"
    assert (insta.profile.username, insta.extra["page_id"]) == ("@kitten", PAGE_ID)
    assert page.extra["data_access_expires_at"].startswith("2026-09-21")  # from debug_token
    assert page.expires_at is not None
    assert page.expires_at.year == 2026
    assert not any(c.unavailable for c in found)
    assert all(c.extra["declined_scopes"] == ["read_insights"] for c in found)
    short = responses.calls[0].request.url
    assert "code=c0de" in short
    assert "client_secret=" in short
    assert "fb_exchange_token=EAAshort" in responses.calls[1].request.url
    first_page, second_page = [c for c in responses.calls if "me/accounts" in c.request.url]
    assert form(first_page)["appsecret_proof"] == proof
    assert parse_qs(urlsplit(second_page.request.url).query)["access_token"] == [USER_LONG], "the token once"
    assert parse_qs(urlsplit(second_page.request.url).query)["after"] == ["MTM1"]


def test_a_page_without_publishing_tasks_is_shown_but_not_choosable_with_its_instagram(db):
    pages = [
        {
            "access_token": "EAABp",
            "name": "Analyst Page",
            "id": "999",
            "tasks": ["ANALYZE"],
            "instagram_business_account": {"id": "1784", "username": "watcher"},
        }
    ]
    mock_consent(pages=pages)
    provider = get_provider("facebook")
    found = provider.connections_from_tokens(
        tokens=provider.exchange_code(app=APP, code="c", redirect_uri=REDIRECT, code_verifier=None)
    )
    assert [c.unavailable for c in found] == ["your role on this Page does not allow creating content"] * 2


def test_declined_instagram_permission_is_named_on_the_instagram_account_only(db):
    mock_consent(
        permissions={
            "pages_show_list": "granted",
            "pages_read_engagement": "granted",
            "pages_manage_posts": "granted",
            "instagram_basic": "granted",
            "instagram_content_publish": "declined",
        }
    )
    provider = get_provider("facebook")
    found = provider.connections_from_tokens(
        tokens=provider.exchange_code(app=APP, code="c", redirect_uri=REDIRECT, code_verifier=None)
    )
    reasons = {c.platform: c.unavailable for c in found if c.profile.external_id in (PAGE_ID, IG_ID)}
    assert reasons["facebook"] == ""
    assert "instagram_content_publish was not granted" in reasons["instagram"]


def test_declined_page_permission_stops_the_connection_naming_it(db):
    mock_consent(permissions={"pages_show_list": "granted", "pages_manage_posts": "declined"})
    provider = get_provider("facebook")
    tokens = provider.exchange_code(app=APP, code="c", redirect_uri=REDIRECT, code_verifier=None)
    with pytest.raises(ProviderError) as caught:
        provider.connections_from_tokens(tokens=tokens)
    assert "pages_manage_posts" in caught.value.message
    assert "pages_read_engagement" in caught.value.message


def test_the_consent_flow_selects_pages_and_instagram_into_one_grant(team, settings, monkeypatch):
    from connections import services
    from connections.models import ConnectSession

    settings.SITE_URL = "https://postwright.example"
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "facebook": ("client-123", APP_SECRET)}
    monkeypatch.setattr(login, "_resolve", lambda host: ["93.184.216.34"])
    admin = team.membership("admin")
    url = services.connect_start(actor=admin, provider=get_provider("facebook"))
    assert url.startswith("https://www.facebook.com/v25.0/dialog/oauth?client_id=client-123&")
    assert "auth_type=rerequest" in url
    assert "scope=pages_show_list%2C" in url
    state = parse_qs(urlsplit(url).query)["state"][0]
    pages = [
        *__import__("tests.connections.meta_graph", fromlist=["x"]).two_pages_one_instagram(),
        {"access_token": "EAABp", "name": "Analyst Page", "id": "999", "tasks": ["ANALYZE"]},
    ]
    mock_consent(pages=pages)
    session = services.connect_callback(
        user=admin.user, provider=get_provider("facebook"), params={"state": state, "code": "c0de"}
    )
    assert session.status == ConnectSession.Status.SELECTING
    choices = {c["external_id"]: c for c in services.pending_choices(session)}
    assert (choices[IG_ID]["platform_name"], choices["999"]["unavailable"] != "") == ("Instagram", True)
    accounts = services.connect_select(actor=admin, session=session, external_ids=[PAGE_ID, IG_ID, "999"])
    assert sorted(a.platform for a in accounts) == ["facebook", "instagram"], "the unavailable Page is not connected"
    page, insta = sorted(accounts, key=lambda a: a.platform)
    assert page.grant_id == insta.grant_id
    assert page.grant.secrets["user_access_token"] == USER_LONG
    assert page.state().secrets["access_token"] == PAGE_TOKEN, "the account's Page token wins over the user token"


@pytest.mark.parametrize(
    ("site", "addresses", "refused"),
    [
        ("http://postwright.example", ["93.184.216.34"], "public https://"),
        ("https://127.0.0.1:8000", [], "private or local address (127.0.0.1)"),
        ("https://postwright.lan", ["192.168.1.20"], "private or local address (192.168.1.20)"),
        ("https://postwright.example", [], "does not resolve"),
        ("https://postwright.example", ["93.184.216.34"], ""),
    ],
)
def test_site_url_must_be_public_https_for_meta_to_fetch_media(site, addresses, refused):
    problem = login.site_url_problem(site, resolve=lambda host: addresses)
    assert (refused in problem) if refused else problem == ""


def test_connecting_with_a_loopback_site_url_is_refused_before_the_consent_page(team, settings):
    from connections import services

    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "facebook": ("client-123", APP_SECRET)}
    with pytest.raises(ConnectError, match="Meta downloads each post's media"):
        services.connect_start(actor=team.membership("admin"), provider=get_provider("facebook"))


def test_login_for_business_sends_the_configuration_instead_of_scopes(settings):
    settings.META_LOGIN_CONFIG_ID = "cfg-42"
    url = login.dialog_url(app=APP, redirect_uri=REDIRECT, state="s", scopes=("pages_show_list",))
    query = parse_qs(urlsplit(url).query)
    assert query["config_id"] == ["cfg-42"]
    assert "scope" not in query


def test_a_lapsed_data_access_needs_a_reconnect_without_calling_meta(db):
    with pytest.raises(ProviderError) as caught:
        get_provider("facebook").check(
            app=APP, account=page_account(data_access_expires_at="2026-01-01T00:00:00+00:00")
        )
    assert caught.value.error_class == ErrorClass.AUTH
    assert "data access" in caught.value.message
    assert not responses.calls


# --- Errors and pacing ----------------------------------------------------------------------------


def _response(body: dict, status: int = 400, headers: dict | None = None):
    responses.add(responses.GET, f"{GRAPH}/x", json=body, status=status, headers=headers)
    import requests

    return requests.get(f"{GRAPH}/x", timeout=5)


def test_rate_errors_carry_metas_estimate_of_regaining_access(db):
    usage = {
        PAGE_ID: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 23,
                "total_time": 23,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }
    response = _response(
        error(80001, message="Too many calls"), headers={"x-business-use-case-usage": json.dumps(usage)}
    )
    found = classify(response)
    assert (found.error_class, found.retry_after, found.code) == (ErrorClass.RATE, 420, "80001")


def test_content_errors_keep_metas_user_message(db):
    found = classify(_response(error(100, 2207028, "Invalid", user_msg="Carousels need 2 to 10 items.")))
    assert (found.error_class, found.message, found.code) == (
        ErrorClass.CONTENT,
        "Carousels need 2 to 10 items.",
        "100/2207028",
    )


def test_usage_headers_are_read_as_percentages_per_budget(db):
    response = _response(
        {"id": "1"},
        200,
        headers={
            "x-app-usage": json.dumps({"call_count": 28, "total_time": 85, "total_cputime": 25}),
            "x-business-use-case-usage": json.dumps(
                {
                    PAGE_ID: [
                        {
                            "type": "pages",
                            "call_count": 97,
                            "total_cputime": 23,
                            "total_time": 23,
                            "estimated_time_to_regain_access": 0,
                        }
                    ]
                }
            ),
        },
    )
    usage = usage_of(response)
    assert usage.percents == {"app": 85.0, PAGE_ID: 97.0}
    assert usage.regain_s is None
    assert hold_seconds(79, None) == 0
    assert 30 <= hold_seconds(85, None) < hold_seconds(97, None) <= 600


def test_a_page_near_its_limit_is_paced_before_the_next_post(db):
    provider = get_provider("facebook")
    busy = {
        PAGE_ID: [
            {
                "type": "pages",
                "call_count": 95,
                "total_cputime": 10,
                "total_time": 10,
                "estimated_time_to_regain_access": 0,
            }
        ]
    }
    responses.add(
        responses.POST,
        f"{GRAPH}/{PAGE_ID}/feed",
        json={"id": f"{PAGE_ID}_1"},
        headers={"x-business-use-case-usage": json.dumps(busy)},
    )
    request = PublishRequest(main=ContentPart("First"))
    first = provider.publish_part(account=page_account(), request=request, part=part_request(request, 0, []))
    assert first.platform_post_id == f"{PAGE_ID}_1"
    second = provider.publish_part(account=page_account(), request=request, part=part_request(request, 0, []))
    assert isinstance(second, Pending)
    assert "95%" in second.reason
    assert second.check_in_s > 30
    assert len(responses.calls) == 1, "nothing is sent while paced"


# --- Publishing -----------------------------------------------------------------------------------


def image(name: str = "cat.jpg", url: str = "https://postwright.example/media/s/tok1/") -> MediaItem:
    return MediaItem(filename=name, mime_type="image/jpeg", size=10, open=lambda: io.BytesIO(b"x" * 10), public_url=url)


def video() -> MediaItem:
    return MediaItem(
        filename="clip.mp4",
        mime_type="video/mp4",
        size=10,
        open=lambda: io.BytesIO(b"x" * 10),
        public_url="https://postwright.example/media/s/vid/",
        kind="video",
    )


def test_a_link_post_sends_the_link_and_asks_for_the_permalink(db):
    responses.add(
        responses.POST,
        f"{GRAPH}/{PAGE_ID}/feed",
        json={"id": f"{PAGE_ID}_7", "permalink_url": "https://www.facebook.com/cutekitten/posts/7"},
    )
    request = PublishRequest(main=ContentPart("Read this"), link="https://example.com/a")
    result = publish_all(get_provider("facebook"), account=page_account(), request=request)
    assert result.main.url == "https://www.facebook.com/cutekitten/posts/7"
    sent = form(responses.calls[0])
    assert (sent["message"], sent["link"], sent["fields"]) == ("Read this", "https://example.com/a", "id,permalink_url")
    assert sent["access_token"] == PAGE_TOKEN
    assert sent["appsecret_proof"] == appsecret_proof(APP_SECRET, PAGE_TOKEN)


def test_one_photo_is_a_photo_post_pulled_from_our_signed_url(db):
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/photos", json={"id": "photo_1", "post_id": f"{PAGE_ID}_8"})
    request = PublishRequest(main=ContentPart("Cat", media=(image(),)))
    result = publish_all(get_provider("facebook"), account=page_account(), request=request)
    assert result.main.platform_post_id == f"{PAGE_ID}_8"
    assert form(responses.calls[0])["url"] == "https://postwright.example/media/s/tok1/"


def test_several_photos_are_one_post_of_unpublished_photos_uploaded_once(db):
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/photos", json={"id": "p1"})
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/photos", json={"id": "p2"})
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/feed", json=error(2, message="Service unavailable"), status=503)
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/feed", json={"id": f"{PAGE_ID}_9"})
    provider, account = get_provider("facebook"), page_account()
    request = PublishRequest(
        main=ContentPart("Two cats", media=(image("a.jpg"), image("b.jpg", "https://x.example/b")))
    )
    from connections.providers.base import MemoryUploads

    uploads = MemoryUploads()
    with pytest.raises(ProviderError) as caught:
        provider.publish_part(account=account, request=request, part=part_request(request, 0, [], uploads=uploads))
    assert caught.value.error_class == ErrorClass.TRANSIENT
    landed = provider.publish_part(account=account, request=request, part=part_request(request, 0, [], uploads=uploads))
    assert landed.platform_post_id == f"{PAGE_ID}_9"
    photos = [form(c) for c in responses.calls if c.request.url.endswith("/photos")]
    assert [(p["published"], p["url"]) for p in photos] == [
        ("false", "https://postwright.example/media/s/tok1/"),
        ("false", "https://x.example/b"),
    ], "uploaded once each"
    feed = form(responses.calls[-1])
    assert (json.loads(feed["attached_media[0]"]), json.loads(feed["attached_media[1]"])) == (
        {"media_fbid": "p1"},
        {"media_fbid": "p2"},
    )


def test_a_video_waits_as_pending_while_facebook_processes_it(db):
    provider, account = get_provider("facebook"), page_account()
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/videos", json={"id": "vid_1"})
    request = PublishRequest(main=ContentPart("Watch", media=(video(),)))
    first = provider.publish_part(account=account, request=request, part=part_request(request, 0, []))
    assert isinstance(first, Pending)
    assert first.state["video_id"] == "vid_1"
    assert form(responses.calls[0])["file_url"] == "https://postwright.example/media/s/vid/"
    responses.add(responses.GET, f"{GRAPH}/vid_1", json={"status": {"video_status": "processing"}, "id": "vid_1"})
    second = provider.publish_part(
        account=account, request=request, part=part_request(request, 0, [], state=first.state)
    )
    assert isinstance(second, Pending)
    assert second.state["checks"] == 2
    responses.replace(
        responses.GET,
        f"{GRAPH}/vid_1",
        json={"status": {"video_status": "ready"}, "id": "vid_1", "permalink_url": "/cutekitten/videos/vid_1/"},
    )
    done = provider.publish_part(
        account=account, request=request, part=part_request(request, 0, [], state=second.state)
    )
    assert (done.platform_post_id, done.url) == ("vid_1", "https://www.facebook.com/cutekitten/videos/vid_1/")
    assert sum(c.request.method == "POST" for c in responses.calls) == 1, "the video is created once"


def test_a_video_facebook_cannot_process_fails_with_the_reason(db):
    responses.add(responses.GET, f"{GRAPH}/vid_1", json={"status": {"video_status": "error"}, "id": "vid_1"})
    request = PublishRequest(main=ContentPart("Watch", media=(video(),)))
    with pytest.raises(ProviderError) as caught:
        get_provider("facebook").publish_part(
            account=page_account(), request=request, part=part_request(request, 0, [], state={"video_id": "vid_1"})
        )
    assert caught.value.error_class == ErrorClass.CONTENT
    assert "could not process" in caught.value.message


def test_the_first_comment_answers_the_post(db):
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/feed", json={"id": f"{PAGE_ID}_5"})
    responses.add(
        responses.POST,
        f"{GRAPH}/{PAGE_ID}_5/comments",
        json={"id": f"{PAGE_ID}_5_77", "permalink_url": "https://www.facebook.com/c/77"},
    )
    request = PublishRequest(main=ContentPart("Post"), first_comment=ContentPart("More in the comments"))
    result = publish_all(get_provider("facebook"), account=page_account(), request=request)
    assert (result.first_comment.platform_post_id, result.first_comment.url) == (
        f"{PAGE_ID}_5_77",
        "https://www.facebook.com/c/77",
    )


def test_a_lost_post_is_found_among_the_pages_recent_published_posts_by_text(db):
    responses.add(
        responses.GET,
        f"{GRAPH}/{PAGE_ID}/published_posts",
        json={
            "data": [
                {"id": f"{PAGE_ID}_1", "message": "Hello", "created_time": "2020-01-01T00:00:00+0000"},
                {"id": f"{PAGE_ID}_2", "message": "Other", "created_time": NOW_GRAPH},
                {
                    "id": f"{PAGE_ID}_3",
                    "message": "Hello",
                    "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
                },
            ],
            "paging": {"cursors": {}},
        },
    )
    request = PublishRequest(main=ContentPart("Hello"))
    found = get_provider("facebook").find_part(
        account=page_account(), request=request, part=part_request(request, 0, [])
    )
    assert found is not None
    assert found.platform_post_id == f"{PAGE_ID}_3", "the old identical post is not ours"


def test_deleting_a_post_that_is_already_gone_is_done(db):
    responses.add(responses.DELETE, f"{GRAPH}/{PAGE_ID}_1", json=error(100, 33, "Object does not exist"), status=400)
    get_provider("facebook").delete(account=page_account(), platform_post_id=f"{PAGE_ID}_1")


def test_a_post_without_insights_yet_is_left_out_not_counted_as_zero(db):
    responses.add(responses.GET, f"{GRAPH}/{PAGE_ID}_1/insights", json={"data": [], "paging": {"cursors": {}}})
    responses.add(
        responses.GET, f"{GRAPH}/{PAGE_ID}_2/insights", json=error(100, 33, "Object does not exist"), status=400
    )
    found = get_provider("facebook").fetch_metrics(
        account=page_account(), platform_post_ids=[f"{PAGE_ID}_1", f"{PAGE_ID}_2"]
    )
    assert found == {}


def test_a_removed_metric_is_an_error_not_silence(db):
    responses.add(responses.GET, f"{GRAPH}/{PAGE_ID}_1/insights", json=error(100, message="Invalid metric"), status=400)
    with pytest.raises(ProviderError):
        get_provider("facebook").fetch_metrics(account=page_account(), platform_post_ids=[f"{PAGE_ID}_1"])


def test_the_selection_page_shows_an_unchoosable_page_with_its_reason(team, settings, monkeypatch):
    from django.urls import reverse

    from connections.models import SocialAccount
    from tests.connections.meta_graph import two_pages_one_instagram

    settings.SITE_URL = "https://postwright.example"
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "facebook": ("client-123", APP_SECRET)}
    monkeypatch.setattr(login, "_resolve", lambda host: ["93.184.216.34"])
    client = team.client("admin")
    started = client.post(reverse("connect", args=["facebook"]))
    assert started.url.startswith("https://www.facebook.com/v25.0/dialog/oauth?")
    state = parse_qs(urlsplit(started.url).query)["state"][0]
    analyst = {"access_token": "EAABanalyst", "name": "Analyst Page", "id": "999", "tasks": ["ANALYZE"]}
    mock_consent(pages=[*two_pages_one_instagram(), analyst])
    selection = client.get(reverse("connect_callback", args=["facebook"]), {"code": "c", "state": state}).url
    page = client.get(selection).content.decode()
    assert 'value="999" disabled' in page
    assert "Cannot be connected: your role on this Page does not allow creating content" in page
    assert "Instagram · @kitten" in page
    assert "EAAB" not in page, "no token reaches the browser"
    client.post(selection, {"account": ["999", IG_ID]})
    assert list(SocialAccount.objects.values_list("platform", "external_id")) == [("instagram", IG_ID)]


# --- A login that cannot be refreshed -------------------------------------------------------------


def test_admins_hear_a_week_before_a_facebook_login_lapses_then_it_needs_a_reconnect(
    team, time_machine, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.core import mail
    from django.utils import timezone

    from accounts.models import Notification
    from connections.models import Grant, SocialAccount
    from connections.services import warn_expiring_consents

    time_machine.move_to(timezone.now(), tick=False)
    grant = Grant.objects.create(
        workspace=team.workspace,
        platform="facebook",
        secrets={"user_access_token": "u"},
        expires_at=timezone.now() + timedelta(days=10),
    )
    for external_id, platform in ((PAGE_ID, "facebook"), (IG_ID, "instagram")):
        SocialAccount.objects.create(
            workspace=team.workspace, platform=platform, external_id=external_id, username=external_id, grant=grant
        )
    refreshable = Grant.objects.create(
        workspace=team.workspace,
        platform="oauth2-test",
        secrets={"access_token": "a"},
        expires_at=timezone.now() + timedelta(days=1),
    )
    SocialAccount.objects.create(
        workspace=team.workspace, platform="oauth2-test", external_id="x", username="x", grant=refreshable
    )
    assert warn_expiring_consents() == {"warned": 0, "lapsed": 0}, "ten days out: not yet; refreshable: never"
    time_machine.shift(timedelta(days=4))
    with django_capture_on_commit_callbacks(execute=True):
        assert warn_expiring_consents() == {"warned": 1, "lapsed": 0}
    (email,) = mail.outbox
    assert "must be reconnected by" in email.subject
    assert sorted(email.to) == sorted([team.users["owner"].email, team.users["admin"].email])
    assert warn_expiring_consents() == {"warned": 0, "lapsed": 0}, "once, not every hour"
    (title,) = set(Notification.objects.values_list("title", flat=True))
    assert title.startswith("Facebook Pages login of 1234567890 and 1 other account must be reconnected by ")
    assert Notification.objects.count() == 2  # the owner and the admin
    time_machine.shift(timedelta(days=7))
    assert warn_expiring_consents() == {"warned": 0, "lapsed": 1}
    assert set(SocialAccount.objects.filter(grant=grant).values_list("status", flat=True)) == {"needs_reconnect"}
    assert SocialAccount.objects.get(external_id="x").status == "active"


# --- Reels and photo Stories ----------------------------------------------------------------------

RUPLOAD = "https://rupload.facebook.com/video-upload/v25.0/reel_1"


def reel_status(uploading: str, publishing: str = "not_started", video_status: str = "processing") -> dict:
    return {
        "id": "reel_1",
        "status": {
            "video_status": video_status,
            "uploading_phase": {"status": uploading},
            "processing_phase": {"status": "not_started"},
            "publishing_phase": {"status": publishing},
        },
    }


def test_a_reel_is_started_fetched_from_our_url_polled_then_finished_once(db):
    provider, account = get_provider("facebook"), page_account()
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/video_reels", json={"video_id": "reel_1", "upload_url": RUPLOAD})
    responses.add(responses.POST, RUPLOAD, json={"success": True})
    request = PublishRequest(main=ContentPart("New reel", media=(video(),)), options={"format": "reel"})
    first = provider.publish_part(account=account, request=request, part=part_request(request, 0, []))
    assert isinstance(first, Pending)
    assert first.state["reel_id"] == "reel_1"
    upload = next(c for c in responses.calls if c.request.url == RUPLOAD)
    assert upload.request.headers["file_url"] == "https://postwright.example/media/s/vid/"
    assert upload.request.headers["Authorization"] == f"OAuth {PAGE_TOKEN}"
    responses.add(responses.GET, f"{GRAPH}/reel_1", json=reel_status("in_progress"))
    second = provider.publish_part(
        account=account, request=request, part=part_request(request, 0, [], state=first.state)
    )
    assert isinstance(second, Pending)
    responses.replace(responses.GET, f"{GRAPH}/reel_1", json=reel_status("completed"))
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/video_reels", json={"success": True})
    done = provider.publish_part(
        account=account, request=request, part=part_request(request, 0, [], state=second.state)
    )
    assert (done.platform_post_id, done.url) == ("reel_1", "https://www.facebook.com/reel/reel_1")
    finish = form(responses.calls[-1])
    assert (finish["upload_phase"], finish["video_state"], finish["video_id"], finish["description"]) == (
        "finish",
        "PUBLISHED",
        "reel_1",
        "New reel",
    )


def test_a_reel_whose_finish_answer_was_lost_is_found_by_its_publishing_phase(db):
    request = PublishRequest(main=ContentPart("New reel", media=(video(),)), options={"format": "reel"})
    responses.add(responses.GET, f"{GRAPH}/reel_1", json=reel_status("completed", publishing="in_progress"))
    found = get_provider("facebook").find_part(
        account=page_account(), request=request, part=part_request(request, 0, [], state={"reel_id": "reel_1"})
    )
    assert found is not None
    assert found.url == "https://www.facebook.com/reel/reel_1"


def test_a_reel_upload_url_elsewhere_is_never_sent_the_token(db):
    responses.add(
        responses.POST,
        f"{GRAPH}/{PAGE_ID}/video_reels",
        json={"video_id": "reel_1", "upload_url": "https://evil.example/upload"},
    )
    request = PublishRequest(main=ContentPart("New reel", media=(video(),)), options={"format": "reel"})
    with pytest.raises(ProviderError):
        get_provider("facebook").publish_part(
            account=page_account(), request=request, part=part_request(request, 0, [])
        )
    assert len(responses.calls) == 1


def test_a_photo_story_is_an_unpublished_photo_then_the_story(db):
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/photos", json={"id": "ph_1"})
    responses.add(responses.POST, f"{GRAPH}/{PAGE_ID}/photo_stories", json={"success": True, "post_id": "st_1"})
    request = PublishRequest(main=ContentPart("", media=(image(),)), options={"format": "story"})
    result = publish_all(get_provider("facebook"), account=page_account(), request=request)
    assert result.main.platform_post_id == "st_1"
    assert (form(responses.calls[0])["published"], form(responses.calls[1])["photo_id"]) == ("false", "ph_1")


def test_a_story_in_doubt_asks_the_author_rather_than_posting_again(db):
    request = PublishRequest(main=ContentPart("", media=(image(),)), options={"format": "story"})
    with pytest.raises(ProviderError) as caught:
        get_provider("facebook").find_part(account=page_account(), request=request, part=part_request(request, 0, []))
    assert not caught.value.retryable


STORY_RUPLOAD = "https://rupload.facebook.com/video-upload/v25.0/story_1"


def test_a_video_story_is_started_fetched_from_our_url_polled_then_finished_once(db):
    provider, account = get_provider("facebook"), page_account()
    stories = f"{GRAPH}/{PAGE_ID}/video_stories"
    responses.add(responses.POST, stories, json={"video_id": "story_1", "upload_url": STORY_RUPLOAD})
    responses.add(responses.POST, STORY_RUPLOAD, json={"success": True, "message": "Upload successful."})
    request = PublishRequest(main=ContentPart("", media=(video(),)), options={"format": "story"})
    first = provider.publish_part(account=account, request=request, part=part_request(request, 0, []))
    assert isinstance(first, Pending)
    assert first.state["story_video_id"] == "story_1"
    assert form(responses.calls[0])["upload_phase"] == "start"
    upload = next(c for c in responses.calls if c.request.url == STORY_RUPLOAD)
    assert upload.request.headers["file_url"] == "https://postwright.example/media/s/vid/"
    assert upload.request.headers["Authorization"] == f"OAuth {PAGE_TOKEN}"
    responses.add(responses.GET, f"{GRAPH}/story_1", json={**reel_status("in_progress"), "id": "story_1"})
    second = provider.publish_part(
        account=account, request=request, part=part_request(request, 0, [], state=first.state)
    )
    assert isinstance(second, Pending)
    assert "fetching the Story video" in second.reason
    responses.replace(responses.GET, f"{GRAPH}/story_1", json={**reel_status("completed"), "id": "story_1"})
    responses.add(responses.POST, stories, json={"success": True, "post_id": f"{PAGE_ID}_st2"})
    done = provider.publish_part(
        account=account, request=request, part=part_request(request, 0, [], state=second.state)
    )
    assert (done.platform_post_id, done.url) == (f"{PAGE_ID}_st2", f"https://www.facebook.com/{PAGE_ID}_st2")
    finish = form(responses.calls[-1])
    assert (finish["upload_phase"], finish["video_id"]) == ("finish", "story_1")
    assert sum(c.request.url == stories for c in responses.calls) == 2, "one start, one finish"


def test_a_video_story_that_failed_at_facebook_says_so(db):
    request = PublishRequest(main=ContentPart("", media=(video(),)), options={"format": "story"})
    failed = reel_status("error", video_status="upload_failed")
    responses.add(responses.GET, f"{GRAPH}/story_1", json=failed)
    part = part_request(request, 0, [], state={"story_video_id": "story_1"})
    with pytest.raises(ProviderError) as caught:
        get_provider("facebook").publish_part(account=page_account(), request=request, part=part)
    assert (caught.value.error_class, caught.value.message) == (
        ErrorClass.CONTENT,
        "Facebook could not fetch the video.",
    )


def test_a_video_story_whose_finish_answer_was_lost_is_found_not_posted_again(db):
    request = PublishRequest(main=ContentPart("", media=(video(),)), options={"format": "story"})
    responses.add(responses.GET, f"{GRAPH}/story_1", json=reel_status("completed", publishing="completed"))
    part = part_request(request, 0, [], state={"story_video_id": "story_1"})
    found = get_provider("facebook").find_part(account=page_account(), request=request, part=part)
    assert found is not None
    assert found.platform_post_id == "story_1"
    responses.replace(responses.GET, f"{GRAPH}/story_1", json=reel_status("completed"))
    assert get_provider("facebook").find_part(account=page_account(), request=request, part=part) is None


def test_facebook_formats_have_their_own_media_rules():
    provider = get_provider("facebook")
    reel = provider.format_media_rules(account=None, options={"format": "reel"})
    assert reel.rule_for("video").duration_range == (3, 90)
    assert reel.rule_for("image") is None
    story = provider.format_media_rules(account=None, options={"format": "story"})
    assert not story.rule_for("video").unavailable, "video Stories are published too"
    assert story.rule_for("image").max_bytes
    assert provider.format_media_rules(account=None, options={}) == provider.media_rules()


def test_a_consent_with_no_page_to_publish_to_fails_saying_why(team, settings, monkeypatch):
    from connections import services
    from connections.models import ConnectSession, SocialAccount

    settings.SITE_URL = "https://postwright.example"
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "facebook": ("client-123", APP_SECRET)}
    monkeypatch.setattr(login, "_resolve", lambda host: ["93.184.216.34"])
    admin = team.membership("admin")
    url = services.connect_start(actor=admin, provider=get_provider("facebook"))
    state = parse_qs(urlsplit(url).query)["state"][0]
    mock_consent(pages=[{"access_token": "EAABp", "name": "Analyst Page", "id": "999", "tasks": ["ANALYZE"]}])
    with pytest.raises(ConnectError, match="no account you can publish to: your role on this Page does not allow"):
        services.connect_callback(
            user=admin.user, provider=get_provider("facebook"), params={"state": state, "code": "c"}
        )
    assert ConnectSession.objects.get().status == ConnectSession.Status.FAILED
    assert not SocialAccount.objects.exists()


def test_a_declined_permission_is_named_on_the_accounts_page_with_a_grant_it_reconnect(team):
    from django.urls import reverse

    from connections.providers.base import Connection, Profile
    from connections.services import account_save

    state = page_account(declined_scopes=["read_insights"])
    account = account_save(
        workspace=team.workspace,
        platform="facebook",
        user=None,
        connection=Connection(
            profile=Profile(external_id=PAGE_ID, username="cutekitten"),
            secrets={"user_access_token": USER_LONG},
            extra=dict(state.extra),
        ),
    )
    page = team.client("admin").get(reverse("connections")).content.decode()
    assert "Not granted: read_insights." in page
    assert f'href="/connections/connect/facebook/?account={account.pk}">Grant it</a>' in page
    assert "Grant it" not in team.client("editor").get(reverse("connections")).content.decode()


def test_a_page_meta_has_no_insights_for_yet_has_no_account_metrics_not_zeros(db):
    responses.add(responses.GET, f"{GRAPH}/{PAGE_ID}/insights", json={"data": [], "paging": {}})
    assert get_provider("facebook").fetch_account_metrics(account=page_account()) is None
    asked = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert "page_fans" not in asked["metric"][0]
    assert "page_impressions" not in asked["metric"][0], "removed metrics are not requested"
    assert int(asked["until"][0]) - int(asked["since"][0]) <= 90 * 86400


def test_the_graph_and_dialog_origins_are_settings_and_paging_stays_on_them(db, settings):
    settings.META_GRAPH_URL = "https://graph.meta.example"
    settings.META_DIALOG_URL = "https://dialog.meta.example"
    url = login.dialog_url(app=APP, redirect_uri=REDIRECT, state="s1", scopes=["pages_show_list"])
    assert url.startswith("https://dialog.meta.example/v25.0/dialog/oauth?client_id=client-123&")
    responses.add(
        responses.GET,
        "https://graph.meta.example/v25.0/me/permissions",
        json={"data": [{"permission": "pages_show_list", "status": "granted"}],
              "paging": {"next": f"{GRAPH}/me/permissions?after=x"}},
    )  # fmt: skip
    from connections.providers.meta.graph import Graph

    with Graph(USER_LONG) as api:
        assert login.granted_permissions(api) == ({"pages_show_list"}, set())
    assert len(responses.calls) == 1, "a next page on another host is not followed"
