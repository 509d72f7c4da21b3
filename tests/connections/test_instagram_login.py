"""Instagram API with Instagram Login (platforms-meta.md section 4): its own consent and tokens,
and the same content publishing as Instagram through Facebook Login, on graph.instagram.com."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.core.cache import cache

from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountState, ContentPart, PostMetrics, PublishRequest
from connections.providers.meta import login
from connections.registry import get_provider
from tests.connections.contract import APP, ProviderContract, ThreadPlatform
from tests.connections.meta_graph import ThreadGraph, error, form, product_type
from tests.connections.publishing import publish_all
from tests.connections.test_instagram import _WithImage, image, mock_ig_account_metrics, mock_ig_media

IG = "https://graph.instagram.com"
API = f"{IG}/v25.0"
USER = "17841401234567890"
TOKEN = "IGAAlonglived"
MEDIA = f"{API}/{USER}/media"
PUBLISH = f"{API}/{USER}/media_publish"
LIMIT = f"{API}/{USER}/content_publishing_limit"
REDIRECT = "https://postwright.example/connections/callback/instagram_login/"


@pytest.fixture(autouse=True)
def _fresh_usage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


def account() -> AccountState:
    return AccountState(external_id=USER, username="@kitten", secrets={"access_token": TOKEN})


def quota(used: int, total: int = 100) -> None:
    responses.add(
        responses.GET,
        LIMIT,
        json={"data": [{"quota_usage": used, "config": {"quota_total": total, "quota_duration": 86400}}]},
    )


def me() -> None:
    responses.add(
        responses.GET,
        f"{API}/me",
        json={"user_id": USER, "id": "2700000000000001", "username": "kitten", "name": "Kitten"},
        match=[
            responses.matchers.query_param_matcher(
                {"fields": "user_id,username,name,profile_picture_url"}, strict_match=False
            )
        ],
    )


def code_exchange(body: dict) -> None:
    responses.add(responses.POST, "https://api.instagram.com/oauth/access_token", json=body)
    responses.add(
        responses.GET,
        f"{IG}/access_token",
        json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944},
        match=[responses.matchers.query_param_matcher({"grant_type": "ig_exchange_token"}, strict_match=False)],
    )


class TestInstagramLoginProvider(ProviderContract):
    provider_id = "instagram_login"

    @pytest.fixture
    def thread(self, provider, team, django_capture_on_commit_callbacks, monkeypatch):
        platform = ThreadPlatform()
        self.install_thread_platform(platform, monkeypatch)
        return _WithImage(self, team, platform, django_capture_on_commit_callbacks)

    def connect(self):
        # The docs' wrapped shape; test_the_flat_code_exchange_answer_is_read_too covers the other.
        code_exchange(
            {
                "data": [
                    {
                        "access_token": "IGAAshort",
                        "user_id": USER,
                        "permissions": "instagram_business_basic,instagram_business_content_publish",
                    }
                ]
            }
        )
        me()
        provider = get_provider("instagram_login")
        tokens = provider.exchange_code(app=APP, code="c0de#_", redirect_uri=REDIRECT, code_verifier=None)
        return provider.connections_from_tokens(tokens=tokens)

    def account(self):
        return account()

    def mock_check(self):
        me()

    def mock_account_metrics(self):
        return mock_ig_account_metrics(API, USER)  # the same insights, on graph.instagram.com

    def mock_list_posts(self):
        return mock_ig_media(MEDIA)  # the same media edge, on graph.instagram.com

    def mock_refresh(self):
        responses.add(
            responses.GET,
            f"{IG}/refresh_access_token",
            json={"access_token": "IGAArenewed", "token_type": "bearer", "expires_in": 5183944},
            match=[responses.matchers.query_param_matcher({"grant_type": "ig_refresh_token", "access_token": TOKEN})],
        )

    def error_cases(self):
        def fails(body):
            return lambda: responses.add(responses.GET, f"{API}/me", json=body, status=400)

        return [
            ("token expired", fails(error(190, 463, "Error validating access token")), ErrorClass.AUTH),
            ("BUC", fails(error(80002, message="Too many calls to this Instagram account")), ErrorClass.RATE),
            ("server", fails(error(-1, 2207001, "Server error", is_transient=True)), ErrorClass.TRANSIENT),
            ("ratio", fails(error(36003, 2207009, "Bad ratio", user_msg="Use 4:5 to 1.91:1")), ErrorClass.CONTENT),
        ]

    def mock_publish_text(self):
        quota(2)
        responses.add(responses.POST, MEDIA, json={"id": "c-1"})
        responses.add(responses.GET, f"{API}/c-1", json={"id": "c-1", "status_code": "FINISHED", "status": "Finished"})
        responses.add(responses.POST, PUBLISH, json={"id": "17920000000000009"})
        responses.add(
            responses.GET,
            f"{API}/17920000000000009",
            json={"id": "17920000000000009", "permalink": "https://www.instagram.com/p/Cxyz/"},
        )
        return "17920000000000009"

    def test_publish_text(self, provider):
        """The contract's publish, with the photo every Instagram post needs, on graph.instagram.com."""
        expected_id = self.mock_publish_text()
        request = PublishRequest(main=ContentPart(text="Hello", media=(image(alt="An orange square"),)))
        result = publish_all(provider, account=self.account(), request=request)
        assert (result.main.platform_post_id, result.main.url) == (expected_id, "https://www.instagram.com/p/Cxyz/")
        created = form(next(c for c in responses.calls if c.request.url == MEDIA))
        assert (created["caption"], created["alt_text"], created["access_token"]) == (
            "Hello",
            "An orange square",
            TOKEN,
        )
        assert all(urlsplit(c.request.url).hostname == "graph.instagram.com" for c in responses.calls)

    def mock_metrics(self):
        product_type(API, "1792")
        names = {"views": 90, "reach": 64, "likes": 5, "comments": 1, "saved": 2, "shares": 1, "total_interactions": 9}
        responses.add(
            responses.GET,
            f"{API}/1792/insights",
            json={
                "data": [
                    {
                        "name": n,
                        "period": "lifetime",
                        "values": [{"value": v}],
                        "title": n,
                        "description": "...",
                        "id": f"1792/insights/{n}/lifetime",
                    }
                    for n, v in names.items()
                ]
            },
        )
        extra = {"reach": 64, "saved": 2, "shares": 1, "total_interactions": 9}
        return "1792", PostMetrics(likes=5, replies=1, reposts=1, impressions=90, extra=extra)

    def test_connect_uses_the_professional_account_id_and_keeps_the_callback_ids(self, provider):
        (connection,) = self.connect()
        assert (connection.profile.external_id, connection.profile.username) == (USER, "@kitten")
        assert connection.extra == {login.USER_ID: USER, login.APP_ID: "client-123"}
        assert connection.scope == "instagram_business_basic instagram_business_content_publish"
        exchange = form(responses.calls[0])
        assert (exchange["code"], exchange["grant_type"]) == ("c0de", "authorization_code")

    def install_thread_platform(self, platform: ThreadPlatform, monkeypatch) -> None:
        graph = ThreadGraph(platform, owner=USER, author_name="kitten", base=API)
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
        responses.add_callback(responses.GET, re.compile(rf"{re.escape(API)}/c-\d+(\?|$)"), callback=status)
        responses.add_callback(responses.GET, MEDIA, callback=lambda r: graph.listed(None, ig=True))
        graph.install_comments(ig=True)
        responses.add_callback(responses.GET, re.compile(rf"{re.escape(API)}/\d+(\?|$)"), callback=permalink)


def test_the_consent_page_is_instagrams_own(settings, monkeypatch):
    settings.SITE_URL = "https://postwright.example"
    monkeypatch.setattr(login, "_resolve", lambda host: ["93.184.216.34"])
    url = get_provider("instagram_login").authorization_url(
        app=APP, redirect_uri=REDIRECT, state="s", code_verifier=None
    )
    assert url.startswith("https://www.instagram.com/oauth/authorize?client_id=client-123&")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == [",".join(get_provider("instagram_login").default_scopes)]
    assert query["enable_fb_login"] == ["0"]


def test_the_flat_code_exchange_answer_is_read_too(db):
    code_exchange({"access_token": "IGAAshort", "user_id": USER, "permissions": ["instagram_business_basic"]})
    tokens = get_provider("instagram_login").exchange_code(app=APP, code="c", redirect_uri=REDIRECT, code_verifier=None)
    assert (tokens.access_token, tokens.scope) == (TOKEN, "instagram_business_basic")
    assert tokens.expires_at is not None


def test_a_used_code_is_refused_in_instagrams_words(db):
    responses.add(
        responses.POST,
        "https://api.instagram.com/oauth/access_token",
        json={
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "Matching code was not found or was already used",
        },
        status=400,
    )
    with pytest.raises(ProviderError) as caught:
        get_provider("instagram_login").exchange_code(app=APP, code="c", redirect_uri=REDIRECT, code_verifier=None)
    assert caught.value.error_class == ErrorClass.AUTH
    assert "Matching code was not found" in caught.value.message


def test_it_has_a_consent_of_its_own_and_meta_signs_its_callbacks():
    provider = get_provider("instagram_login")
    assert (provider.connected_through, provider.signed_callbacks, provider.supports_refresh) == ("", True, True)
    assert provider.refresh_margin_s >= 7 * 24 * 3600, "refreshed well before the 60 days lapse"
