"""Reddit against recorded answers (platforms-other.md section 8; tests/connections/reddit_api.py)."""

import base64
import io
import json
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.cache import cache
from django.urls import reverse
from responses.matchers import query_param_matcher

from config.env import EnvError
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    ContentPart,
    MediaItem,
    MemoryUploads,
    Pending,
    PostMetrics,
    Profile,
    PublishedItem,
    PublishRequest,
)
from connections.providers.reddit import conf
from connections.registry import get_provider
from tests.connections.contract import APP, LOST, Lost, ProviderContract, Refused, ThreadPlatform
from tests.connections.publishing import (
    calls,
    multipart_fields,
    part_request,
    plan_problems,
    publish_all,
    saved_account,
)
from tests.connections.reddit_api import (
    ABOUT,
    ACCESS,
    ALREADY_SUB,
    ASSET,
    AUTHORIZE_URL,
    BAD_GATEWAY,
    BAD_URL,
    COMMENT,
    COMMENTS,
    DELETE,
    FLAIR_ID,
    FLAIR_REQUIRED,
    FLAIRS,
    FORBIDDEN,
    INFO,
    INSUFFICIENT_SCOPE,
    ME_URL,
    NO_LINKS,
    NO_SELFS,
    NO_SUBREDDIT,
    NOT_ALLOWED,
    POST_ID,
    POST_NAME,
    RATELIMIT,
    REFRESH,
    REQUIREMENTS,
    REVOKE_URL,
    SCOPE,
    SR,
    SUBMIT,
    SUBMITTED,
    SUBMITTED_AFTER,
    SUBSCRIBED,
    TOKEN_URL,
    TOO_LONG,
    TOO_MANY,
    UNAUTHORIZED,
    UPLOAD_URL,
    UPLOADED,
    USER_ID,
    USER_REQUIRED,
    USERNAME,
    WWW,
    about,
    comment,
    comment_created,
    error,
    flair,
    lease,
    listing,
    me,
    me_with_totals,
    media_submitted,
    mock_own_submissions,
    post,
    rate_headers,
    refused,
    requirements,
    submitted,
    subreddit,
    token,
)
from tests.connections.test_bluesky import tiny_png

REDIRECT = "https://postwright.example/connections/callback/reddit/"
OPTIONS = {"subreddit": SR}
USER_AGENT = conf.DEFAULT_USER_AGENT


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # composer lists and spent rate windows are kept a while; tests must not inherit them


def account(**secrets) -> AccountState:
    return AccountState(external_id=USER_ID, username=USERNAME,
                        secrets={"access_token": ACCESS, "refresh_token": REFRESH, **secrets})  # fmt: skip


def reddit_request(text: str = "Hello\nA **Markdown** body", *media: MediaItem, **kwargs) -> PublishRequest:
    return PublishRequest(main=ContentPart(text, media=media), options=kwargs.pop("options", OPTIONS), **kwargs)


def image(name: str = "photo.png") -> MediaItem:
    data = tiny_png()
    return MediaItem(filename=name, mime_type="image/png", size=len(data), open=lambda: io.BytesIO(data))


def clip() -> MediaItem:
    data = b"\x00\x00\x00\x18ftypmp42 a short video"
    return MediaItem(filename="clip.mp4", mime_type="video/mp4", size=len(data), open=lambda: io.BytesIO(data),
                     kind="video", duration_s=6.0)  # fmt: skip


def subreddit_allows(**about_changes) -> None:
    """The subreddit's /about, post requirements and flair list, as the checks before submit read them."""
    responses.add(responses.GET, ABOUT, json=about(**about_changes))
    responses.add(responses.GET, REQUIREMENTS, json=requirements())
    responses.add(responses.GET, FLAIRS, json=[flair(), flair("0f9e8d7c-4d1f-11ee-9c2a-0e7f3b2c1a91", "Showcase")])


def form(call) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(call.request.body, keep_blank_values=True).items()}


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class TestRedditProvider(ProviderContract):
    provider_id = "reddit"
    thread_options = OPTIONS

    def connect(self):
        responses.add(responses.POST, TOKEN_URL, json=token())
        responses.add(responses.GET, ME_URL, json=me())
        provider = get_provider("reddit")
        tokens = provider.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self) -> AccountState:
        return account()

    def mock_check(self) -> None:
        responses.add(responses.GET, ME_URL, json=me())

    def mock_refresh(self) -> None:
        answer = token(access_token="eyJ-new")
        del answer["refresh_token"]  # Reddit usually sends none back on refresh
        responses.add(responses.POST, TOKEN_URL, json=answer)

    def mock_revoke(self) -> None:
        responses.add(responses.POST, REVOKE_URL, status=204)

    def error_cases(self):
        return [
            ("unauthorized", error(responses.GET, ME_URL, UNAUTHORIZED, 401), ErrorClass.AUTH),
            ("suspended account", error(responses.GET, ME_URL, FORBIDDEN, 403), ErrorClass.AUTH),
            ("scope missing", error(responses.GET, ME_URL, INSUFFICIENT_SCOPE, 403), ErrorClass.AUTH),
            ("throttled", error(responses.GET, ME_URL, TOO_MANY, 429, rate_headers("600", "0.0", "42")),
             ErrorClass.RATE),
            ("bad gateway", error(responses.GET, ME_URL, BAD_GATEWAY, 502), ErrorClass.TRANSIENT),
            ("no id", lambda: responses.add(responses.GET, ME_URL, json={"name": USERNAME}), ErrorClass.TRANSIENT),
        ]  # fmt: skip

    def mock_publish_text(self) -> str:
        subreddit_allows()
        responses.add(responses.POST, SUBMIT, json=submitted())
        return POST_NAME

    def test_publish_text(self, provider):
        """The contract's publish, to the subreddit every Reddit post needs."""
        expected = self.mock_publish_text()
        result = publish_all(provider, account=self.account(), request=reddit_request("Hello"))
        assert result.main.platform_post_id == expected
        assert result.main.url == f"{WWW}/r/{SR}/comments/{POST_ID}/hello/"

    def mock_delete(self):
        responses.add(responses.POST, DELETE, json={})
        return POST_NAME, lambda: [form(c) for c in calls("POST", DELETE)] == [{"id": POST_NAME}]

    def mock_account_metrics(self):
        responses.add(responses.GET, ME_URL, json=me_with_totals())
        return AccountMetrics(followers=87, extra={"total_karma": 1234, "link_karma": 1034, "comment_karma": 200})

    def mock_list_posts(self):
        mock_own_submissions()  # the crosspost (t3_1gq3a11) is somebody else's post shared again
        return ["t3_1gq3x9z", "t3_1gq2b7c"], ["t3_1fz0v1d"]

    def mock_metrics(self):
        responses.add(responses.GET, INFO, json=listing("t3", [post(score=42, num_comments=7)]))
        return POST_NAME, PostMetrics(likes=42, replies=7, extra={"score": 42, "upvote_ratio_percent": 95})

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        """/api/submit, /api/comment and the user's submitted and comments listings, as Reddit answers them."""
        subreddit_allows()

        def create(text: str, parent: str | None, prefix: str):
            try:
                return platform.create(text=text, parent=parent, id_=f"{prefix}_k{len(platform.posts) + 1}")
            except Refused:
                return None

        def submit(request):
            sent = form_of(request)
            try:
                made = create(sent["title"], None, "t3")
            except Lost:
                raise LOST from None
            if made is None:
                return 200, {}, json.dumps(TOO_LONG)
            return 200, {}, json.dumps(submitted(made["id"][3:]))

        def reply(request):
            sent = form_of(request)
            try:
                made = create(sent["text"], sent["thing_id"], "t1")
            except Lost:
                raise LOST from None
            if made is None:
                return 200, {}, json.dumps(refused("TOO_LONG", "this is too long (max: 10000)", "text"))
            return 200, {}, json.dumps(comment_created(_comment_of(made)))

        def posts(_request):
            found = [post(p["id"][3:], title=p["text"], created_utc=_epoch(p["created_at"]))
                     for p in reversed(platform.posts) if p["id"].startswith("t3_")]  # fmt: skip
            return 200, {}, json.dumps(listing("t3", found))

        def comments(_request):
            found = [_comment_of(p) for p in reversed(platform.posts) if p["id"].startswith("t1_")]
            return 200, {}, json.dumps(listing("t1", found))

        responses.add_callback(responses.POST, SUBMIT, callback=submit)
        responses.add_callback(responses.POST, COMMENT, callback=reply)
        responses.add_callback(responses.GET, SUBMITTED, callback=posts)
        responses.add_callback(responses.GET, COMMENTS, callback=comments)


def form_of(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body, keep_blank_values=True).items()}


def _comment_of(made: dict) -> dict:
    return comment(made["id"][3:], body=made["text"], parent_id=made["parent"], created_utc=_epoch(made["created_at"]))


# --- Connecting ---------------------------------------------------------------------------------


@pytest.fixture
def reddit(db):
    return get_provider("reddit")


def test_consent_is_permanent_and_asks_for_every_scope_it_uses(reddit):
    url = reddit.authorization_url(app=APP, redirect_uri=REDIRECT, state="s1", code_verifier=None)
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == AUTHORIZE_URL
    assert (query["response_type"], query["state"], query["redirect_uri"]) == ("code", "s1", REDIRECT)
    assert query["duration"] == "permanent", "only a permanent consent gets a refresh token"
    assert set(query["scope"].split(" ")) == set(SCOPE.split(" "))
    assert "code_challenge" not in query


def test_code_exchange_sends_the_app_in_a_basic_header_and_reddit_s_user_agent(reddit):
    responses.add(responses.POST, TOKEN_URL, json=token())
    tokens = reddit.exchange_code(app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=None)
    (call,) = responses.calls
    expected = base64.b64encode(f"{APP.client_id}:{APP.client_secret}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert call.request.headers["User-Agent"] == USER_AGENT
    sent = form(call)
    assert (sent["grant_type"], sent["code"], sent["redirect_uri"]) == ("authorization_code", "c0de", REDIRECT)
    assert (tokens.access_token, tokens.refresh_token, tokens.scope) == (ACCESS, REFRESH, SCOPE)
    assert tokens.expires_at is not None


def test_connecting_names_the_account_and_unescapes_its_avatar(reddit):
    (connection,) = TestRedditProvider().connect()
    assert connection.profile == Profile(
        external_id=USER_ID, username=USERNAME, display_name=USERNAME, profile_url=f"{WWW}/user/{USERNAME}/",
        avatar_url="https://styles.redditmedia.com/t5_2x/styles/profileIcon_a1.png?width=256&s=0f1e2d",
    )  # fmt: skip
    me_call = calls("GET", ME_URL)[0]
    assert me_call.request.headers["User-Agent"] == USER_AGENT
    assert me_call.request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_refresh_keeps_the_permanent_refresh_token(reddit):
    TestRedditProvider().mock_refresh()
    tokens = reddit.refresh(app=APP, account=account())
    assert (tokens.access_token, tokens.refresh_token) == ("eyJ-new", REFRESH)
    (call,) = responses.calls
    sent = form(call)
    assert (sent["grant_type"], sent["refresh_token"]) == ("refresh_token", REFRESH)
    assert call.request.headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("status", [200, 400])
def test_a_refused_refresh_asks_for_a_reconnect_even_in_a_200(reddit, status):
    responses.add(responses.POST, TOKEN_URL, json={"error": "invalid_grant"}, status=status)
    with pytest.raises(ProviderError) as caught:
        reddit.refresh(app=APP, account=account())
    assert caught.value.error_class == ErrorClass.AUTH


def test_revoking_sends_the_refresh_token_with_the_app_s_basic_header(reddit):
    TestRedditProvider().mock_revoke()
    reddit.revoke(app=APP, account=account())
    (call,) = responses.calls
    assert form(call) == {"token": REFRESH, "token_type_hint": "refresh_token"}
    assert call.request.headers["Authorization"].startswith("Basic ")


def test_the_connect_flow_through_the_pages_stores_the_permanent_grant(team, settings):
    from connections.models import SocialAccount

    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "reddit": ("client-123", "secret-456")}
    client = team.client("admin")
    started = client.post(reverse("connect", args=["reddit"]))
    assert started.status_code == 302
    assert started.url.startswith(f"{AUTHORIZE_URL}?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(started.url).query).items()}
    assert (query["duration"], query["client_id"]) == ("permanent", "client-123")
    responses.add(responses.POST, TOKEN_URL, json=token())
    responses.add(responses.GET, ME_URL, json=me())
    landed = client.get(reverse("connect_callback", args=["reddit"]), {"code": "c0de", "state": query["state"]})
    assert landed.status_code == 302
    saved = SocialAccount.objects.get()
    assert (saved.platform, saved.external_id, saved.username) == ("reddit", USER_ID, USERNAME)
    assert saved.grant.secrets == {"access_token": ACCESS, "refresh_token": REFRESH}


def test_a_cancelled_consent_connects_nothing(team, settings):
    from connections.models import SocialAccount

    settings.PLATFORM_CREDENTIALS = {**settings.PLATFORM_CREDENTIALS, "reddit": ("client-123", "secret-456")}
    client = team.client("admin")
    started = client.post(reverse("connect", args=["reddit"]))
    state = parse_qs(urlsplit(started.url).query)["state"][0]
    client.get(reverse("connect_callback", args=["reddit"]), {"error": "access_denied", "state": state})
    assert not SocialAccount.objects.exists()
    assert not responses.calls


@pytest.mark.parametrize("agent", ["python-requests/2.32.3", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"])
def test_a_generic_user_agent_is_refused_at_start_up(monkeypatch, agent):
    monkeypatch.setenv("REDDIT_USER_AGENT", agent)
    with pytest.raises(EnvError, match="REDDIT_USER_AGENT"):
        conf.settings_from_env(testing=True)


def test_the_user_agent_is_the_operator_s(reddit, settings):
    settings.REDDIT_USER_AGENT = "web:com.example.posts:v2.0 (by /u/operator)"
    responses.add(responses.GET, ME_URL, json=me())
    reddit.check(app=APP, account=account())
    assert responses.calls[0].request.headers["User-Agent"] == "web:com.example.posts:v2.0 (by /u/operator)"


# --- The composer -------------------------------------------------------------------------------


def test_subreddits_are_every_subscribed_one_sorted_after_the_own_profile(reddit):
    responses.add(responses.GET, SUBSCRIBED, json=listing("t5", [subreddit("python"), subreddit("Django")], "t5_b"),
                  match=[query_param_matcher({"raw_json": "1", "limit": "100"})])  # fmt: skip
    responses.add(responses.GET, SUBSCRIBED, json=listing("t5", [subreddit("AskReddit")]),
                  match=[query_param_matcher({"raw_json": "1", "limit": "100", "after": "t5_b"})])  # fmt: skip
    choices = reddit.composer_choices(account=account(), name="subreddit")
    assert choices == (("", "Choose..."), ("u_alice", "u/alice (your profile)"), ("AskReddit", "r/AskReddit"),
                       ("Django", "r/Django"), ("python", "r/python"))  # fmt: skip
    assert reddit.composer_choices(account=account(), name="subreddit") == choices
    assert len(responses.calls) == 2, "the second composer page reads the kept list"


def test_the_subreddit_list_stops_at_its_setting(reddit, settings):
    settings.REDDIT_SUBREDDITS_MAX = 100
    page = listing("t5", [subreddit(f"sub{n}") for n in range(100)], "t5_next")
    responses.add(responses.GET, SUBSCRIBED, json=page)
    choices = reddit.composer_choices(account=account(), name="subreddit")
    assert len(choices) == 102
    assert len(responses.calls) == 1


def test_flairs_are_those_of_the_subreddits_posted_to_last(reddit):
    recent = [post("p1", sr="python"), post("p2", sr="python"), post("p3", sr="django")]
    responses.add(responses.GET, SUBMITTED, json=listing("t3", recent))
    responses.add(responses.GET, FLAIRS, json=[flair(), flair("mod-1", "Announcement", mod_only=True)])
    responses.add(responses.GET, f"{WWW.replace('www', 'oauth')}/r/django/api/link_flair_v2", json=FORBIDDEN,
                  status=403)  # fmt: skip
    choices = reddit.composer_choices(account=account(), name="flair")
    assert choices == (("", "No flair"), (FLAIR_ID, "r/python: Discussion"))


def test_the_composer_offers_subreddits_and_a_post_keeps_its_choices(team):
    from publishing.models import Post

    saved = saved_account(team, "reddit", account())
    responses.add(responses.GET, SUBSCRIBED, json=listing("t5", [subreddit("python")]))
    responses.add(responses.GET, SUBMITTED, json=listing("t3", [post()]))
    responses.add(responses.GET, FLAIRS, json=[flair()])
    page = team.client("editor").get(reverse("compose")).content.decode()
    assert '<option value="python"' in page
    assert f'<option value="{FLAIR_ID}"' in page
    data = {"accounts": [saved.id], "text": "Hello\nBody", "when": "draft", "option_reddit_subreddit": SR,
            "option_reddit_flair": FLAIR_ID, "option_reddit_nsfw": "yes"}  # fmt: skip
    team.client("editor").post(reverse("compose"), data)
    options = Post.objects.get().overrides["reddit"]["options"]
    assert options == {"subreddit": SR, "flair": FLAIR_ID, "nsfw": "yes", "spoiler": ""}


def _plan(team, text: str, options: dict | None):
    overrides = {"reddit": {"options": options}} if options is not None else {}
    return {problem.code for problem in plan_problems(team, saved_account(team, "reddit", account()), text, overrides)}


def test_the_services_require_a_subreddit_and_a_title_of_at_most_300(team):
    assert "required" in _plan(team, "Hello", None), "no subreddit chosen"
    assert "title_too_long" in _plan(team, "T" * 301 + "\nbody", OPTIONS)
    assert _plan(team, "T" * 300 + "\nbody", OPTIONS) == set()


# --- Submitting ---------------------------------------------------------------------------------


def test_a_text_post_sends_title_text_and_flags(reddit):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, json=submitted())
    publish_all(reddit, account=account(), request=reddit_request("Hello\nA **Markdown** body"))
    (call,) = calls("POST", SUBMIT)
    assert form(call) == {"api_type": "json", "sr": SR, "kind": "self", "title": "Hello", "text": "A **Markdown** body",
                          "resubmit": "true", "sendreplies": "true", "nsfw": "false", "spoiler": "false"}  # fmt: skip
    assert call.request.headers["User-Agent"] == USER_AGENT


def test_a_link_alone_is_a_link_post_and_with_text_ends_the_text_post(reddit):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, json=submitted())
    publish_all(reddit, account=account(), request=reddit_request("Read this", link="https://example.com/a"))
    publish_all(
        reddit, account=account(), request=reddit_request("Read this\nIt is good.", link="https://example.com/a")
    )
    first, second = (form(c) for c in calls("POST", SUBMIT))
    assert (first["kind"], first["url"], "text" in first) == ("link", "https://example.com/a", False)
    assert (second["kind"], second["text"]) == ("self", "It is good.\n\nhttps://example.com/a")


def test_flair_nsfw_and_spoiler_are_sent_with_the_flair_s_own_text(reddit):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, json=submitted())
    options = {**OPTIONS, "flair": FLAIR_ID, "nsfw": "yes", "spoiler": "yes"}
    publish_all(reddit, account=account(), request=reddit_request(options=options))
    sent = form(calls("POST", SUBMIT)[0])
    assert (sent["flair_id"], sent["flair_text"], sent["nsfw"], sent["spoiler"]) == (FLAIR_ID, "Discussion", "true",
                                                                                     "true")  # fmt: skip


@pytest.mark.parametrize(
    ("about_changes", "rules", "request_", "code"),
    [
        ({"submission_type": "self"}, {}, reddit_request("Look", link="https://example.com"), "text_only"),
        ({"submission_type": "link"}, {}, reddit_request(), "no_text_posts"),
        ({"allow_images": False}, {}, reddit_request("Look", image()), "no_images"),
        ({"allow_videos": False}, {}, reddit_request("Look", clip(), image()), "no_videos"),
        ({"user_is_banned": True}, {}, reddit_request(), "banned"),
        ({}, {"title_text_max_length": 3}, reddit_request(), "title_too_long"),
        ({}, {"title_text_min_length": 20}, reddit_request(), "title_too_short"),
        ({}, {"body_restriction_policy": "required"}, reddit_request("Title only"), "body_required"),
        ({}, {"body_restriction_policy": "notAllowed"}, reddit_request(), "body_not_allowed"),
        ({}, {"is_flair_required": True}, reddit_request(), "flair_required"),
        ({}, {"domain_blacklist": ["example.com"]}, reddit_request("L", link="https://www.example.com/x"),
         "banned_domain"),
        ({}, {}, reddit_request(options={**OPTIONS, "flair": "0000-not-theirs"}), "unknown_flair"),
    ],
)  # fmt: skip
def test_the_subreddit_s_own_rules_are_checked_before_submitting(reddit, about_changes, rules, request_, code):
    responses.add(responses.GET, ABOUT, json=about(**about_changes))
    responses.add(responses.GET, REQUIREMENTS, json=requirements(**rules))
    responses.add(responses.GET, FLAIRS, json=[flair()])
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=request_)
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, code)
    assert f"r/{SR}" in caught.value.message
    assert not calls("POST", SUBMIT)


def test_a_subreddit_without_post_requirements_is_posted_to(reddit):
    responses.add(responses.GET, ABOUT, json=about())
    error(responses.GET, REQUIREMENTS, {"message": "Not Found", "error": 404}, 404)()
    responses.add(responses.POST, SUBMIT, json=submitted())
    assert publish_all(reddit, account=account(), request=reddit_request()).main.platform_post_id == POST_NAME


@pytest.mark.parametrize(
    ("register", "code", "words"),
    [
        (error(responses.GET, ABOUT, FORBIDDEN, 403), "subreddit_forbidden", f"r/{SR} is private"),
        (error(responses.GET, ABOUT, {"message": "Not Found", "error": 404}, 404), "no_subreddit_found",
         f"r/{SR} does not exist"),
        (lambda: responses.add(responses.GET, ABOUT, status=302,
                               headers={"Location": f"{WWW}/subreddits/search.json?q={SR}"}),
         "no_subreddit_found", f"r/{SR} does not exist"),
    ],
)  # fmt: skip
def test_a_subreddit_that_is_private_or_missing_is_refused_in_plain_words(reddit, register, code, words):
    register()
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request())
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, code)
    assert words in caught.value.message
    assert not calls("POST", SUBMIT)


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (reddit_request(options={}), "no_subreddit"),
        (reddit_request(options={"subreddit": "../api/del"}), "bad_subreddit"),
        (reddit_request("T" * 301), "title_too_long"),
        (reddit_request("", image()), "no_title"),
        (reddit_request("Title\n" + "b" * 40_001), "body_too_long"),
        (reddit_request("Title\nand text", image()), "media_with_text"),
        (reddit_request("Title", clip()), "video_needs_poster"),
        (reddit_request("Title", image(), image("b.png")), "too_many_media"),
        (reddit_request(options={**OPTIONS, "flair": "<script>"}), "bad_flair"),
    ],
)
def test_a_post_reddit_would_refuse_fails_before_any_call(reddit, request_, code):
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=request_)
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, code)
    assert not responses.calls


@pytest.mark.parametrize(
    ("answer", "error_class", "code", "words"),
    [
        (NOT_ALLOWED, ErrorClass.CONTENT, "SUBREDDIT_NOTALLOWED", "Reddit does not let this account post"),
        (NO_SUBREDDIT, ErrorClass.CONTENT, "SUBREDDIT_NOEXIST", "does not exist"),
        (NO_SELFS, ErrorClass.CONTENT, "NO_SELFS", "takes no text posts"),
        (NO_LINKS, ErrorClass.CONTENT, "NO_LINKS", "takes no link posts"),
        (FLAIR_REQUIRED, ErrorClass.CONTENT, "SUBMIT_VALIDATION_FLAIR_REQUIRED", "requires a flair"),
        (TOO_LONG, ErrorClass.CONTENT, "TOO_LONG", "this is too long (max: 300)"),
        (BAD_URL, ErrorClass.CONTENT, "BAD_URL", "you should check that url"),
        (ALREADY_SUB, ErrorClass.CONTENT, "ALREADY_SUB", "already posted"),
        (refused("SOMETHING_NEW", "a rule Reddit added"), ErrorClass.CONTENT, "SOMETHING_NEW", "a rule Reddit added"),
        (USER_REQUIRED, ErrorClass.AUTH, "USER_REQUIRED", "reconnect"),
    ],
)
def test_reddit_s_200_refusals_are_classified_with_its_words(reddit, answer, error_class, code, words):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, json=answer)
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request())
    assert (caught.value.error_class, caught.value.code) == (error_class, code)
    assert words in caught.value.message
    assert not caught.value.outcome_unknown, "a refusal is an answer: nothing landed"


def test_ratelimit_waits_the_minutes_reddit_names(reddit):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, json=RATELIMIT)
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request())
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 300.0)


@pytest.mark.parametrize(
    ("message", "extra", "wait"),
    [
        ("Take a break for 45 seconds before trying again.", {}, 45.0),
        ("Take a break for 1 hour before trying again.", {}, 3600.0),
        ("Take a break for 9 minutes before trying again.", {"ratelimit": 512.3}, 512.3),
        ("You are doing that too much.", {}, 600.0),
    ],
)
def test_ratelimit_wait_is_parsed_or_falls_back_to_the_setting(reddit, message, extra, wait):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, json=refused("RATELIMIT", message, "ratelimit", **extra))
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request())
    assert caught.value.retry_after == pytest.approx(wait)


def test_http_refusals_at_submit(reddit):
    subreddit_allows()
    error(responses.POST, SUBMIT, TOO_MANY, 429, rate_headers("600", "0.0", "347"))()
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request())
    assert (caught.value.error_class, caught.value.retry_after) == (ErrorClass.RATE, 347.0)
    responses.replace(responses.POST, SUBMIT, body=json.dumps(BAD_GATEWAY), status=502)
    cache.clear()
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request())
    assert (caught.value.error_class, caught.value.outcome_unknown) == (ErrorClass.TRANSIENT, True)


def test_a_submit_whose_answer_is_lost_is_in_doubt(reddit):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request())
    assert caught.value.outcome_unknown


def test_a_spent_rate_window_holds_the_next_submit_until_its_reset(reddit):
    responses.add(responses.GET, ABOUT, json=about(), headers=rate_headers("600", "0.0", "120"))
    responses.add(responses.GET, REQUIREMENTS, json=requirements(), headers=rate_headers("600", "0.0", "120"))
    responses.add(responses.POST, SUBMIT, json=submitted(), headers=rate_headers("600", "0.0", "120"))
    publish_all(reddit, account=account(), request=reddit_request())
    request = reddit_request("Second")
    held = reddit.publish_part(account=account(), request=request, part=part_request(request, 0, []))
    assert isinstance(held, Pending)
    assert 100 < held.check_in_s <= 120
    assert len(calls("POST", SUBMIT)) == 1


def test_a_window_with_requests_left_holds_nothing(reddit):
    subreddit_allows()
    responses.add(responses.POST, SUBMIT, json=submitted(), headers=rate_headers())
    publish_all(reddit, account=account(), request=reddit_request())
    publish_all(reddit, account=account(), request=reddit_request("Second"))
    assert len(calls("POST", SUBMIT)) == 2


# --- Media posts --------------------------------------------------------------------------------


def test_an_image_post_leases_uploads_submits_and_finds_its_id(reddit):
    subreddit_allows()
    responses.add(responses.POST, ASSET, json=lease())
    responses.add(responses.POST, UPLOAD_URL, body=UPLOADED, status=201, content_type="application/xml")
    responses.add(responses.POST, SUBMIT, json=media_submitted())
    request = reddit_request("My photo", image())
    uploads = MemoryUploads()
    first = reddit.publish_part(account=account(), request=request, part=part_request(request, 0, [], uploads=uploads))
    assert isinstance(first, Pending)
    assert first.reason == "Reddit is processing the media post"
    assert form(calls("POST", ASSET)[0]) == {"filepath": "photo.png", "mimetype": "image/png"}
    upload = calls("POST", UPLOAD_URL)[0]
    names = [name for name, _value in multipart_fields(upload)]
    assert names == [
        "acl",
        "key",
        "X-Amz-Credential",
        "X-Amz-Algorithm",
        "X-Amz-Date",
        "success_action_status",
        "content-type",
        "policy",
        "X-Amz-Signature",
        "file",
    ], "every field in order, then the file"
    assert dict(multipart_fields(upload))["file"] == tiny_png()
    assert "Authorization" not in upload.request.headers, "no Reddit token at the storage"
    sent = form(calls("POST", SUBMIT)[0])
    assert (sent["kind"], sent["url"]) == ("image", f"{UPLOAD_URL}/rte_images/abc.jpg")
    assert "text" not in sent
    responses.add(responses.GET, SUBMITTED, json=listing("t3", [post(title="My photo", url=f"{UPLOAD_URL}/x.jpg",
                                                                   created_utc=time.time())]))  # fmt: skip
    done = reddit.publish_part(account=account(), request=request,
                               part=part_request(request, 0, [], uploads=uploads, state=first.state))  # fmt: skip
    assert done == PublishedItem(platform_post_id=POST_NAME, url=f"{WWW}/r/{SR}/comments/{POST_ID}/hello/")
    assert len(calls("POST", SUBMIT)) == 1, "submitted once"
    assert len(calls("POST", UPLOAD_URL)) == 1, "uploaded once"


def test_a_video_post_sends_the_video_and_its_poster(reddit):
    subreddit_allows()
    responses.add(responses.POST, ASSET, json=lease("rte_images/v.mp4", "v1"))
    responses.add(responses.POST, ASSET, json=lease("rte_images/poster.png", "p1"))
    responses.add(responses.POST, UPLOAD_URL, body=UPLOADED, status=201)
    responses.add(responses.POST, SUBMIT, json=media_submitted())
    request = reddit_request("My clip", clip(), image())
    answer = reddit.publish_part(account=account(), request=request, part=part_request(request, 0, []))
    assert isinstance(answer, Pending)
    sent = form(calls("POST", SUBMIT)[0])
    assert (sent["kind"], sent["url"], sent["video_poster_url"]) == (
        "video", f"{UPLOAD_URL}/rte_images/v.mp4", f"{UPLOAD_URL}/rte_images/poster.png")  # fmt: skip


def test_a_media_post_never_shown_is_left_to_reconciliation_not_resubmitted(reddit, settings):
    settings.REDDIT_MEDIA_POST_WAIT_SECONDS = 60
    responses.add(responses.GET, SUBMITTED, json=listing("t3", []))
    request = reddit_request("My photo", image())
    part = part_request(request, 0, [], state={"submitted_at": time.time() - 120})
    with pytest.raises(ProviderError) as caught:
        reddit.publish_part(account=account(), request=request, part=part)
    assert (caught.value.code, caught.value.outcome_unknown) == ("media_post_unseen", True)
    assert not calls("POST", SUBMIT)


def test_media_posts_switched_off_are_refused_as_configuration(reddit, settings):
    settings.REDDIT_MEDIA_POSTS = False
    assert all(rule.unavailable for rule in reddit.media_rules().formats)
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request("Photo", image()))
    assert caught.value.error_class == ErrorClass.CONFIG
    assert not responses.calls


def test_a_lease_without_an_upload_address_is_transient(reddit):
    subreddit_allows()
    responses.add(responses.POST, ASSET, json={"args": {"fields": []}, "asset": {}})
    with pytest.raises(ProviderError) as caught:
        publish_all(reddit, account=account(), request=reddit_request("Photo", image()))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.TRANSIENT, "malformed")
    assert not calls("POST", SUBMIT)


# --- Comments -----------------------------------------------------------------------------------


def test_a_reply_is_a_comment_on_its_parent(reddit):
    landed = PublishedItem(platform_post_id=POST_NAME, url="")
    request = reddit_request(replies=(ContentPart("Thanks all"),))
    thing = comment("kx1", body="Thanks all", parent_id=POST_NAME)
    responses.add(responses.POST, COMMENT, json=comment_created(thing))
    made = reddit.publish_part(account=account(), request=request, part=part_request(request, 1, [landed]))
    assert made == PublishedItem(platform_post_id="t1_kx1", url=f"{WWW}/r/{SR}/comments/{POST_ID}/hello/kx1/")
    assert form(responses.calls[0]) == {"api_type": "json", "thing_id": POST_NAME, "text": "Thanks all"}


def test_a_comment_with_media_is_refused(reddit):
    landed = PublishedItem(platform_post_id=POST_NAME, url="")
    request = reddit_request(replies=(ContentPart("Look", media=(image(),)),))
    with pytest.raises(ProviderError) as caught:
        reddit.publish_part(account=account(), request=request, part=part_request(request, 1, [landed]))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.CONTENT, "comment_media")


# --- Reconciliation, deletion, metrics ----------------------------------------------------------


def test_find_part_takes_the_matching_post_of_this_run_only(reddit):
    request = reddit_request("Hello\nA **Markdown** body")
    sent_after = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    now = sent_after.timestamp()
    older = post("old1", selftext="A **Markdown** body", created_utc=now - 86400)
    elsewhere = post("else1", selftext="A **Markdown** body", sr="learnpython", created_utc=now)
    other_text = post("txt1", selftext="Another body", created_utc=now)
    ours = post("ours1", selftext="A **Markdown** body", created_utc=now + 5)
    responses.add(responses.GET, SUBMITTED, json=listing("t3", [ours, other_text, elsewhere, older]))
    found = reddit.find_part(
        account=account(), request=request, part=part_request(request, 0, [], sent_after=sent_after)
    )
    assert found == PublishedItem(platform_post_id="t3_ours1", url=f"{WWW}/r/{SR}/comments/ours1/hello/")
    responses.replace(responses.GET, SUBMITTED, json=listing("t3", [other_text, elsewhere, older]))
    assert reddit.find_part(account=account(), request=request,
                            part=part_request(request, 0, [], sent_after=sent_after)) is None  # fmt: skip


def test_find_part_for_a_comment_matches_text_and_parent(reddit):
    landed = PublishedItem(platform_post_id=POST_NAME, url="")
    request = reddit_request(replies=(ContentPart("Thanks all"),))
    others = [comment("c1", body="Thanks all", parent_id="t3_zzz"), comment("c2", body="Thanks", parent_id=POST_NAME)]
    ours = comment("c3", body="Thanks all", parent_id=POST_NAME)
    responses.add(responses.GET, COMMENTS, json=listing("t1", [*others, ours]))
    found = reddit.find_part(account=account(), request=request, part=part_request(request, 1, [landed]))
    assert found is not None
    assert found.platform_post_id == "t1_c3"


def test_metrics_batch_a_hundred_ids_and_leave_out_deleted_things(reddit):
    ids = [f"t3_p{n}" for n in range(150)]
    responses.add(responses.GET, INFO, json=listing("t3", [post("p0", score=3, num_comments=1)]))
    responses.add(responses.GET, INFO, json=listing("t3", []))
    metrics = reddit.fetch_metrics(account=account(), platform_post_ids=ids)
    assert list(metrics) == ["t3_p0"]
    assert metrics["t3_p0"].replies == 1
    batches = [parse_qs(urlsplit(c.request.url).query)["id"][0].split(",") for c in responses.calls]
    assert [len(batch) for batch in batches] == [100, 50]


def test_deleting_reaches_reddit_even_for_a_post_already_gone(reddit):
    responses.add(responses.POST, DELETE, json={})
    reddit.delete(account=account(), platform_post_id="t3_gone")
    assert form(responses.calls[0]) == {"id": "t3_gone"}


def test_a_composer_page_reddit_will_not_answer_for_still_opens(team):
    saved_account(team, "reddit", account())
    error(responses.GET, SUBSCRIBED, UNAUTHORIZED, 401)()
    error(responses.GET, SUBMITTED, UNAUTHORIZED, 401)()
    page = team.client("editor").get(reverse("compose"))
    assert page.status_code == 200


def test_a_long_subreddit_list_gets_a_box_to_narrow_it_and_a_short_one_none(team):
    saved_account(team, "reddit", account())
    responses.add(responses.GET, SUBSCRIBED, json=listing("t5", [subreddit("python")]))
    responses.add(responses.GET, SUBMITTED, json=listing("t3", []))
    page = team.client("editor").get(reverse("compose")).content.decode()
    assert 'data-filter-for="option-reddit-subreddit"' not in page
    cache.clear()
    responses.replace(responses.GET, SUBSCRIBED, json=listing("t5", [subreddit(f"sub{n}") for n in range(20)]))
    page = team.client("editor").get(reverse("compose")).content.decode()
    assert 'data-filter-for="option-reddit-subreddit"' in page
    assert 'data-filter-for="option-reddit-flair"' not in page


def test_the_composer_s_live_check_counts_the_title_against_300(team):
    saved = saved_account(team, "reddit", account())
    data = {"accounts": [saved.id], "text": "T" * 305 + "\nbody", "when": "draft"}
    answer = team.client("editor").post(reverse("compose_check"), data).content.decode()
    assert "the title (first line) is 305/300" in answer
    data["text"] = "T" * 300 + "\nbody"
    assert "the title (first line)" not in team.client("editor").post(reverse("compose_check"), data).content.decode()
    assert not responses.calls, "the live check asks Reddit nothing"


# --- Importing and account totals ---------------------------------------------------------------


def test_imported_submissions_keep_title_body_link_and_preview(reddit):
    mock_own_submissions()
    text_post, link_post = reddit.list_posts(account=account()).items
    assert text_post.text == "Show and tell: our scheduler\nIt posts **everywhere**.\n\nFeedback welcome."
    assert text_post.url == "https://www.reddit.com/r/python/comments/1gq3x9z/hello/"
    assert text_post.published_at == datetime(2025, 11, 20, 9, 0, tzinfo=UTC)
    assert text_post.media == ()  # "self" is Reddit's word for no thumbnail
    assert link_post.text == "The release notes\nhttps://example.com/releases/2-0"
    assert [(m.url, m.kind) for m in link_post.media] == [
        ("https://external-preview.redd.it/notes.png?width=1200&s=ab12", "image")
    ]
    assert dict(link_post.extra) == {"subreddit": SR}
    (video,) = reddit.list_posts(account=account(), cursor=SUBMITTED_AFTER).items
    assert video.text == "Our office, in ten seconds"  # a v.redd.it upload is its media, not a link
    assert [(m.url, m.kind) for m in video.media] == [("https://external-preview.redd.it/k3yv1d.jpeg?s=cd34", "video")]


def test_an_import_page_reddit_throttles_waits_for_its_reset(reddit):
    error(responses.GET, SUBMITTED, TOO_MANY, 429, headers=rate_headers(remaining="0.0", reset="212"))()
    with pytest.raises(ProviderError) as caught:
        reddit.list_posts(account=account(), cursor=SUBMITTED_AFTER)
    assert caught.value.error_class == ErrorClass.RATE
    assert caught.value.retry_after == 212


def test_a_submitted_listing_without_children_is_transient(reddit):
    responses.add(responses.GET, SUBMITTED, json={"kind": "Listing", "data": {"after": None}})
    with pytest.raises(ProviderError) as caught:
        reddit.list_posts(account=account())
    assert caught.value.error_class == ErrorClass.TRANSIENT


def test_account_totals_of_another_reddit_user_are_refused(reddit):
    responses.add(responses.GET, ME_URL, json=me(id="zz999"))
    with pytest.raises(ProviderError) as caught:
        reddit.fetch_account_metrics(account=account())
    assert caught.value.error_class == ErrorClass.AUTH
