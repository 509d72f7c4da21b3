"""Google Business Profile against recorded answers (platforms-google-snap.md section 1;
tests/connections/google_business_api.py)."""

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import responses
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from connections.errors import ErrorClass, ProviderError
from connections.models import SocialAccount
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    ContentPart,
    MediaItem,
    MemoryUploads,
    Pending,
    PostMetrics,
    PublishedItem,
    PublishRequest,
)
from connections.registry import get_provider
from tests.connections.contract import APP, ProviderContract
from tests.connections.google_business_api import (
    ACCESS,
    ACCOUNTS,
    DENIED,
    DISABLED,
    EXPIRED,
    GROUP,
    INFORMATION,
    INVALID,
    LOCAL_POSTS,
    LOCATION_ID,
    NEXT_PAGE,
    NOT_FOUND,
    PARENT,
    PERFORMANCE,
    PERSONAL,
    POST_NAME,
    POSTS,
    QUOTA_ZERO,
    QUOTA_ZERO_FORBIDDEN,
    REFRESH,
    SCOPE,
    SEARCH_URL,
    THROTTLED,
    TOKEN_URL,
    UNAVAILABLE,
    Location,
    account,
    daily,
    error,
    insights,
    local_post,
    location,
    mock_daily_metrics,
    mock_local_posts,
    token,
)
from tests.connections.publishing import engine_publish, no_thread, part_request, publish_all, saved_account
from tests.connections.test_bluesky import tiny_png

REDIRECT = "https://postwright.example/connections/callback/google_business/"
CHECK_URL = f"{INFORMATION}/locations/{LOCATION_ID}"
EVENT = {"post_type": "EVENT", "event_title": "Halloween Spook-tacular!", "event_start": "2026-10-31T09:00",
         "event_end": "2026-10-31T17:00", "button": "LEARN_MORE",
         "button_url": "https://example.com/halloween"}  # fmt: skip
OFFER = {"post_type": "OFFER", "event_title": "20% off all pies", "event_start": "2026-11-20T08:00",
         "event_end": "2026-11-27T20:00", "offer_code": "PIE20", "offer_url": "https://example.com/pies",
         "offer_terms": "One per customer."}  # fmt: skip


def state(**extra) -> AccountState:
    secrets = {"access_token": ACCESS, "refresh_token": REFRESH}
    return AccountState(external_id=LOCATION_ID, username="Acme Downtown", secrets=secrets,
                        extra={"parent": PARENT, **extra})  # fmt: skip


def photo(url: str = "https://media.postwright.example/s/pumpkin.png", mime: str = "image/png") -> MediaItem:
    data = tiny_png()
    return MediaItem(filename="pumpkin.png", mime_type=mime, size=len(data), open=lambda: io.BytesIO(data),
                     public_url=url)  # fmt: skip


def post_request(text: str = "Come in for our spooky Halloween event!", *media, options=None, **kw) -> PublishRequest:
    return PublishRequest(main=ContentPart(text, media=tuple(media)), options=options or {}, **kw)


def calls(method: str, url: str) -> list:
    return [c for c in responses.calls if c.request.method == method and c.request.url.split("?")[0] == url]


def mock_locations() -> None:
    """Two accounts over two pages; the personal account's locations over two pages; the group
    reaches a location the personal account already listed."""
    page = responses.matchers.query_param_matcher
    mask = "name,title,storefrontAddress,metadata"
    responses.add(responses.GET, ACCOUNTS, json={"accounts": [account(PERSONAL, "Jane Doe", "PERSONAL")],
                  "nextPageToken": "acc-2"}, match=[page({"pageSize": "20"})])  # fmt: skip
    responses.add(responses.GET, ACCOUNTS, json={"accounts": [account(GROUP, "Acme Bakeries", "LOCATION_GROUP")]},
                  match=[page({"pageSize": "20", "pageToken": "acc-2"})])  # fmt: skip
    personal = f"{INFORMATION}/{PERSONAL}/locations"
    responses.add(responses.GET, personal, json={"locations": [location("111", "Jane's Studio", "Oakland")],
                  "nextPageToken": "loc-2"}, match=[page({"readMask": mask, "pageSize": "100"})])  # fmt: skip
    responses.add(responses.GET, personal, json={"locations": [location("222", "Jane's Pop-up", "Berkeley")]},
                  match=[page({"readMask": mask, "pageSize": "100", "pageToken": "loc-2"})])  # fmt: skip
    responses.add(responses.GET, f"{INFORMATION}/{GROUP}/locations",
                  json={"locations": [location(), location("111", "Jane's Studio", "Oakland")]},
                  match=[page({"readMask": mask, "pageSize": "100"})])  # fmt: skip


class TestGoogleBusinessProvider(ProviderContract):
    provider_id = "google_business"

    def connect(self):
        responses.add(responses.POST, TOKEN_URL, json=token())
        mock_locations()
        provider = get_provider("google_business")
        tokens = provider.exchange_code(app=APP, code="4/0Ab", redirect_uri=REDIRECT, code_verifier="v" * 43)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self) -> AccountState:
        return state()

    def mock_check(self) -> None:
        responses.add(responses.GET, CHECK_URL, json=location())

    def mock_refresh(self) -> None:
        answer = token(access_token="ya29.second")
        del answer["refresh_token"]  # Google refreshes without a new refresh token
        responses.add(responses.POST, TOKEN_URL, json=answer)

    def error_cases(self):
        return [
            ("expired token", error(responses.GET, CHECK_URL, EXPIRED), ErrorClass.AUTH),
            ("lost access to the location", error(responses.GET, CHECK_URL, DENIED), ErrorClass.AUTH),
            ("quota 0 (429)", error(responses.GET, CHECK_URL, QUOTA_ZERO), ErrorClass.CONFIG),
            ("quota 0 (403)", error(responses.GET, CHECK_URL, QUOTA_ZERO_FORBIDDEN), ErrorClass.CONFIG),
            ("API not enabled", error(responses.GET, CHECK_URL, DISABLED), ErrorClass.CONFIG),
            ("throttled", error(responses.GET, CHECK_URL, THROTTLED), ErrorClass.RATE),
            ("location gone", error(responses.GET, CHECK_URL, NOT_FOUND), ErrorClass.CONTENT),
            ("invalid argument", error(responses.GET, CHECK_URL, INVALID), ErrorClass.CONTENT),
            ("unavailable", error(responses.GET, CHECK_URL, UNAVAILABLE), ErrorClass.TRANSIENT),
            ("no name", lambda: responses.add(responses.GET, CHECK_URL, json={"title": "x"}), ErrorClass.TRANSIENT),
        ]

    def mock_publish_text(self) -> str:
        Location().install()
        return POST_NAME

    def mock_delete(self):
        responses.add(responses.DELETE, f"{POSTS}/{POST_NAME}", json={})
        return POST_NAME, lambda: len(calls("DELETE", f"{POSTS}/{POST_NAME}")) == 1

    def mock_metrics(self):
        responses.add(responses.POST, f"{LOCAL_POSTS}:reportInsights", json=insights((POST_NAME, 327, 12)))
        return POST_NAME, PostMetrics(impressions=327, extra={"button_clicks": 12})

    def mock_list_posts(self):
        mock_local_posts()
        rejected_one_left_out = [f"{PARENT}/localPosts/2891734650192837465", f"{PARENT}/localPosts/2866554433221100998"]
        return rejected_one_left_out, [f"{PARENT}/localPosts/2855443322110099887"]

    def mock_account_metrics(self):
        mock_daily_metrics()
        # 30 November: nothing counted yet; 29 November is the latest day with numbers.
        extra = {"WEBSITE_CLICKS": 0, "CALL_CLICKS": 3, "BUSINESS_DIRECTION_REQUESTS": 6,
                 "BUSINESS_IMPRESSIONS_MOBILE_MAPS": 98, "BUSINESS_IMPRESSIONS_MOBILE_SEARCH": 51,
                 "BUSINESS_IMPRESSIONS_DESKTOP_MAPS": 0, "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH": 22}  # fmt: skip
        return AccountMetrics(views=98 + 51 + 0 + 22, extra=extra)

    # A local post has no replies or comments: the per-part scenarios become refusals, and the
    # lost answer is reconciled for the post itself, through the engine.

    def test_reply_refused_after_the_main_post_landed_then_retry_creates_no_second_main_post(self, provider):
        no_thread(provider, account=state(), request=post_request(replies=(ContentPart("Reply 1"),)), landed=LANDED)

    def test_first_comment_answers_the_main_post(self, provider):
        no_thread(provider, account=state(), request=post_request(first_comment=ContentPart("Hi")), landed=LANDED)

    def test_answer_to_reply_2_lost_is_reconciled_and_reply_3_follows_it(
        self, team, django_capture_on_commit_callbacks
    ):
        from publishing import engine

        google = Location()

        def create_then_lose(request):
            google._create(request)
            raise requests.ReadTimeout("read timed out (the answer is lost)")

        responses.add_callback(responses.POST, LOCAL_POSTS, callback=create_then_lose)
        responses.add_callback(responses.GET, LOCAL_POSTS, callback=google._list)
        target = _engine_post(team, django_capture_on_commit_callbacks)
        assert target.status == "unknown"
        with django_capture_on_commit_callbacks(execute=True):
            assert engine.targets_claim_due() == [], "a post in doubt is never re-sent blindly"
            engine.targets_claim_reconcile()
        target.refresh_from_db()
        assert target.status == "published"
        assert target.parts.get().platform_post_id == POST_NAME
        assert len(google.posts) == 1


LANDED = PublishedItem(platform_post_id=POST_NAME, url=SEARCH_URL)


def _saved_location(team, location_id: str = LOCATION_ID, parent: str = PARENT) -> SocialAccount:
    return saved_account(team, "google_business", replace(state(), external_id=location_id, extra={"parent": parent}))


def _engine_post(team, capture, text: str = "Fresh bread every morning.", location_id: str = LOCATION_ID):
    from publishing.services import PartInput

    saved = _saved_location(team, location_id, PARENT.replace(LOCATION_ID, location_id))
    return engine_publish(team, capture, saved, [PartInput(text=text)])


@pytest.fixture
def google(db):
    return get_provider("google_business")


# --- Connecting ---------------------------------------------------------------------------------


def test_consent_asks_for_business_manage_offline_with_pkce(google):
    url = google.authorization_url(app=APP, redirect_uri=REDIRECT, state="s1", code_verifier="v" * 43)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    assert (query["scope"], query["access_type"], query["prompt"]) == (SCOPE, "offline", "consent")
    assert (query["state"], query["redirect_uri"], query["code_challenge_method"]) == ("s1", REDIRECT, "S256")


def test_one_consent_yields_every_location_across_accounts_and_pages_each_once(google):
    connections = TestGoogleBusinessProvider().connect()
    assert [(c.profile.external_id, c.profile.display_name, c.extra["parent"]) for c in connections] == [
        ("111", "Jane's Studio (Oakland)", f"{PERSONAL}/locations/111"),
        ("222", "Jane's Pop-up (Berkeley)", f"{PERSONAL}/locations/222"),
        (LOCATION_ID, "Acme Downtown (San Francisco)", PARENT),
    ]
    assert connections[2].profile.profile_url == f"https://maps.google.com/maps?cid={LOCATION_ID}"
    assert {c.secrets["refresh_token"] for c in connections} == {REFRESH}, "one grant for all"
    listing = [c.request for c in responses.calls if c.request.url.startswith(INFORMATION)]
    assert all(r.headers["Authorization"] == f"Bearer {ACCESS}" for r in listing)


def test_a_google_account_with_no_location_cannot_connect(google):
    from connections.errors import ConnectError

    responses.add(responses.POST, TOKEN_URL, json=token())
    responses.add(responses.GET, ACCOUNTS, json={"accounts": [account(PERSONAL, "Jane Doe", "PERSONAL")]})
    responses.add(responses.GET, f"{INFORMATION}/{PERSONAL}/locations", json={})
    tokens = google.exchange_code(app=APP, code="c", redirect_uri=REDIRECT, code_verifier="v" * 43)
    with pytest.raises(ConnectError, match="manages no Business Profile location"):
        google.connections_from_tokens(tokens=tokens)


def test_a_consent_without_business_manage_is_refused_before_any_call(google):
    from connections.errors import ConnectError
    from connections.providers.base import TokenSet

    tokens = TokenSet(
        access_token=ACCESS, refresh_token=REFRESH, scope="openid https://www.googleapis.com/auth/userinfo.email"
    )
    with pytest.raises(ConnectError, match="leave that permission ticked"):
        google.connections_from_tokens(tokens=tokens)
    assert not responses.calls


def test_a_project_without_api_access_is_told_to_apply(google):
    error(responses.GET, ACCOUNTS, QUOTA_ZERO_FORBIDDEN)()
    with pytest.raises(ProviderError) as caught:
        google.connections_from_tokens(tokens=google_tokens())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONFIG, "api_access_not_granted")
    assert "Application for Basic API Access" in caught.value.message
    assert "mybusinessaccountmanagement.googleapis.com" in caught.value.message


def google_tokens():
    from connections.providers.base import TokenSet

    return TokenSet(access_token=ACCESS, refresh_token=REFRESH, scope=SCOPE)


def test_the_selection_step_connects_the_chosen_locations_on_one_grant(team, settings):
    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "google_business": ("client-123", "secret-456")}
    client = team.client("admin")
    started = client.post(reverse("connect", args=["google_business"]))
    assert started.url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    query = parse_qs(urlsplit(started.url).query)
    assert query["access_type"] == ["offline"]
    responses.add(responses.POST, TOKEN_URL, json=token())
    mock_locations()
    callback = reverse("connect_callback", args=["google_business"])
    selection = client.get(callback, {"code": "4/0Ab", "state": query["state"][0]}).url
    page = client.get(selection).content.decode()
    for title in ("Jane&#x27;s Studio", "Jane&#x27;s Pop-up", "Acme Downtown"):
        assert title in page
    assert ACCESS not in page, "no token reaches the browser"
    assert REFRESH not in page
    client.post(selection, {"account": ["222", LOCATION_ID]})
    accounts = list(SocialAccount.objects.filter(platform="google_business").order_by("external_id"))
    assert [a.external_id for a in accounts] == ["222", LOCATION_ID]
    (grant,) = {a.grant for a in accounts}
    assert grant.secrets["refresh_token"] == REFRESH
    assert [a.extra["parent"] for a in accounts] == [f"{PERSONAL}/locations/222", PARENT]
    assert team.client("outsider").get(selection).status_code == 404


def test_refresh_keeps_the_refresh_token_google_does_not_resend(google):
    TestGoogleBusinessProvider().mock_refresh()
    tokens = google.refresh(app=APP, account=state())
    assert (tokens.access_token, tokens.refresh_token) == ("ya29.second", REFRESH)
    assert parse_qs(responses.calls[0].request.body)["grant_type"] == ["refresh_token"]


def test_a_revoked_consent_asks_for_a_reconnect(google):
    responses.add(responses.POST, TOKEN_URL, json={"error": "invalid_grant", "error_description": "Token has been "
                  "expired or revoked."}, status=400)  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        google.refresh(app=APP, account=state())
    assert caught.value.error_class == ErrorClass.AUTH


def test_switched_off_the_platform_is_not_offered(settings):
    from connections.registry import enabled_platforms

    assert "google_business" in enabled_platforms()
    settings.GOOGLE_BUSINESS_ENABLED = False
    assert "google_business" not in enabled_platforms()


# --- Local posts --------------------------------------------------------------------------------


def sent(index: int = 0) -> dict:
    return json.loads(calls("POST", LOCAL_POSTS)[index].request.body)


def test_an_update_with_a_button_and_a_photo(google):
    Location().install()
    options = {"button": "ORDER", "button_url": "https://acme.example/order"}
    result = publish_all(google, account=state(), request=post_request("Fresh bread!", photo(), options=options))
    assert sent() == {
        "languageCode": "en-US", "topicType": "STANDARD", "summary": "Fresh bread!",
        "callToAction": {"actionType": "ORDER", "url": "https://acme.example/order"},
        "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://media.postwright.example/s/pumpkin.png"}],
    }  # fmt: skip
    assert calls("POST", LOCAL_POSTS)[0].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert (result.main.platform_post_id, result.main.url) == (POST_NAME, SEARCH_URL)


def test_an_event_carries_its_title_and_schedule(google):
    Location().install()
    publish_all(google, account=state(), request=post_request(options=EVENT))
    body = sent()
    assert body["topicType"] == "EVENT"
    assert body["event"] == {"title": "Halloween Spook-tacular!", "schedule": {
        "startDate": {"year": 2026, "month": 10, "day": 31}, "startTime": {"hours": 9, "minutes": 0, "seconds": 0,
                                                                           "nanos": 0},
        "endDate": {"year": 2026, "month": 10, "day": 31}, "endTime": {"hours": 17, "minutes": 0, "seconds": 0,
                                                                       "nanos": 0}}}  # fmt: skip
    assert body["callToAction"] == {"actionType": "LEARN_MORE", "url": "https://example.com/halloween"}


def test_an_offer_carries_code_link_and_terms_and_no_button(google):
    Location().install()
    publish_all(google, account=state(), request=post_request("Pie week", options=OFFER))
    body = sent()
    assert body["topicType"] == "OFFER"
    assert body["event"]["title"] == "20% off all pies"
    assert body["offer"] == {"couponCode": "PIE20", "redeemOnlineUrl": "https://example.com/pies",
                             "termsConditions": "One per customer."}  # fmt: skip
    assert "callToAction" not in body


def test_an_offer_ignores_a_button_left_from_another_type_as_google_does(google):
    Location().install()
    publish_all(google, account=state(), request=post_request("Pie week", options={**OFFER, "button": "SHOP",
                                                                                   "button_url": "nope"}))  # fmt: skip
    assert "callToAction" not in sent()


def test_a_call_button_sends_no_link(google):
    Location().install()
    publish_all(google, account=state(), request=post_request(options={"button": "CALL"}))
    assert sent()["callToAction"] == {"actionType": "CALL"}


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (post_request("x" * 1501), "summary_too_long"),
        (post_request(""), "no_summary"),
        (post_request(options={"post_type": "EVENT", "event_title": "Party"}), "option_event_start"),
        (post_request(options={**EVENT, "event_end": "2026-10-31T08:00"}), "option_event_end"),
        (post_request(options={**EVENT, "event_title": ""}), "option_event_title"),
        (post_request(options={"button": "BOOK"}), "option_button_url"),
        (post_request(options={"button": "CALL", "button_url": "https://acme.example"}), "option_button_url"),
        (post_request(options={"button": "BOOK", "button_url": "javascript:alert(1)"}), "option_button_url"),
        (post_request(options={**OFFER, "offer_url": "not a link"}), "option_offer_url"),
        (post_request(options={"post_type": "ALERT"}), "post_type"),
        (post_request("Two", photo(), photo()), "one_photo"),
        (post_request("Gif", photo(mime="image/gif")), "media_type"),
    ],
)
def test_a_post_google_would_refuse_fails_before_any_call(google, request_, code):
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(), request=request_)
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, code)
    assert not responses.calls


def test_video_goes_only_where_the_setting_allows_it(google, settings):
    clip = MediaItem(filename="clip.mp4", mime_type="video/mp4", size=10, open=lambda: io.BytesIO(b"0" * 10),
                     public_url="https://media.postwright.example/s/clip.mp4", kind="video")  # fmt: skip
    assert "video/mp4" not in google.text_rules().accepted_mime_types
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(), request=post_request("Clip", clip))
    assert caught.value.code == "media_type"
    settings.GOOGLE_BUSINESS_ALLOW_VIDEO = True
    Location().install()
    publish_all(google, account=state(), request=post_request("Clip", clip))
    assert sent()["media"] == [{"mediaFormat": "VIDEO", "sourceUrl": "https://media.postwright.example/s/clip.mp4"}]


def test_a_photo_without_a_public_url_is_a_configuration_problem(google):
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(), request=post_request("Bread", photo(url="")))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONFIG, "no_public_url")


def test_a_rejected_post_fails_in_google_s_words_though_the_call_succeeded(google):
    Location(state="REJECTED").install()
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(), request=post_request())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "rejected")
    assert "content policy" in caught.value.message


def test_a_post_under_review_is_waited_for_then_lands_without_a_second_create(google):
    google_side = Location(state="PROCESSING")
    google_side.install()
    request, uploads = post_request(), MemoryUploads()
    first = google.publish_part(account=state(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert isinstance(first, Pending)
    assert (first.reason, first.state["post_name"]) == ("Google is reviewing the post", POST_NAME)
    again = google.publish_part(account=state(), request=request,
                                part=part_request(request, 0, [], uploads=uploads, state=first.state))  # fmt: skip
    assert isinstance(again, Pending)
    assert again.check_in_s > first.check_in_s
    google_side.posts[0]["state"] = "LIVE"
    done = google.publish_part(account=state(), request=request,
                               part=part_request(request, 0, [], uploads=uploads, state=again.state))  # fmt: skip
    assert done.platform_post_id == POST_NAME
    assert len(calls("POST", LOCAL_POSTS)) == 1


def test_a_post_rejected_during_review_fails(google):
    google_side = Location(state="PROCESSING")
    google_side.install()
    request, uploads = post_request(), MemoryUploads()
    first = google.publish_part(account=state(), request=request, part=part_request(request, 0, [], uploads=uploads))
    google_side.posts[0]["state"] = "REJECTED"
    with pytest.raises(ProviderError) as caught:
        google.publish_part(account=state(), request=request,
                            part=part_request(request, 0, [], uploads=uploads, state=first.state))  # fmt: skip
    assert caught.value.code == "rejected"


def test_a_post_still_under_review_after_the_wait_is_taken_as_landed(google, settings):
    settings.GOOGLE_BUSINESS_REVIEW_WAIT_SECONDS = 60
    Location(state="PROCESSING").install()
    request = post_request()
    long_ago = {"post_name": POST_NAME, "since": (timezone.now() - timedelta(minutes=5)).timestamp(), "checks": 4}
    google.publish_part(account=state(), request=request, part=part_request(request, 0, []))
    done = google.publish_part(account=state(), request=request, part=part_request(request, 0, [], state=long_ago))
    assert done.platform_post_id == POST_NAME


@pytest.mark.parametrize(
    ("body", "error_class", "code"),
    [
        (THROTTLED, ErrorClass.RATE, "resource_exhausted"),
        (QUOTA_ZERO_FORBIDDEN, ErrorClass.CONFIG, "api_access_not_granted"),
        (INVALID, ErrorClass.CONTENT, "invalid_argument"),
        (DENIED, ErrorClass.AUTH, "permission_denied"),
    ],
)
def test_google_s_refusals_of_a_post_are_mapped(google, body, error_class, code):
    error(responses.POST, LOCAL_POSTS, body)()
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(), request=post_request())
    assert (caught.value.error_class, caught.value.code) == (error_class, code)
    if code == "resource_exhausted":
        assert caught.value.retry_after == 42.0, "Google's RetryInfo says when"
    if code == "invalid_argument":
        assert "event.schedule: End time must be after start time." in caught.value.message


def test_a_429_without_a_delay_waits_the_configured_minute(google):
    error(responses.POST, LOCAL_POSTS, {"error": {"code": 429, "message": "Too many edits.",
                                                  "status": "RESOURCE_EXHAUSTED"}})()  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(), request=post_request())
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 60.0)


def test_a_create_whose_answer_is_lost_is_in_doubt(google):
    responses.add(responses.POST, LOCAL_POSTS, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(), request=post_request())
    assert caught.value.outcome_unknown


def test_a_location_connected_without_its_parent_asks_for_a_reconnect(google):
    with pytest.raises(ProviderError) as caught:
        publish_all(google, account=state(parent=""), request=post_request())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.AUTH, "no_parent")


# --- Pacing: ten edits a minute per profile ---------------------------------------------------------


def test_posts_to_one_profile_are_paced_and_another_profile_is_not_held(team, django_capture_on_commit_callbacks):
    from publishing import engine
    from publishing.services import PartInput, PostInput, When, post_create

    Location().install()
    Location(parent=PARENT.replace(LOCATION_ID, "555")).install()
    here, there = _saved_location(team), _saved_location(team, "555", PARENT.replace(LOCATION_ID, "555"))
    editor = team.membership("editor")
    for n, account_id in enumerate([here.id, here.id, there.id]):
        post_create(actor=editor, data=PostInput(parts=[PartInput(text=f"post {n}")], account_ids=[account_id],
                                                 when=When.now()))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        engine.targets_claim_due()
    from publishing.models import Target

    targets = list(Target.objects.order_by("id"))
    assert [t.status for t in targets] == ["published", "retry_wait", "published"]
    wait = (targets[1].next_attempt_at - timezone.now()).total_seconds()
    assert 5 < wait <= 6.1, "six seconds apart: ten a minute"
    assert targets[1].attempts == 0, "holding back spends no attempt"


# --- Reconciliation, deletion, metrics ----------------------------------------------------------


def test_find_part_takes_the_location_s_matching_post_made_in_this_run_only(google):
    request = post_request("Fresh bread every morning.")
    older = local_post(f"{PARENT}/localPosts/1", summary="Fresh bread every morning.", created="2026-01-01T08:00:00Z")
    other = local_post(f"{PARENT}/localPosts/2", summary="Something else", created="2026-03-01T12:00:00.5Z")
    event = local_post(f"{PARENT}/localPosts/3", summary="Fresh bread every morning.", topicType="EVENT",
                       created="2026-03-01T12:00:00Z")  # fmt: skip
    ours = local_post(
        f"{PARENT}/localPosts/4", summary="Fresh bread every morning.", created="2026-03-01T12:00:01.123456789Z"
    )  # Google gives nanoseconds
    responses.add(responses.GET, LOCAL_POSTS, json={"localPosts": [other, event, ours, older]})
    part = part_request(request, 0, [], sent_after=datetime(2026, 3, 1, 11, 58, tzinfo=UTC))
    found = google.find_part(account=state(), request=request, part=part)
    assert found is not None
    assert found.platform_post_id == f"{PARENT}/localPosts/4"
    later = part_request(request, 0, [], sent_after=datetime(2026, 3, 2, tzinfo=UTC))
    assert google.find_part(account=state(), request=request, part=later) is None


def test_find_part_reads_a_post_whose_name_was_kept(google):
    responses.add(responses.GET, f"{POSTS}/{POST_NAME}", json=local_post(summary="Bread"))
    uploads = MemoryUploads()
    uploads.save("local_post", {"post_name": POST_NAME})
    request = post_request("Bread")
    found = google.find_part(account=state(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert found is not None
    assert found.platform_post_id == POST_NAME


def test_deleting_a_post_already_gone_is_done(google):
    error(responses.DELETE, f"{POSTS}/{POST_NAME}", NOT_FOUND)()
    google.delete(account=state(), platform_post_id=POST_NAME)
    assert len(responses.calls) == 1


def test_deleting_refuses_a_name_that_is_not_a_post(google):
    with pytest.raises(ProviderError):
        google.delete(account=state(), platform_post_id="accounts/1/../../v1/accounts")
    assert not responses.calls


def test_post_metrics_ask_for_the_window_in_batches(google):
    names = [f"{PARENT}/localPosts/{n}" for n in range(12)]
    responses.add(responses.POST, f"{LOCAL_POSTS}:reportInsights", json=insights((names[0], 5, 1)))
    responses.add(responses.POST, f"{LOCAL_POSTS}:reportInsights", json=insights((names[11], 7, 0)))
    metrics = google.fetch_metrics(account=state(), platform_post_ids=[*names, "accounts/9/locations/8/localPosts/7"])
    assert metrics == {names[0]: PostMetrics(impressions=5, extra={"button_clicks": 1}),
                       names[11]: PostMetrics(impressions=7, extra={"button_clicks": 0})}  # fmt: skip
    first, second = (json.loads(c.request.body) for c in responses.calls)
    assert (len(first["localPostNames"]), len(second["localPostNames"])) == (10, 2), "another location's is not asked"
    assert first["basicRequest"]["metricRequests"] == [{"metric": "ALL"}]
    span = first["basicRequest"]["timeRange"]
    days = (datetime.fromisoformat(span["endTime"]) - datetime.fromisoformat(span["startTime"])).days
    assert days == 90


def test_post_metrics_switched_off_ask_nothing(google, settings):
    settings.GOOGLE_BUSINESS_POST_INSIGHTS = False
    assert google.fetch_metrics(account=state(), platform_post_ids=[POST_NAME]) == {}
    assert not responses.calls


def test_location_metrics_come_from_the_performance_api(google):
    from datetime import date

    url = f"{PERFORMANCE}/locations/{LOCATION_ID}:fetchMultiDailyMetricsTimeSeries"
    answer = daily(WEBSITE_CLICKS=[((2026, 6, 1), "12"), ((2026, 6, 2), None)], CALL_CLICKS=[((2026, 6, 1), "3")])
    responses.add(responses.GET, url, json=answer)
    found = google.location_metrics(account=state(), start=date(2026, 6, 1), end=date(2026, 6, 30))
    assert found == {"WEBSITE_CLICKS": {"2026-06-01": 12, "2026-06-02": 0}, "CALL_CLICKS": {"2026-06-01": 3}}
    query = parse_qsl(urlsplit(responses.calls[0].request.url).query)
    assert ("dailyMetrics", "WEBSITE_CLICKS") in query
    assert ("dailyMetrics", "CALL_CLICKS") in query
    assert ("dailyRange.startDate.month", "6") in query
    assert ("dailyRange.endDate.day", "30") in query


def test_the_account_sync_reads_the_latest_counted_day_of_a_window_ending_today(google, time_machine):
    time_machine.move_to(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=False)
    mock_daily_metrics()
    totals = google.fetch_account_metrics(account=state())
    assert (totals.views, totals.followers, totals.extra["CALL_CLICKS"]) == (171, None, 3)
    query = parse_qsl(urlsplit(responses.calls[0].request.url).query)
    start = [value for key, value in query if key.startswith("dailyRange.startDate.")]
    end = [value for key, value in query if key.startswith("dailyRange.endDate.")]
    assert (start, end) == (["2026", "11", "23"], ["2026", "12", "2"])  # GOOGLE_BUSINESS_ACCOUNT_METRICS_DAYS: 10


def test_an_account_google_has_counted_nothing_for_is_not_yet_not_zero(google):
    url = f"{PERFORMANCE}/locations/{LOCATION_ID}:fetchMultiDailyMetricsTimeSeries"
    responses.add(responses.GET, url, json={})
    assert google.fetch_account_metrics(account=state()) is None
    responses.replace(responses.GET, url, json=daily(WEBSITE_CLICKS=[((2026, 11, 30), None)]))
    quiet = google.fetch_account_metrics(account=state())  # listed, but nothing happened that day
    assert (quiet.views, quiet.extra["WEBSITE_CLICKS"]) == (0, 0)


def test_the_daily_account_sync_stores_the_locations_numbers(team, time_machine):
    from analytics import sync
    from analytics.models import AccountMetricSnapshot

    time_machine.move_to(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=False)
    saved = _saved_location(team)
    mock_daily_metrics()
    assert sync.account_syncs_ensure() == 1  # the location now has account totals: a daily row
    result = sync.syncs_run()
    assert (result.synced, result.calls, result.errors) == (1, 1, {})
    snapshot = AccountMetricSnapshot.objects.get(account=saved)
    assert (snapshot.views, snapshot.followers) == (171, None)
    assert snapshot.extra["BUSINESS_DIRECTION_REQUESTS"] == 6
    assert snapshot.extra["WEBSITE_CLICKS"] == 0


def test_imported_posts_keep_their_summary_or_event_title_photo_and_type(google):
    mock_local_posts()
    first = google.list_posts(account=state())
    assert first.next_cursor == NEXT_PAGE
    bread, event = first.items
    assert bread.text == "Fresh sourdough every morning from 7. Come early, it goes fast!"
    assert bread.published_at == datetime(2026, 11, 30, 7, 5, 12, 518000, tzinfo=UTC)
    assert bread.url.startswith("https://local.google.com/place?")
    assert [(m.url, m.kind) for m in bread.media] == [("https://lh3.googleusercontent.com/p/AF1QipN7x2=s0", "image")]
    assert (event.text, event.extra["topic_type"]) == ("Pie tasting night", "EVENT")
    last = google.list_posts(account=state(), cursor=NEXT_PAGE)
    assert last.items[0].url == f"https://business.google.com/locations/{LOCATION_ID}"  # no searchUrl listed


def test_a_rate_limit_during_an_import_is_a_wait_at_googles_retry_delay(google):
    error(responses.GET, LOCAL_POSTS, THROTTLED)()
    with pytest.raises(ProviderError) as caught:
        google.list_posts(account=state(), cursor=NEXT_PAGE)
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 42)
    assert parse_qs(urlsplit(responses.calls[0].request.url).query)["pageToken"] == [NEXT_PAGE]


# --- The composer ---------------------------------------------------------------------------------


def test_the_composer_offers_type_button_and_the_typed_fields_and_a_post_keeps_them(team):
    from publishing.models import Post

    saved = _saved_location(team)
    page = team.client("editor").get(reverse("compose")).content.decode()
    assert 'name="option_google_business_post_type"' in page
    assert '<option value="EVENT"' in page
    assert '<option value="LEARN_MORE"' in page
    assert 'type="datetime-local" id="option-google_business-event_start"' in page
    assert 'type="url" id="option-google_business-button_url"' in page
    shown = 'data-shown-when="option_google_business_post_type" data-shown-values="{}"'
    assert shown.format("EVENT OFFER") in page, "event fields show for events and offers only"
    assert shown.format("OFFER") in page
    assert shown.format("STANDARD EVENT") in page, "no button on offers"
    data = {"accounts": [saved.id], "text": "Spooky!", "when": "draft",
            **{f"option_google_business_{name}": value for name, value in EVENT.items()}}  # fmt: skip
    team.client("editor").post(reverse("compose"), data)
    post = Post.objects.get()
    assert post.overrides == {"google_business": {"options": EVENT}}
    edit = team.client("editor").get(reverse("post_edit", args=[post.pk])).content.decode()
    assert 'value="Halloween Spook-tacular!"' in edit
    assert '<option value="EVENT" selected' in edit


def test_the_services_refuse_an_event_without_its_schedule_but_a_draft_may_wait(team):
    from publishing.services import PartInput, PostInput, When, post_create

    saved = _saved_location(team)
    options = {"post_type": "EVENT", "event_title": "Party", "button": "BOOK"}
    data = PostInput(parts=[PartInput(text="Party!")], account_ids=[saved.id], when=When.now(),
                     overrides={"google_business": {"options": options}})  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        post_create(actor=team.membership("editor"), data=data)
    fields = caught.value.message_dict
    assert "overrides.google_business.options.event_start" in fields
    assert "overrides.google_business.options.button_url" in fields
    assert fields["overrides.google_business.options.button_url"] == [
        "Google Business Profile: Give the button's link."
    ]
    draft = PostInput(parts=[PartInput(text="Party!")], account_ids=[saved.id], when=When.draft(),
                      overrides={"google_business": {"options": options}})  # fmt: skip
    assert post_create(actor=team.membership("editor"), data=draft).pk


def test_the_services_refuse_a_typed_option_that_is_not_a_line_of_text(team):
    from publishing.services import PartInput, PostInput, When, post_create

    saved = _saved_location(team)
    for value in (["x"], "x" * 2001, "line\x00break"):
        data = PostInput(parts=[PartInput(text="Hi")], account_ids=[saved.id], when=When.draft(),
                         overrides={"google_business": {"options": {"event_title": value}}})  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            post_create(actor=team.membership("editor"), data=data)
        assert "overrides.google_business.options.event_title" in caught.value.message_dict


def test_the_summary_limit_is_google_s_1500(team):
    from publishing.services import PartInput, PostInput, When, post_create

    saved = _saved_location(team)
    data = PostInput(parts=[PartInput(text="x" * 1501)], account_ids=[saved.id], when=When.now())
    with pytest.raises(ValidationError) as caught:
        post_create(actor=team.membership("editor"), data=data)
    assert "1501/1500" in str(caught.value)
