"""Mastodon against recorded responses in the real shapes (docs.joinmastodon.org).

Every call is mocked with ``responses``: statuses, bodies and headers as a 4.x server sends them.
test_mastodon_peer.py drives the same provider against an independent server (mastodon-mock);
where that server differs from the documentation, the documentation wins and the tests here
that cover the difference say so.
"""

import base64
import hashlib
import io
import json
import time
from collections.abc import Callable
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import (
    AccountMetrics,
    AccountState,
    ContentPart,
    MediaItem,
    Pending,
    PostMetrics,
    PublishRequest,
    TokenSet,
)
from connections.providers.mastodon.client import parse_reset
from connections.providers.mastodon.text import comparable, comparable_html, with_link
from connections.registry import get_provider
from tests.connections.contract import APP, LOST, Lost, ProviderContract, Refused, ThreadPlatform
from tests.connections.publishing import find_main, part_request, publish_all

PAYLOADS = Path(__file__).parent / "payloads" / "mastodon"
INSTANCE = "https://mastodon.example"
TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
REDIRECT = "http://127.0.0.1:8000/connections/callback/mastodon/"
VERIFY = f"{INSTANCE}/api/v1/accounts/verify_credentials"
STATUSES = f"{INSTANCE}/api/v1/statuses"
MEDIA = f"{INSTANCE}/api/v2/media"
MEDIA_ID = "22348641"
HTML_500 = "<html><body><h1>We're sorry, but something went wrong.</h1></body></html>"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def alice(**extra: Any) -> AccountState:
    limits = {
        "domain": "mastodon.example",
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
        "image_size_limit": 16777216,
        "video_size_limit": 103809024,
        "supported_mime_types": ["image/jpeg", "image/png", "video/mp4"],
        "account_id": "109348123",
    }
    return AccountState(
        external_id="mastodon.example:109348123",
        username="@alice@mastodon.example",
        secrets={"access_token": TOKEN},
        instance_url=INSTANCE,
        extra={**limits, **extra},
    )


def status(status_id: str, **fields: Any) -> dict[str, Any]:
    return {**payload("status"), "id": status_id, "url": f"{INSTANCE}/@alice/{status_id}", **fields}


def mastodon_error(status: int, message: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
    return lambda: responses.add(responses.GET, VERIFY, json={"error": message}, status=status, headers=headers)


def raises(exc: Exception) -> Callable[[], None]:
    return lambda: responses.add(responses.GET, VERIFY, body=exc)


def body_of(call) -> dict[str, Any]:
    return json.loads(call.request.body)


class TestMastodonProvider(ProviderContract):
    provider_id = "mastodon"

    def connect(self):
        responses.add(responses.POST, f"{INSTANCE}/oauth/token", json=payload("token"))
        responses.add(responses.GET, VERIFY, json=payload("verify_credentials"))
        responses.add(responses.GET, f"{INSTANCE}/api/v2/instance", json=payload("instance_v2"))
        provider = get_provider("mastodon")
        tokens = provider.exchange_code(
            app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier="v" * 64, instance_url=INSTANCE
        )
        return provider.connections_from_tokens(tokens=tokens, instance_url=INSTANCE)

    def account(self) -> AccountState:
        return alice()

    def mock_account_metrics(self):
        responses.add(responses.GET, VERIFY, json=payload("verify_credentials"))  # 10 / 5 / 100
        return AccountMetrics(followers=10, following=5, posts_count=100)

    def mock_check(self) -> None:
        responses.add(responses.GET, VERIFY, json=payload("verify_credentials"))

    def mock_revoke(self) -> None:
        responses.add(responses.POST, f"{INSTANCE}/oauth/revoke", json={})

    def error_cases(self):
        return [
            ("token invalid", mastodon_error(401, "The access token is invalid"), ErrorClass.AUTH),
            ("token revoked", mastodon_error(401, "The access token was revoked"), ErrorClass.AUTH),
            ("scopes", mastodon_error(403, "This action is outside the authorized scopes"), ErrorClass.AUTH),
            ("disabled", mastodon_error(403, "Your login is currently disabled"), ErrorClass.AUTH),
            ("pending", mastodon_error(403, "Your login is currently pending approval"), ErrorClass.AUTH),
            ("no user", mastodon_error(422, "This method requires an authenticated user"), ErrorClass.AUTH),
            ("throttled", mastodon_error(429, "Too many requests"), ErrorClass.RATE),
            (
                "busy",
                mastodon_error(503, "There was a temporary problem serving your request, please try again"),
                ErrorClass.TRANSIENT,
            ),
            ("crashed", lambda: responses.add(responses.GET, VERIFY, body=HTML_500, status=500), ErrorClass.TRANSIENT),
            ("down", raises(requests.ConnectionError("refused")), ErrorClass.TRANSIENT),
            ("slow", raises(requests.ReadTimeout("read timed out")), ErrorClass.TRANSIENT),
            ("not json", lambda: responses.add(responses.GET, VERIFY, body="<html></html>"), ErrorClass.TRANSIENT),
            ("no id", lambda: responses.add(responses.GET, VERIFY, json={"username": "alice"}), ErrorClass.TRANSIENT),
            (
                "moved",
                lambda: responses.add(responses.GET, VERIFY, status=301, headers={"Location": "https://x.example/"}),
                ErrorClass.CONFIG,
            ),
        ]

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        """POST /api/v1/statuses and the account's statuses timeline, in Mastodon's entity shapes."""

        def as_status(post: dict) -> dict:
            url = f"{INSTANCE}/@alice/{post['id']}"
            return {**payload("status"), "id": post["id"], "url": url, "content": f"<p>{post['text']}</p>",
                    "in_reply_to_id": post["parent"], "created_at": post["created_at"]}  # fmt: skip

        def create(request):
            body = json.loads(request.body)
            key = request.headers.get("Idempotency-Key", "")
            try:
                post = platform.create(text=body["status"], parent=body.get("in_reply_to_id"), key=key)
            except Refused as exc:
                return 422, {}, json.dumps({"error": f"Validation failed: {exc}"})
            except Lost:
                raise LOST from None
            return 200, {}, json.dumps(as_status(post))

        def timeline(request):
            query = parse_qs(urlsplit(request.url).query)
            posts = [p for p in reversed(platform.posts) if query.get("exclude_replies") != ["true"] or not p["parent"]]
            return 200, {}, json.dumps([as_status(p) for p in posts][: int(query.get("limit", ["20"])[0])])

        responses.add_callback(responses.POST, STATUSES, callback=create)
        responses.add_callback(responses.GET, f"{INSTANCE}/api/v1/accounts/109348123/statuses", callback=timeline)

    def mock_publish_text(self) -> str:
        responses.add(responses.POST, STATUSES, json=payload("status"))
        return "109876543210"

    def mock_delete(self):
        responses.add(responses.DELETE, f"{STATUSES}/109876543210", json={**payload("status"), "text": "Hello"})
        return (
            "109876543210",
            lambda: (
                [(c.request.method, c.request.url) for c in responses.calls] == [("DELETE", f"{STATUSES}/109876543210")]
            ),
        )

    def mock_metrics(self):
        counts = {"favourites_count": 12, "reblogs_count": 3, "replies_count": 2}
        responses.add(responses.GET, f"{STATUSES}/s1", json=status("s1", **counts))
        return "s1", PostMetrics(likes=12, reposts=3, replies=2, quotes=0, impressions=None)

    def mock_list_posts(self):
        mock_own_statuses()
        return ["109876543320", "109876543310"], ["109876543100"]


OWN_STATUSES = f"{INSTANCE}/api/v1/accounts/109348123/statuses"


def mock_own_statuses() -> None:
    """Two pages as Mastodon pages them: the next page named in the Link header, by max_id."""
    first = matchers.query_param_matcher({"limit": "40", "exclude_reblogs": "true"})
    second = matchers.query_param_matcher({"limit": "40", "exclude_reblogs": "true", "max_id": "109876543310"})
    newer = f'<{OWN_STATUSES}?limit=40&exclude_reblogs=true&min_id=109876543320>; rel="prev"'
    older = f'<{OWN_STATUSES}?limit=40&exclude_reblogs=true&max_id=109876543310>; rel="next"'
    responses.add(responses.GET, OWN_STATUSES, json=payload("own_statuses_page1"), match=[first],
                  headers={"Link": f"{older}, {newer}"})  # fmt: skip
    newest = f'<{OWN_STATUSES}?limit=40&exclude_reblogs=true&min_id=109876543100>; rel="prev"'
    responses.add(responses.GET, OWN_STATUSES, json=payload("own_statuses_page2"), match=[second],
                  headers={"Link": newest})  # fmt: skip


# --- Focused tests ------------------------------------------------------------------------------


@pytest.fixture
def mastodon(db):
    return get_provider("mastodon")


def image(name: str = "cat.jpg", alt: str = "A cat asleep on a keyboard") -> MediaItem:
    data = b"\xff\xd8\xff\xe0 not really a jpeg"
    return MediaItem(filename=name, mime_type="image/jpeg", size=len(data), open=lambda: io.BytesIO(data), alt_text=alt)


def publish(provider, request: PublishRequest | None = None, **kwargs):
    request = request or PublishRequest(main=ContentPart("Hello"), idempotency_key="target-7", **kwargs)
    return publish_all(provider, account=alice(), request=request)


# Connect


def test_registration_asks_for_our_client_and_scopes(mastodon, settings):
    responses.add(responses.POST, f"{INSTANCE}/api/v1/apps", json=payload("app"))
    app = mastodon.register_app(instance_url=INSTANCE, redirect_uri=REDIRECT)
    form = parse_qs(responses.calls[0].request.body)
    assert form == {
        "client_name": ["Postwright"],
        "redirect_uris": [REDIRECT],
        "scopes": ["read write:statuses write:media"],
        "website": [settings.SITE_URL],
    }
    assert (app.client_id, app.client_secret) == (payload("app")["client_id"], payload("app")["client_secret"])
    assert app.scopes == ("read", "write:statuses", "write:media")


def test_registration_on_servers_that_do_not_echo_scopes(mastodon):
    responses.add(responses.POST, f"{INSTANCE}/api/v1/apps", json=payload("app_legacy"))
    app = mastodon.register_app(instance_url=INSTANCE, redirect_uri=REDIRECT)
    assert app.scopes == mastodon.default_scopes


@pytest.mark.parametrize(
    ("register", "expected", "words"),
    [
        (
            {"json": {"error": "Validation failed: Redirect URI must be an absolute URI."}, "status": 422},
            ErrorClass.CONFIG,
            "Redirect URI must be an absolute URI",
        ),
        ({"body": requests.ConnectionError("refused")}, ErrorClass.TRANSIENT, "Could not reach mastodon.example"),
        ({"body": HTML_500, "status": 500}, ErrorClass.TRANSIENT, "mastodon.example is having trouble"),
        ({"body": "<html>Welcome to my blog</html>"}, ErrorClass.TRANSIENT, "did not answer like a Mastodon server"),
        ({"body": "<html>Not found</html>", "status": 404}, ErrorClass.TRANSIENT, "like a Mastodon server"),
        (
            {"status": 301, "headers": {"Location": "https://social.mastodon.example/api/v1/apps"}},
            ErrorClass.CONFIG,
            "redirects to social.mastodon.example",
        ),
        ({"json": {"id": "1", "client_id": "abc"}}, ErrorClass.TRANSIENT, "client_secret"),
        ({"json": {"error": "Too many requests"}, "status": 429}, ErrorClass.RATE, "Too many requests"),
    ],
)
def test_registration_failures_say_what_to_do(mastodon, register, expected, words):
    responses.add(responses.POST, f"{INSTANCE}/api/v1/apps", **register)
    with pytest.raises(ProviderError) as caught:
        mastodon.register_app(instance_url=INSTANCE, redirect_uri=REDIRECT)
    assert caught.value.error_class == expected
    assert words in caught.value.message


def test_registration_refuses_unsafe_servers(mastodon, settings):
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    with pytest.raises(ProviderError) as caught:
        mastodon.register_app(instance_url="http://mastodon.example", redirect_uri=REDIRECT)
    assert caught.value.error_class == ErrorClass.CONFIG
    assert not responses.calls


def test_pkce_challenge_on_authorize_and_verifier_on_exchange(mastodon):
    """mastodon-mock ignores PKCE; Mastodon 4.3+ checks the S256 challenge against the verifier
    (docs.joinmastodon.org). The documentation wins, so this recorded exchange stays."""
    verifier = "a-long-random-verifier-" + "x" * 40
    url = mastodon.authorization_url(
        app=APP, redirect_uri=REDIRECT, state="st4te", code_verifier=verifier, instance_url=INSTANCE
    )
    assert url.startswith(f"{INSTANCE}/oauth/authorize?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert params == {
        "response_type": "code",
        "client_id": APP.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read write:statuses write:media",
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    responses.add(responses.POST, f"{INSTANCE}/oauth/token", json=payload("token"))
    tokens = mastodon.exchange_code(
        app=APP, code="c0de", redirect_uri=REDIRECT, code_verifier=verifier, instance_url=INSTANCE
    )
    sent = parse_qs(responses.calls[0].request.body)
    assert sent["code_verifier"] == [verifier]
    assert (sent["grant_type"], sent["code"], sent["redirect_uri"]) == (["authorization_code"], ["c0de"], [REDIRECT])
    assert (sent["client_id"], sent["client_secret"]) == ([APP.client_id], [APP.client_secret])
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at) == (TOKEN, None, None)


def test_connection_carries_a_host_scoped_id_and_the_instance_limits(mastodon):
    responses.add(responses.GET, VERIFY, json=payload("verify_credentials"))
    responses.add(responses.GET, f"{INSTANCE}/api/v2/instance", json=payload("instance_v2"))
    (connection,) = mastodon.connections_from_tokens(tokens=_tokens(), instance_url=INSTANCE)
    profile = connection.profile
    assert profile.external_id == "mastodon.example:109348123"
    assert (profile.username, profile.display_name) == ("@alice@mastodon.example", "Alice Example")
    assert profile.profile_url == "https://mastodon.example/@alice"
    assert profile.avatar_url.startswith("https://files.mastodon.example/accounts/avatars/")
    assert connection.instance_url == INSTANCE
    assert connection.secrets["access_token"] == TOKEN
    assert connection.expires_at is None
    extra = connection.extra
    assert (extra["max_characters"], extra["max_media_attachments"], extra["characters_reserved_per_url"]) == (
        500,
        4,
        23,
    )
    assert (extra["image_size_limit"], extra["video_size_limit"]) == (16777216, 103809024)
    assert "image/avif" in extra["supported_mime_types"]
    assert extra["account_id"] == "109348123"
    assert all(call.request.headers["Authorization"] == f"Bearer {TOKEN}" for call in responses.calls)


def test_handle_uses_the_account_domain_when_it_differs_from_the_web_host(mastodon):
    web = "https://social.example.com"
    responses.add(responses.GET, f"{web}/api/v1/accounts/verify_credentials", json=payload("verify_credentials"))
    responses.add(responses.GET, f"{web}/api/v2/instance", json={**payload("instance_v2"), "domain": "example.com"})
    (connection,) = mastodon.connections_from_tokens(tokens=_tokens(), instance_url=web)
    assert connection.profile.username == "@alice@example.com"
    assert connection.profile.external_id == "social.example.com:109348123"


def test_same_numeric_id_on_two_servers_is_two_accounts(mastodon):
    ids = set()
    for server in ("https://one.example", "https://two.example"):
        responses.add(responses.GET, f"{server}/api/v1/accounts/verify_credentials", json=payload("verify_credentials"))
        ids.add(mastodon.fetch_profile(tokens=_tokens(), instance_url=server).external_id)
    assert ids == {"one.example:109348123", "two.example:109348123"}


def test_older_servers_fall_back_to_the_v1_instance(mastodon):
    responses.add(responses.GET, VERIFY, json=payload("verify_credentials"))
    responses.add(responses.GET, f"{INSTANCE}/api/v2/instance", json={"error": "Record not found"}, status=404)
    responses.add(responses.GET, f"{INSTANCE}/api/v1/instance", json=payload("instance_v1"))
    (connection,) = mastodon.connections_from_tokens(tokens=_tokens(), instance_url=INSTANCE)
    assert connection.extra["max_characters"] == 1000
    assert connection.extra["image_size_limit"] == 10485760
    assert connection.profile.username == "@alice@social.oldserver.example"


@pytest.mark.parametrize(
    "failure",
    [
        {"body": HTML_500, "status": 500},
        {"body": requests.ConnectionError("reset")},
        {"body": "<html>maintenance</html>"},
        {"json": ["not", "an", "object"]},
    ],
)
def test_instance_trouble_never_fails_the_connect(mastodon, failure):
    responses.add(responses.GET, VERIFY, json=payload("verify_credentials"))
    responses.add(responses.GET, f"{INSTANCE}/api/v2/instance", **failure)
    (connection,) = mastodon.connections_from_tokens(tokens=_tokens(), instance_url=INSTANCE)
    extra = connection.extra
    assert (extra["max_characters"], extra["max_media_attachments"], extra["characters_reserved_per_url"]) == (
        500,
        4,
        23,
    )
    assert connection.profile.external_id == "mastodon.example:109348123"


def test_revoke_sends_our_client_and_the_token(mastodon):
    responses.add(responses.POST, f"{INSTANCE}/oauth/revoke", json={})
    mastodon.revoke(app=APP, account=alice())
    sent = parse_qs(responses.calls[0].request.body)
    assert sent["token"] == [TOKEN]
    assert (sent["client_id"], sent["client_secret"]) == ([APP.client_id], [APP.client_secret])


def test_check_without_a_token_asks_to_reconnect(mastodon):
    account = alice()
    account.secrets.clear()
    with pytest.raises(ProviderError) as caught:
        mastodon.check(app=APP, account=account)
    assert caught.value.error_class == ErrorClass.AUTH
    assert not responses.calls


def _tokens() -> TokenSet:
    return TokenSet(access_token=TOKEN, extra={"created_at": 1573979017})


# Composer rules


def test_instance_limits_flow_into_text_rules(mastodon):
    rules = mastodon.text_rules(account=alice(max_characters=5000, max_media_attachments=6, image_size_limit=8_000_000))
    assert (rules.max_length, rules.url_length, rules.max_media) == (5000, 23, 6)
    assert rules.max_image_bytes == 8_000_000
    assert rules.counting == "characters"
    assert rules.accepted_mime_types == ("image/jpeg", "image/png", "video/mp4")


def test_text_rules_default_when_the_server_said_nothing(mastodon):
    rules = mastodon.text_rules(account=None)
    assert (rules.max_length, rules.url_length, rules.max_media) == (500, 23, 4)
    assert rules.max_image_bytes == 10 * 1024 * 1024
    assert "image/jpeg" in rules.accepted_mime_types


# Publishing


def test_text_status_with_idempotency_key_and_options(mastodon):
    responses.add(responses.POST, STATUSES, json=payload("status"))
    options = {"visibility": "unlisted", "spoiler_text": "Launch talk", "sensitive": "true", "language": "en"}
    result = publish(mastodon, options=options)
    call = responses.calls[0]
    assert call.request.headers["Idempotency-Key"] == "target-7"
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert body_of(call) == {
        "status": "Hello",
        "visibility": "unlisted",
        "spoiler_text": "Launch talk",
        "sensitive": True,
        "language": "en",
    }
    # The status's own page, not /statuses/:id
    assert (result.main.platform_post_id, result.main.url) == (
        "109876543210",
        "https://mastodon.example/@alice/109876543210",
    )


def test_visibility_defaults_to_public_and_no_key_sends_no_header(mastodon):
    responses.add(responses.POST, STATUSES, json=payload("status"))
    publish_all(mastodon, account=alice(), request=PublishRequest(main=ContentPart("Hi")))
    call = responses.calls[0]
    assert body_of(call) == {"status": "Hi", "visibility": "public"}
    assert "Idempotency-Key" not in call.request.headers


def test_unknown_visibility_is_refused_before_any_call(mastodon):
    with pytest.raises(ProviderError) as caught:
        publish(mastodon, options={"visibility": "followers"})
    assert caught.value.error_class == ErrorClass.CONTENT
    assert not responses.calls


@pytest.mark.parametrize(
    ("text", "link", "sent"),
    [
        ("Launch day!", "https://example.com/launch", "Launch day!\n\nhttps://example.com/launch"),
        ("Read https://example.com/launch now", "https://example.com/launch", "Read https://example.com/launch now"),
        ("", "https://example.com/launch", "https://example.com/launch"),
    ],
)
def test_link_goes_in_the_text_once(mastodon, text, link, sent):
    responses.add(responses.POST, STATUSES, json=payload("status"))
    publish(mastodon, PublishRequest(main=ContentPart(text), link=link, idempotency_key="k"))
    assert body_of(responses.calls[0])["status"] == sent


def test_thread_chains_replies_and_comment_answers_the_main_post(mastodon):
    for status_id in ("s1", "s2", "s3", "c1"):
        responses.add(responses.POST, STATUSES, json=status(status_id))
    request = PublishRequest(
        main=ContentPart("1/3"),
        replies=(ContentPart("2/3"), ContentPart("3/3")),
        first_comment=ContentPart("Sources in the comments"),
        options={"visibility": "unlisted"},
        idempotency_key="target-7",
    )
    result = publish(mastodon, request)
    bodies = [body_of(call) for call in responses.calls]
    assert [b.get("in_reply_to_id") for b in bodies] == [None, "s1", "s2", "s1"]
    assert [b["status"] for b in bodies] == ["1/3", "2/3", "3/3", "Sources in the comments"]
    assert {b["visibility"] for b in bodies} == {"unlisted"}
    assert [r.platform_post_id for r in result.replies] == ["s2", "s3"]
    assert result.first_comment.platform_post_id == "c1"
    assert result.first_comment.url == f"{INSTANCE}/@alice/c1"


def test_idempotency_keys_are_distinct_per_part_and_stable_across_attempts(mastodon):
    request = PublishRequest(
        main=ContentPart("1/2"), replies=(ContentPart("2/2"),), first_comment=ContentPart("c"), idempotency_key="t-9"
    )
    attempts = []
    for _ in range(2):
        responses.reset()
        for status_id in ("s1", "s2", "c1"):
            responses.add(responses.POST, STATUSES, json=status(status_id))
        publish(mastodon, request)
        attempts.append([call.request.headers["Idempotency-Key"] for call in responses.calls])
    assert attempts[0] == ["t-9", "t-9:1", "t-9:2"]
    assert attempts[1] == attempts[0]


def _main_part(request: PublishRequest, state: dict | None = None):
    return part_request(request, 0, [], state=state or {})


def test_media_202_then_206_then_200_before_the_status(mastodon):
    """No worker sleeps while the server processes: each look is its own call, Pending between.

    mastodon-mock answers every upload 200, ready at once; the documentation says large files
    answer 202 and GET /api/v1/media/:id 206 until processed. The documentation wins: recorded."""
    responses.add(responses.POST, MEDIA, json=payload("media_202"), status=202)
    responses.add(responses.GET, f"{INSTANCE}/api/v1/media/{MEDIA_ID}", json=payload("media_202"), status=206)
    responses.add(responses.GET, f"{INSTANCE}/api/v1/media/{MEDIA_ID}", json=payload("media_200"), status=200)
    responses.add(responses.POST, STATUSES, json=payload("status"))
    request = PublishRequest(main=ContentPart("Look", media=(image(),)), idempotency_key="k")
    first = mastodon.publish_part(account=alice(), request=request, part=_main_part(request))
    assert isinstance(first, Pending)
    assert first.state["media_ids"] == [MEDIA_ID]
    assert first.check_in_s == 1
    assert "processing the media" in first.reason
    second = mastodon.publish_part(account=alice(), request=request, part=_main_part(request, dict(first.state)))
    assert isinstance(second, Pending)
    assert second.check_in_s == 2
    done = mastodon.publish_part(account=alice(), request=request, part=_main_part(request, dict(second.state)))
    assert done.platform_post_id == "109876543210"
    assert [(c.request.method, urlsplit(c.request.url).path) for c in responses.calls] == [
        ("POST", "/api/v2/media"),
        ("GET", f"/api/v1/media/{MEDIA_ID}"),
        ("GET", f"/api/v1/media/{MEDIA_ID}"),
        ("POST", "/api/v1/statuses"),
    ]
    parts = _multipart(responses.calls[0].request)
    assert parts["description"] == (None, b"A cat asleep on a keyboard")
    assert parts["file"] == ("cat.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    assert body_of(responses.calls[3])["media_ids"] == [MEDIA_ID]


def test_media_ready_at_once_needs_no_polling(mastodon):
    responses.add(responses.POST, MEDIA, json=payload("media_200"))
    responses.add(responses.POST, STATUSES, json=payload("status"))
    two = (image("a.jpg", alt=""), image("b.jpg"))
    request = PublishRequest(main=ContentPart("", media=two), idempotency_key="k")
    answer = mastodon.publish_part(account=alice(), request=request, part=_main_part(request))
    assert not isinstance(answer, Pending)
    assert "description" not in _multipart(responses.calls[0].request)
    assert body_of(responses.calls[2])["media_ids"] == [MEDIA_ID, MEDIA_ID]


def test_media_still_processing_past_the_limit_is_transient_and_posts_nothing(mastodon, time_machine):
    """mastodon-mock never keeps media processing; a real server may (202, then 206). The
    documentation wins, so this stays recorded."""
    responses.add(responses.GET, f"{INSTANCE}/api/v1/media/{MEDIA_ID}", json=payload("media_202"), status=206)
    request = PublishRequest(main=ContentPart("Look", media=(image(),)), idempotency_key="k")
    time_machine.move_to("2026-06-01T12:00:00Z", tick=False)
    since = time.time()
    state = {"media_ids": [MEDIA_ID], "waiting": [MEDIA_ID], "checks": 8, "since": since}
    still = mastodon.publish_part(account=alice(), request=request, part=_main_part(request, state))
    assert isinstance(still, Pending)
    assert still.state["since"] == since
    time_machine.shift(mastodon.media_processing_limit_s + 1)
    with pytest.raises(ProviderError) as caught:
        mastodon.publish_part(account=alice(), request=request, part=_main_part(request, dict(still.state)))
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.TRANSIENT, "media_processing")
    assert not [c for c in responses.calls if urlsplit(c.request.url).path == "/api/v1/statuses"]


def test_media_that_failed_processing_is_a_content_error(mastodon):
    responses.add(responses.POST, MEDIA, json=payload("media_202"), status=202)
    responses.add(
        responses.GET,
        f"{INSTANCE}/api/v1/media/{MEDIA_ID}",
        json={"error": "Error processing thumbnail for uploaded media"},
        status=422,
    )
    with pytest.raises(ProviderError) as caught:
        publish(mastodon, PublishRequest(main=ContentPart("Look", media=(image(),)), idempotency_key="k"))
    assert caught.value.error_class == ErrorClass.CONTENT
    assert caught.value.message == "Error processing thumbnail for uploaded media"


def test_media_upload_timeout_is_safe_to_retry(mastodon):
    responses.add(responses.POST, MEDIA, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        publish(mastodon, PublishRequest(main=ContentPart("Look", media=(image(),)), idempotency_key="k"))
    assert caught.value.error_class == ErrorClass.TRANSIENT
    assert not caught.value.outcome_unknown  # an unattached upload is harmless


@pytest.mark.parametrize(
    ("status_code", "message", "expected"),
    [
        (422, "Validation failed: Text character limit of 500 exceeded", ErrorClass.CONTENT),
        (422, "Cannot attach files that have not finished processing. Try again in a moment!", ErrorClass.TRANSIENT),
        (404, "Record not found", ErrorClass.CONTENT),
        (403, "This action is not allowed", ErrorClass.CONTENT),
        (403, "This action is outside the authorized scopes", ErrorClass.AUTH),
        (401, "The access token was revoked", ErrorClass.AUTH),
        (400, "param is missing or the value is empty: status", ErrorClass.CONFIG),
        (503, "There was a temporary problem serving your request, please try again", ErrorClass.TRANSIENT),
    ],
)
def test_status_errors_keep_the_servers_words(mastodon, status_code, message, expected):
    responses.add(responses.POST, STATUSES, json={"error": message}, status=status_code)
    with pytest.raises(ProviderError) as caught:
        publish(mastodon)
    assert caught.value.error_class == expected
    assert caught.value.message == message
    assert caught.value.status == status_code
    assert not caught.value.outcome_unknown


def test_rate_limit_waits_until_the_iso_reset(mastodon, time_machine):
    """mastodon-mock sends no rate-limit headers (its injected 429 gives epoch seconds); the
    documentation says X-RateLimit-Reset is ISO 8601. The documentation wins: recorded."""
    time_machine.move_to("2026-01-01T12:00:00Z", tick=False)
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "2026-01-01T12:02:30.000000Z",
    }
    responses.add(responses.POST, STATUSES, json={"error": "Too many requests"}, status=429, headers=headers)
    with pytest.raises(ProviderError) as caught:
        publish(mastodon)
    assert caught.value.error_class == ErrorClass.RATE
    assert caught.value.retry_after == 150
    assert caught.value.message == "Too many requests"


def test_rate_limit_prefers_retry_after_and_survives_a_past_reset(mastodon, time_machine):
    time_machine.move_to("2026-01-01T12:00:00Z", tick=False)
    for headers, expected in [
        ({"Retry-After": "42", "X-RateLimit-Reset": "2026-01-01T12:05:00.000000Z"}, 42),
        ({"X-RateLimit-Reset": "2026-01-01T11:59:00.000000Z"}, 0),  # our clock is ahead
        ({}, None),
    ]:
        responses.reset()
        responses.add(responses.GET, VERIFY, json={"error": "Too many requests"}, status=429, headers=headers)
        with pytest.raises(ProviderError) as caught:
            mastodon.check(app=APP, account=alice())
        assert caught.value.retry_after == expected, headers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T12:02:30.000000Z", "2026-01-01T12:02:30+00:00"),
        ("2026-01-01T12:02:30.123456+00:00", "2026-01-01T12:02:30.123456+00:00"),
        ("2026-01-01 12:02:30 UTC", "2026-01-01T12:02:30+00:00"),
        ("1767268950", "2026-01-01T12:02:30+00:00"),
        ("soon", None),
        ("", None),
    ],
)
def test_reset_header_formats(value, expected):
    parsed = parse_reset(value)
    assert (parsed.isoformat() if parsed else None) == expected


def test_read_timeout_on_create_leaves_the_outcome_unknown(mastodon):
    responses.add(responses.POST, STATUSES, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(ProviderError) as caught:
        publish(mastodon)
    assert caught.value.error_class == ErrorClass.TRANSIENT
    assert caught.value.outcome_unknown


@pytest.mark.parametrize(
    ("register", "unknown"),
    [
        ({"body": requests.ConnectTimeout("connect timed out")}, False),  # nothing was sent
        ({"body": "<html>Gateway Timeout</html>", "status": 504}, True),  # the proxy gave up, the app may not have
        ({"body": "<html>oops</html>", "status": 200}, True),  # a 200 we cannot read
        ({"json": {"content": "<p>Hello</p>"}}, True),  # a 200 without an id
    ],
)
def test_which_create_failures_leave_the_outcome_unknown(mastodon, register, unknown):
    responses.add(responses.POST, STATUSES, **register)
    with pytest.raises(ProviderError) as caught:
        publish(mastodon)
    assert caught.value.error_class == ErrorClass.TRANSIENT
    assert caught.value.outcome_unknown is unknown


def test_redirects_are_not_followed(mastodon):
    responses.add(responses.POST, STATUSES, status=307, headers={"Location": "https://elsewhere.example/steal"})
    with pytest.raises(ProviderError) as caught:
        publish(mastodon)
    assert caught.value.error_class == ErrorClass.CONFIG
    assert len(responses.calls) == 1


# After publishing

LAUNCH = "Launch day! We're live & shipping.\n\ncc @bob@other.example"
LAUNCH_LINK = "https://example.com/blog/launch-day-2026"


def test_find_published_matches_the_text_among_recent_top_level_statuses(mastodon):
    responses.add(responses.GET, f"{INSTANCE}/api/v1/accounts/109348123/statuses", json=payload("account_statuses"))
    request = PublishRequest(main=ContentPart(LAUNCH), link=LAUNCH_LINK, idempotency_key="k")
    found = find_main(mastodon, account=alice(), request=request)
    assert (found.platform_post_id, found.url) == ("109876543250", f"{INSTANCE}/@alice/109876543250")
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query == {"limit": ["40"], "exclude_replies": ["true"], "exclude_reblogs": ["true"]}
    assert responses.calls[0].request.method == "GET"  # looking never re-posts


@pytest.mark.parametrize(
    "request_",
    [
        PublishRequest(main=ContentPart("Launch day!"), idempotency_key="k"),  # only a reply says this
        PublishRequest(main=ContentPart(LAUNCH), idempotency_key="k"),  # the link is missing
        PublishRequest(main=ContentPart(LAUNCH, media=(image(),)), link=LAUNCH_LINK, idempotency_key="k"),
    ],
)
def test_find_published_returns_none_without_a_true_match(mastodon, request_):
    responses.add(responses.GET, f"{INSTANCE}/api/v1/accounts/109348123/statuses", json=payload("account_statuses"))
    assert find_main(mastodon, account=alice(), request=request_) is None


@pytest.mark.parametrize(("sent_after", "found"), [
    ("2026-01-01T12:04:00+00:00", True),  # the status is 4 min older than the run: clock skew allows it
    ("2026-01-01T12:06:00+00:00", False),  # 6 min older: an earlier status with the same words
    (None, True),
])  # fmt: skip
def test_find_published_skips_identical_statuses_older_than_the_run(mastodon, sent_after, found):
    responses.add(responses.GET, f"{INSTANCE}/api/v1/accounts/109348123/statuses", json=payload("account_statuses"))
    request = PublishRequest(main=ContentPart(LAUNCH), link=LAUNCH_LINK, idempotency_key="k")
    after = datetime.fromisoformat(sent_after) if sent_after else None
    item = mastodon.find_part(account=alice(), request=request, part=part_request(request, 0, [], sent_after=after))
    assert (item is not None) is found


def test_find_published_without_a_stored_account_id_uses_the_external_id(mastodon):
    responses.add(responses.GET, f"{INSTANCE}/api/v1/accounts/109348123/statuses", json=[])
    account = alice()
    del account.extra["account_id"]
    assert find_main(mastodon, account=account, request=PublishRequest(main=ContentPart("x"))) is None


def test_html_comparison():
    tag = '<a href="https://t.example/tags/tag" class="mention hashtag" rel="tag">#<span>tag</span></a>'
    html = f"<p>Multi<br />line &amp; {tag}</p>"
    assert comparable_html(html) == comparable("Multi\nline & #tag")
    assert with_link("text ", "https://x.example") == "text\n\nhttps://x.example"


def test_delete_removes_the_status_and_tolerates_it_being_gone(mastodon):
    responses.add(responses.DELETE, f"{STATUSES}/109876543210", json={**payload("status"), "text": "Hello"})
    mastodon.delete(account=alice(), platform_post_id="109876543210")
    responses.add(responses.DELETE, f"{STATUSES}/1", json={"error": "Record not found"}, status=404)
    mastodon.delete(account=alice(), platform_post_id="1")
    assert [c.request.method for c in responses.calls] == ["DELETE", "DELETE"]
    responses.add(responses.DELETE, f"{STATUSES}/2", body=HTML_500, status=500)
    with pytest.raises(ProviderError):
        mastodon.delete(account=alice(), platform_post_id="2")


def test_metrics_per_status_without_impressions(mastodon):
    counts = {"favourites_count": 12, "reblogs_count": 3, "replies_count": 2}
    responses.add(responses.GET, f"{STATUSES}/s1", json=status("s1", **counts))
    responses.add(responses.GET, f"{STATUSES}/gone", json={"error": "Record not found"}, status=404)
    metrics = mastodon.fetch_metrics(account=alice(), platform_post_ids=["s1", "gone"])
    assert list(metrics) == ["s1"]
    s1 = metrics["s1"]
    assert (s1.likes, s1.reposts, s1.replies, s1.quotes, s1.impressions) == (12, 3, 2, 0, None)


def test_metrics_refuse_a_malformed_status(mastodon):
    responses.add(responses.GET, f"{STATUSES}/s1", json=status("s1", favourites_count="many"))
    with pytest.raises(ProviderError) as caught:
        mastodon.fetch_metrics(account=alice(), platform_post_ids=["s1"])
    assert (caught.value.error_class, caught.value.code) == (ErrorClass.TRANSIENT, "malformed")


def test_no_secret_in_error_messages(mastodon):
    responses.add(responses.GET, VERIFY, body=requests.ConnectionError(f"failed with Bearer {TOKEN}"))
    with pytest.raises(ProviderError) as caught:
        mastodon.check(app=APP, account=alice())
    assert TOKEN not in str(caught.value)


def _multipart(request) -> dict[str, tuple[str | None, bytes]]:
    """The form fields of a multipart request: name -> (filename, content)."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    return {
        part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
    }


@responses.activate
def test_imported_statuses_keep_text_media_and_threads(mastodon):
    mock_own_statuses()
    page = mastodon.list_posts(account=alice())
    reply, photo = page.items
    assert photo.text == "Coffee first & then the release.\n\nA thread"
    assert photo.url == f"{INSTANCE}/@alice/109876543310"
    assert photo.published_at.isoformat() == "2026-01-03T09:00:00+00:00"
    assert [(m.alt_text, m.kind) for m in photo.media] == [("A latte with a fern drawn in the foam", "image")]
    assert photo.media[0].url.endswith("/original/b3a1c2d4e5f6.jpg")
    assert reply.reply_to == "109876543310"  # part of the author's own thread
    assert reply.text == "Part two of the thread:\nmore to come"


@responses.activate
def test_a_malformed_status_list_is_transient(mastodon):
    responses.add(responses.GET, OWN_STATUSES, json={"error": "nope"} | {"statuses": []})
    with pytest.raises(ProviderError) as caught:
        mastodon.list_posts(account=alice())
    assert caught.value.error_class == ErrorClass.TRANSIENT
